"""Failed sign-ins per client address: a sliding window, pure (the clock is passed in).

Kept in the process: with several API processes each counts its own, so the limit a client meets
is at most the processes times the limit: still far too slow to guess a 256-bit key, which is not
guessable anyway. What the limit stops is a client hammering the sign-in form.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

# Addresses remembered at most: a flood from many addresses cannot grow the memory without bound.
MAX_TRACKED = 10_000


@dataclass
class FailureLimiter:
    limit: int
    window_seconds: float = 60.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, client: str, now: float) -> int | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        if client not in self._failures:
            return None
        failures = self._recent(client, now)
        if len(failures) < self.limit:
            return None
        return max(1, math.ceil(failures[0] + self.window_seconds - now))

    def fail(self, client: str, now: float) -> None:
        if client not in self._failures and len(self._failures) >= MAX_TRACKED:
            self._forget_quiet(now)
        self._recent(client, now).append(now)

    def succeed(self, client: str) -> None:
        self._failures.pop(client, None)

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= now - self.window_seconds:
            failures.popleft()
        return failures

    def _forget_quiet(self, now: float) -> None:
        for client in [
            c for c, f in self._failures.items() if not f or f[-1] <= now - self.window_seconds
        ]:
            del self._failures[client]
        if len(self._failures) >= MAX_TRACKED:
            self._failures.pop(next(iter(self._failures)))
