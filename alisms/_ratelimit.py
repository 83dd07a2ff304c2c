"""Client-side rate limits per API action, shared by every call on a client. No I/O.

Each action has a :class:`RateLimiter`: a schedule of evenly spaced slots at
the configured rate, with a little slack so a burst after a pause is not
needlessly delayed. A throttling answer halves the current rate; each success
wins a little of it back, up to the configured rate. The limiter only says
how long to wait; the clients do the waiting (``time.sleep`` or
``anyio.sleep``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Final

from alisms._errors import ConfigurationError

__all__ = ["DEFAULT_RATE_LIMITS", "RateLimiter", "limiters"]

DEFAULT_RATE_LIMITS: Final[Mapping[str, float]] = {
    "SendMessageToGlobe": 2000.0,
    "BatchSendMessageToGlobe": 1.0,
    "QueryMessage": 300.0,
}
"""The documented per-account limits, in calls per second."""

_SLACK: Final = 0.01
"""Seconds of unused schedule a burst may use up (20 calls at 2,000/s), at rates of 100/s up."""
_SLACK_FROM: Final = 100.0
_FLOOR: Final = 1 / 64
"""Throttling never lowers the rate below this fraction of the configured one."""


class RateLimiter:
    """Evenly spaced slots at ``rate`` calls per second. Thread-safe; no clock of its own."""

    def __init__(self, rate: float) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ConfigurationError(f"a rate limit must be calls per second > 0, not {rate!r}")
        self.rate = float(rate)
        self.current = float(rate)
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self, now: float, *, within: float | None = None) -> float | None:
        """Book the next slot and return how many seconds to wait for it (0 when free).

        ``now`` is a monotonic time in seconds. With ``within``, a slot
        further away than that is not booked and ``None`` is returned.
        """
        with self._lock:
            # Slow limits (one batch a second) are kept exactly; fast ones may burst a little.
            slack = _SLACK if self.current >= _SLACK_FROM else 0.0
            start = max(self._next, now - slack)
            wait = max(0.0, start - now)
            if within is not None and wait >= within:
                return None
            self._next = start + 1.0 / self.current
            return wait

    def throttled(self) -> None:
        """The service said slow down: halve the current rate."""
        with self._lock:
            self.current = max(self.current / 2, self.rate * _FLOOR)

    def succeeded(self) -> None:
        """A call went through: win back 1% of the configured rate."""
        if self.current < self.rate:
            with self._lock:
                self.current = min(self.rate, self.current + self.rate / 100)


def limiters(rate_limits: Mapping[str, float | None] | None) -> dict[str, RateLimiter]:
    """Build one limiter per limited action: the defaults, overridden by ``rate_limits``.

    ``None`` turns every limit off; a value of ``None`` turns off one action's.
    """
    if rate_limits is None:
        return {}
    if not isinstance(rate_limits, Mapping):
        raise ConfigurationError(
            f"rate_limits= takes a mapping of action to calls per second, not {rate_limits!r}"
        )
    merged: dict[str, float | None] = {**DEFAULT_RATE_LIMITS, **rate_limits}
    return {action: RateLimiter(rate) for action, rate in merged.items() if rate is not None}
