"""Check digits of the two identifiers officers type most: 统一社会信用代码 and 居民身份证号码.

Both functions normalise first (full-width characters, lower-case letters, spaces an officer typed) and
then validate. They return the normalised text together with a Chinese problem description (or None);
the caller puts the field's label in front, e.g. 「当事人的统一社会信用代码」 + 「校验位不正确」.

Deliberately NOT checked: the administrative-division code (positions 1–6 of an ID number, 3–8 of a
credit code) against a table. Such tables go out of date and reject real people (130102, 长安区, is a
valid district that some libraries reject). Nor is the embedded GB 11714 organisation-code check digit
of a credit code verified: codes issued during the 2015–2017 transition do not all satisfy it, while the
GB 32100 check character (position 18) is authoritative.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# GB 32100-2015: the 31 characters of the code, in value order (no I, O, Z, S, V).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11643-1999: ISO 7064 MOD 11-2 weights 2^(17-i) mod 11, and the check character per remainder.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

_SPACES = re.compile(r"[\s\-‐‑–—]+")


def normalize_code(text: str) -> str:
    """NFKC (full-width → half-width), drop spaces and dashes, upper-case.

    Guarantees: idempotent; never changes which characters are letters or digits, so it cannot turn
    an invalid code into a valid one by guessing (O is not read as 0, I not as 1).
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).upper()


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters (all must be in the charset)."""
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def check_uscc(text: str) -> tuple[str, str | None]:
    """Validate a 统一社会信用代码. Returns (normalised code, problem or None).

    The problem is a Chinese predicate without a subject, e.g. 「校验位不正确」.
    """
    code = normalize_code(text)
    if len(code) != 18:
        return code, f"应为18位，当前为{len(code)}位"
    bad = [ch for ch in code if ch not in USCC_CHARSET]
    if bad:
        return code, f"含有不允许的字符“{bad[0]}”（代码中不使用字母I、O、Z、S、V）"
    if not code[2:8].isdigit():
        return code, "第3至8位（行政区划码）应为数字"
    if uscc_check_char(code[:17]) != code[17]:
        return code, "校验位不正确"
    return code, None


def id_check_char(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character for 17 digits."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


def check_resident_id(text: str, *, today: date | None = None) -> tuple[str, str | None]:
    """Validate an 18-character 居民身份证号码. Returns (normalised number, problem or None).

    Checks length, digits, the birth date (a real date, not before 1900, not after ``today``) and the
    check character. The area code is not checked against any table (see the module docstring).
    """
    number = normalize_code(text)
    if len(number) != 18:
        return number, f"应为18位，当前为{len(number)}位"
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return number, "只能由数字组成，最后一位可以是X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return number, "中的出生日期无效"
    if born.year < 1900 or born > (today or date.today()):
        return number, "中的出生日期无效"
    if id_check_char(number[:17]) != number[17]:
        return number, "校验位不正确"
    return number, None
