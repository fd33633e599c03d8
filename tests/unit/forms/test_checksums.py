"""Check digits of 统一社会信用代码 (GB 32100-2015) and 居民身份证号码 (GB 11643-1999).

The valid numbers are the invented people and companies of ../shared/SCENARIOS.md, whose check digits
were computed independently; the invalid ones differ from a valid one in exactly one character.
"""

from datetime import date

import pytest

from forms.checksums import check_resident_id, check_uscc, id_check_char, uscc_check_char

VALID_USCC = ["911301025260181593",   # 石家庄恒泰建筑劳务有限公司
              "521301021860913902"]   # 石家庄康宁民营医院 (民办非企业单位)
VALID_IDS = ["130102197803127873",    # 陈卫东, area 130102 = 长安区
             "130104198511207895",    # 马红军
             "13010519920705328X",    # 周桂兰, check character X
             "130102196602017921",    # 吴海峰
             "130108198809301740"]    # 张立新


@pytest.mark.parametrize("code", VALID_USCC)
def test_valid_credit_codes_pass(code):
    assert check_uscc(code) == (code, None)


def test_the_check_character_is_computed_not_looked_up():
    # Worked example of GB 32100: weights 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28 mod 31.
    first17 = "91130102526018159"
    total = sum("0123456789ABCDEFGHJKLMNPQRTUWXY".index(c) * w for c, w in
                zip(first17, (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)))
    assert total % 31 == 28 and uscc_check_char(first17) == "3"


@pytest.mark.parametrize("typed", [
    "９１１３０１０２５２６０１８１５９３",      # full-width digits from a Chinese IME
    " 9113 0102 5260 1815 93 ",              # spaces as printed on a licence
    "521301021860913902".lower(),            # no letters here, but lower() must not hurt
])
def test_typed_variants_are_normalised_then_accepted(typed):
    code, problem = check_uscc(typed)
    assert problem is None
    assert code in VALID_USCC


def test_lower_case_letter_is_accepted_after_normalisation():
    first17 = "91130102MA0CXXXX1".replace("X", "0")
    code = first17 + uscc_check_char(first17)
    assert check_uscc(code.lower()) == (code, None)
    assert check_uscc(code.lower().replace("ma", "ＭＡ")) == (code, None)


def test_wrong_check_character_is_rejected():
    assert check_uscc("911301025260181594") == ("911301025260181594", "校验位不正确")


def test_forbidden_letters_and_length_are_named():
    assert check_uscc("91130102526018I593")[1].startswith("含有不允许的字符“I”")
    assert check_uscc("91130102526018159")[1] == "应为18位，当前为17位"


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_resident_ids_pass_including_area_130102(number):
    assert check_resident_id(number) == (number, None)


def test_lower_case_x_is_normalised():
    assert check_resident_id("13010519920705328x") == ("13010519920705328X", None)


def test_wrong_id_check_digit_is_rejected():
    assert check_resident_id("130102197803127874")[1] == "校验位不正确"


def test_impossible_birth_date_is_rejected_even_with_a_matching_check_digit():
    first17 = "13010219780230787"  # 30 February
    number = first17 + id_check_char(first17)
    assert check_resident_id(number)[1] == "中的出生日期无效"


def test_birth_date_after_today_is_rejected():
    first17 = "13010220300101123"
    number = first17 + id_check_char(first17)
    assert check_resident_id(number, today=date(2026, 11, 20))[1] == "中的出生日期无效"


def test_unknown_area_codes_are_not_rejected():
    # No area table: a code that no table lists still passes when date and check digit are right.
    first17 = "99990019900101123"
    assert check_resident_id(first17 + id_check_char(first17))[1] is None


def test_first_generation_15_digit_numbers_are_refused():
    assert check_resident_id("130102780312787")[1] == "应为18位，当前为15位"
