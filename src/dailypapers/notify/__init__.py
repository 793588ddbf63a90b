"""Notifications: which new papers each channel still owes its readers, and sending them.

The outbox (:mod:`dailypapers.notify.outbox`) queues every paper version new
to a topic in the run's store transaction; :func:`deliver` sends each channel
(``github``, ``email``, ``webhook``: :mod:`dailypapers.notify.channel`) what
it owes and records deliveries only after the channel confirmed. Secrets are
masked everywhere (:mod:`dailypapers.masking`).

Deliveries are keyed by destination (recipients, repository, URL: hashed),
not by channel kind. Never a flood: a destination only owes a topic's items
queued from the run in which the project first listed both on (a topic or
destination re-added starts again: :mod:`dailypapers.notify.listing`); a
paper version the README already listed before the run (a lost store cache,
a switch from the reference tool) is never queued; and each digest lists
at most ``[notify] max_per_topic`` papers per topic, pointing to the README
for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from dailypapers.config import Config
from dailypapers.deadline import RunDeadlineExceeded, held
from dailypapers.masking import SECRET_ENV, install_log_filter, mask, short
from dailypapers.notify.channel import Channel, NotifyError, Outcome, PartlySent
from dailypapers.notify.listing import Listing, listed_before, take_listing
from dailypapers.notify.outbox import (
    Batch,
    Snapshot,
    mark_delivered,
    pending_batch,
    readme_link,
    topic_names,
)
from dailypapers.render.markdown import readme_listing
from dailypapers.store import Store

if TYPE_CHECKING:
    from dailypapers.rank.foryou import Ranking

__all__ = [
    "SECRET_ENV",
    "Batch",
    "Channel",
    "NotifyError",
    "Outcome",
    "Snapshot",
    "deliver",
    "failure_line",
    "install_log_filter",
    "mask",
    "open_channels",
    "readme_link",
    "readme_listing",
]


def open_channels(config: Config) -> list[Channel]:
    """The channels ``[notify.*]`` configures, in sending order (github, email, chats)."""
    from dailypapers.notify.email import EmailChannel
    from dailypapers.notify.github import GitHubChannel
    from dailypapers.notify.webhook import WebhookChannel

    install_log_filter()
    notify = config.settings.notify
    channels: list[Channel] = []
    if notify.github is not None:
        channels.append(GitHubChannel(notify.github))
    if notify.email is not None:
        channels.append(EmailChannel(notify.email, config.settings.title))
    if notify.webhook is not None:
        channels.append(WebhookChannel(notify.webhook))
    channels += open_chat_channels(config)
    return channels


def open_chat_channels(config: Config) -> list[Channel]:
    """The native chat channels: Feishu/Lark and Telegram."""
    from dailypapers.notify.feishu import FeishuChannel
    from dailypapers.notify.telegram import TelegramChannel

    notify = config.settings.notify
    channels: list[Channel] = []
    if notify.feishu is not None:
        channels.append(FeishuChannel(notify.feishu))
    if notify.telegram is not None:
        channels.append(TelegramChannel(notify.telegram))
    return channels


def deliver(
    config: Config,
    store: Store,
    run_id: int,
    *,
    day: date,
    registering_run: int | None,
    dry_run: bool = False,
    channels: Sequence[Channel] | None = None,
    ranking: Ranking | None = None,
) -> list[Outcome]:
    """Send every channel what it owes; record deliveries only after a channel confirms.

    A failing channel does not stop the others; its outcome carries the
    one-line, secret-free error and its papers stay pending. Without channels it
    only records the listed topics (:mod:`dailypapers.notify.listing`). With
    ``ranking`` (a library), digests put "For you" first and apply ``[notify] min_score``.
    """
    chosen = list(channels) if channels is not None else open_channels(config)
    if not chosen and (dry_run or not listed_before(config, store)):
        return []
    listing = take_listing(
        config,
        store,
        list(topic_names(config, store)),
        {channel.destination(): channel.name for channel in chosen},
        run_id=run_id,
        registering_run=registering_run,
        record=not dry_run,
    )
    return [
        _deliver_one(config, store, channel, listing, run_id, day, dry_run, ranking=ranking)
        for channel in chosen
    ]


# A channel's error or receipt quotes its server (GitHub's message, an SMTP reply):
# one line, this long at most, secrets masked.
LINE_LIMIT = 300


def _deliver_one(
    config: Config,
    store: Store,
    channel: Channel,
    listing: Listing,
    run_id: int,
    day: date,
    dry_run: bool,
    *,
    ranking: Ranking | None = None,
) -> Outcome:
    limit = channel.max_per_topic or config.settings.notify.max_per_topic
    batch = pending_batch(
        config, store, channel.destination(), listing, day=day, limit=limit, ranking=ranking
    )
    outcome = Outcome(channel.name, papers=batch.digest.shown, target=mask(channel.describe()))
    if dry_run:
        outcome.preview = channel.preview(batch.digest) if not batch.empty else ""
        outcome.error = channel.problem()
        return outcome
    if batch.empty:
        mark_delivered(store, batch, run_id)  # items covered elsewhere (already sent)
        return outcome
    # The run's deadline waits for the delivery (bounded by the channel's timeout) and
    # its record: stopped in between, an accepted digest was sent again the next run.
    with held():
        return _send(store, channel, batch, run_id, outcome)


def _send(store: Store, channel: Channel, batch: Batch, run_id: int, outcome: Outcome) -> Outcome:
    """Send ``batch`` on ``channel``; record it delivered once the channel confirmed."""
    try:
        problem = channel.problem()
        if problem:
            raise NotifyError(problem)
        outcome.receipt = short(channel.send(batch.digest), LINE_LIMIT)
    except PartlySent as exc:  # sent to some: never again to them; the run still fails
        outcome.receipt = short(exc.receipt, LINE_LIMIT)
        outcome.error = short(exc, LINE_LIMIT)
        mark_delivered(store, batch, run_id)
        return outcome
    except NotifyError as exc:
        outcome.error = short(exc, LINE_LIMIT) or "failed"
        return outcome
    except RunDeadlineExceeded:  # the run's own deadline: the run stops
        raise
    except Exception as exc:  # a library's own error (a bad secret's encoding...): one line
        outcome.error = short(f"{type(exc).__name__}: {exc}", LINE_LIMIT)
        return outcome
    mark_delivered(store, batch, run_id)
    return outcome


def failure_line(outcomes: Iterable[Outcome]) -> str | None:
    """``notify email: connection refused; notify github: HTTP 500``, or None when all sent."""
    failed = [f"notify {o.channel}: {o.error}" for o in outcomes if o.error]
    return "; ".join(failed) or None
