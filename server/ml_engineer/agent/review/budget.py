"""At most N automatic reviews per rolling hour (the ``mlEngineer.review.maxPerHour`` setting)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

_HOUR_S = 3600.0


class HourlyBudget:
    def __init__(self, max_per_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_per_hour = max_per_hour
        self._clock = clock
        self._spent: deque[float] = deque()

    def _forget_old(self) -> None:
        now = self._clock()
        while self._spent and now - self._spent[0] >= _HOUR_S:
            self._spent.popleft()

    def remaining(self) -> int:
        self._forget_old()
        return max(0, self.max_per_hour - len(self._spent))

    def try_spend(self) -> bool:
        """Take one review from the budget; False (and nothing taken) when the hour's budget is used up."""
        if self.remaining() <= 0:
            return False
        self._spent.append(self._clock())
        return True

    def seconds_until_next(self) -> float:
        self._forget_old()
        if len(self._spent) < self.max_per_hour or not self._spent:
            return 0.0
        return max(0.0, _HOUR_S - (self._clock() - self._spent[0]))
