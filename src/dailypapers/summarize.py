"""``dailypapers summarize``: TL;DRs for the pending papers now, then the outputs again.

A recorded run (:func:`dailypapers.run.recorded_run`): the project's lock,
a ``runs`` row with the requests sent, ``failed`` with the reason when the
endpoint answered nothing usable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dailypapers.config import Config
from dailypapers.pipeline import refuse_foreign_outputs, render_outputs
from dailypapers.run import RunResult, RunStatus, recorded_run
from dailypapers.summaries import Sleep, SummaryReport, api_key, summarise
from dailypapers.tldr import load_prompt


@dataclass
class SummarizeResult(RunResult):
    """The run's cost and status, what summarising did, and the files rewritten."""

    summary: SummaryReport = field(default_factory=SummaryReport)
    written: list[Path] = field(default_factory=list)


def run_summarize(
    config: Config,
    *,
    limit: int | None = None,
    lock_timeout: float = 60.0,
    sleep: Sleep | None = None,
    raise_errors: bool = False,
) -> SummarizeResult:
    """Summarise under the run lock, then re-render the outputs when a TL;DR was written.

    Raises :class:`dailypapers.tldr.SummaryError` before any run starts when
    the prompt file cannot be read or the key cannot be sent.
    """
    settings = config.settings.summaries
    if settings is not None:
        load_prompt(config, settings)
        api_key()
    result = SummarizeResult()
    with recorded_run(
        config, "summarize", result, lock_timeout=lock_timeout, raise_errors=raise_errors
    ) as run:
        refuse_foreign_outputs(config)  # before the model is asked, not when rendering after
        result.summary = summarise(config, run.store, limit=limit, sleep=sleep)
        result.requests = result.summary.requests
        if result.summary.written:
            result.written = render_outputs(config, run.store)
        if result.summary.written == 0 and result.summary.requests > 0:
            reasons = [result.summary.stopped, *result.summary.errors]
            result.status = RunStatus.FAILED
            result.error = next((r for r in reasons if r), "no usable answer")
        else:
            result.status = RunStatus.COMPLETE
    return result
