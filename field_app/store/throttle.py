"""Counting wrong passwords and slowing down guessing at the keyboard.

The count lives in the OS keyring (not in the data directory), so a wrong password changes nothing in
the store's files and restarting the program does not reset it. Offline guessing against a copied
disk is prevented by the device secret and Argon2id, not by this counter.

Policy: the first ``FREE_ATTEMPTS`` wrong passwords cost nothing; after that each further try must
wait 15 s, 30 s, 60 s … (at most 15 minutes) after the last wrong one. A right password resets it.
"""

from __future__ import annotations

import json
import time
from typing import Callable

from field_app.store.errors import TooManyAttempts
from field_app.store.keys import KEYRING_SERVICE, _keyring_call

FREE_ATTEMPTS = 3
FIRST_WAIT = 15.0
MAX_WAIT = 900.0


def wait_after(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive wrong passwords."""
    if failures <= FREE_ATTEMPTS:
        return 0.0
    return min(FIRST_WAIT * 2 ** (failures - FREE_ATTEMPTS - 1), MAX_WAIT)


class UnlockThrottle:
    def __init__(self, store_id: str, clock: Callable[[], float] = time.time) -> None:
        self._username = f"unlock-failures:{store_id}"
        self._clock = clock

    def _state(self) -> tuple[int, float]:
        raw = _keyring_call("get_password", KEYRING_SERVICE, self._username)
        if not raw:
            return 0, 0.0
        try:
            data = json.loads(raw)
            return int(data["count"]), float(data["last"])
        except (ValueError, KeyError, TypeError):
            return FREE_ATTEMPTS + 1, self._clock()  # damaged counter: assume the worst, not zero

    def check(self) -> None:
        """Raise TooManyAttempts (Chinese, with ``retry_after``) if an attempt must wait now."""
        count, last = self._state()
        wait = wait_after(count)
        remaining = min(wait, wait - (self._clock() - last))  # a clock set back cannot extend the wait
        if wait and remaining > 0:
            seconds = int(remaining + 0.999)
            raise TooManyAttempts(f"密码已连续输错 {count} 次。为防止猜测，请在 {seconds} 秒后再试。",
                                  retry_after=remaining)

    def failed(self) -> int:
        count, _ = self._state()
        count += 1
        _keyring_call("set_password", KEYRING_SERVICE, self._username,
                      json.dumps({"count": count, "last": self._clock()}))
        return count

    def succeeded(self) -> None:
        count, _ = self._state()
        if count:
            _keyring_call("set_password", KEYRING_SERVICE, self._username,
                          json.dumps({"count": 0, "last": self._clock()}))
