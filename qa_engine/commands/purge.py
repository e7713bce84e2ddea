"""``qa-engine purge [--older-than DAYS] [--audio-only] [--dry-run]``: apply the retention policy now."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from qa_engine.errors import QaEngineError

from .users import add_database_args, database_session

if TYPE_CHECKING:
    from qa_engine.app.retention import RetentionPolicy
    from qa_engine.app.settings import Settings

DEFAULT_BATCH = 200  # qa_engine.app.retention.DEFAULT_BATCH (not imported here: the CLI loads no database code early)
MAX_DAYS = 36500  # qa_engine.app.settings.MAX_RETENTION_DAYS


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "purge", help="delete calls (or only their recordings) older than the retention period",
        description="Delete the calls stored more than QA_ENGINE_RETENTION_DAYS days ago (everything DELETE "
                    "/calls/{id} removes) and the recordings of those stored more than "
                    "QA_ENGINE_AUDIO_RETENTION_DAYS days ago (the calls and reports stay). Queued and processing "
                    "calls are never purged. Each call is audited; the run is one audit entry (actor 'retention'). "
                    "The workers of 'serve' and 'worker' do the same once an hour when a setting is on.")
    p.add_argument("--older-than", type=_days, default=None, metavar="DAYS",
                   help="age in days (default: QA_ENGINE_RETENTION_DAYS, or QA_ENGINE_AUDIO_RETENTION_DAYS with "
                        "--audio-only)")
    p.add_argument("--audio-only", action="store_true",
                   help="delete only the recordings; the calls, reports and scores stay")
    p.add_argument("--dry-run", action="store_true", help="change nothing; count what would be deleted")
    p.add_argument("--batch", type=_batch, default=DEFAULT_BATCH, metavar="N",
                   help=f"calls read and committed at a time (default {DEFAULT_BATCH})")
    add_database_args(p)
    p.set_defaults(func=run_purge)


def _whole_number(value: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        n = low - 1
    if not low <= n <= high:
        raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {value!r}")
    return n


def _days(value: str) -> int:
    return _whole_number(value, 1, MAX_DAYS)


def _batch(value: str) -> int:
    return _whole_number(value, 1, 100_000)


def policy_from(args: argparse.Namespace, settings: Settings) -> RetentionPolicy:
    """What to purge: ``--older-than`` for whole calls (or recordings, ``--audio-only``), else the settings."""
    from qa_engine.app.retention import RetentionPolicy

    if args.audio_only:
        days = args.older_than or settings.audio_retention_days
        if not days:
            raise QaEngineError("purge --audio-only: no age given: pass --older-than DAYS or set "
                                "QA_ENGINE_AUDIO_RETENTION_DAYS")
        return RetentionPolicy(audio_days=days)
    if args.older_than:
        return RetentionPolicy(call_days=args.older_than)
    policy = RetentionPolicy.from_settings(settings)
    if not policy.enabled:
        raise QaEngineError("purge: no age given: pass --older-than DAYS or set QA_ENGINE_RETENTION_DAYS "
                            "(whole calls) or QA_ENGINE_AUDIO_RETENTION_DAYS (recordings)")
    return policy


def run_purge(args: argparse.Namespace) -> int:
    from qa_engine.app.retention import purge
    from qa_engine.app.settings import load_settings

    policy = policy_from(args, load_settings(args.data_dir, args.db))
    # a dry run changes nothing, the schema included (as remask): refused on a database not at this version
    with database_session(args, migrate=not args.dry_run, require_current=args.dry_run) as session:
        summary = purge(session, policy, dry_run=args.dry_run, batch=args.batch)
    verb = "would be deleted" if args.dry_run else "deleted"
    for what, count, before in (("calls", summary.calls, summary.calls_before),
                                ("recordings", summary.recordings, summary.audio_before)):
        cut_off = f" (stored before {before:%Y-%m-%d %H:%M} UTC)" if before else " (no age set)"
        sys.stdout.write(f"{what}: {count} {verb}{cut_off}\n")
    return 0


__all__ = ["policy_from", "register", "run_purge"]
