"""A fake clock for tests: sleeping advances time instantly."""

from __future__ import annotations


class FakeClock:
    """Satisfies :class:`dailypapers.arxiv.client.Clock` without ever really sleeping.

    ``sleeps`` records every requested sleep, in order.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The current fake time in seconds."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` and record the sleep."""
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep (work done between requests)."""
        self.now += seconds

    @property
    def slept(self) -> float:
        """Total seconds slept so far."""
        return sum(self.sleeps)
