"""The run's deadline stops the run wherever it passes, also in the steps that never fail it.

Ranking, summaries and each notification channel turn their own errors into
one line and let the run go on; the deadline (``update --deadline``) is not
theirs: before, it was swallowed there, and the run went on without one.
"""

from __future__ import annotations

import pytest

from dailypapers.deadline import RunDeadlineExceeded, run_deadline
from dailypapers.rank import foryou

PASSED = RunDeadlineExceeded("run deadline of 1 s passed; stopped")


def passed() -> None:
    raise PASSED


def test_the_ranking_lets_the_deadline_through(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RunDeadlineExceeded):
        foryou._guarded(passed)
    assert "for you: skipped" not in capsys.readouterr().err
    assert foryou._guarded(lambda: 1 / 0) is None  # its own errors: one line, the run goes on
    assert "for you: skipped (division by zero)" in capsys.readouterr().err


def test_the_summaries_let_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from dailypapers import summaries

    monkeypatch.setattr(summaries, "summarise", lambda *args, **kwargs: passed())

    class Configured:
        class settings:
            summaries = object()

    with pytest.raises(RunDeadlineExceeded):
        summaries.summarise_for_update(Configured(), store=None)  # type: ignore[arg-type]


def test_a_channel_lets_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from dailypapers import notify

    class Stuck:
        name = "webhook"
        max_per_topic = 0

        def destination(self) -> str:
            return "webhook:x"

        def describe(self) -> str:
            return "a webhook"

        def problem(self) -> None:
            return None

        def send(self, digest: object) -> str:
            raise PASSED

    class Batch:
        empty = False

        class digest:
            shown = 1

    monkeypatch.setattr(notify, "pending_batch", lambda *args, **kwargs: Batch())

    class Settings:
        class settings:
            class notify:
                max_per_topic = 5

    with pytest.raises(RunDeadlineExceeded):
        notify._deliver_one(Settings(), None, Stuck(), None, 1, None, False)  # type: ignore[arg-type]


def test_the_deadline_is_the_timer_s_error() -> None:
    """What the tests above raise is what the timer raises."""
    import signal

    with pytest.raises(RunDeadlineExceeded), run_deadline(0.01):
        signal.pause()


def test_reading_a_ris_library_lets_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import rispy

    from dailypapers.rank.library import read_ris

    monkeypatch.setattr(rispy, "loads", lambda text: passed())
    with pytest.raises(RunDeadlineExceeded):
        read_ris("TY  - JOUR\nER  - \n")
