"""``qa-engine remask [--dry-run] [--batch N]``: bring stored data up to the current PII masker (after upgrading)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from .users import add_database_args, database_session

if TYPE_CHECKING:
    from qa_engine.app.remask import RemaskSummary, TableCount

DEFAULT_BATCH = 200  # qa_engine.app.remask.DEFAULT_BATCH (not imported here: the CLI loads no database code early)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "remask", help="mask stored texts and recordings again with the current PII masker (after upgrading)",
        description="Mask every stored text (reports, search index, comments, review reasons, audit entries, call "
                    "labels, webhook payloads, job file names and errors) again with this version's PII masker, "
                    "list the newly found spans in the reports and silence them in the redacted recordings. Safe to "
                    "interrupt and run again; a second run changes nothing. Prints one line per table: rows "
                    "checked, rows changed. Raw transcripts (QA_ENGINE_KEEP_RAW_TRANSCRIPTS) stay unmasked.")
    p.add_argument("--dry-run", action="store_true", help="change nothing; say what would change")
    p.add_argument("--batch", type=_positive, default=DEFAULT_BATCH, metavar="N",
                   help=f"rows read and committed at a time (default {DEFAULT_BATCH})")
    add_database_args(p)
    p.set_defaults(func=run_remask)


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return n


def run_remask(args: argparse.Namespace) -> int:
    from qa_engine.app.audio_redaction import AudioRedaction
    from qa_engine.app.remask import remask_stored
    from qa_engine.app.settings import load_settings

    policy = AudioRedaction.from_settings(load_settings(args.data_dir, args.db))
    verb = "would change" if args.dry_run else "changed"

    def show(table: str, count: TableCount) -> None:
        sys.stdout.write(f"{table}: {count.checked} checked, {count.changed} {verb}\n")
        sys.stdout.flush()

    # a dry run changes nothing, the schema included: it refuses a database 'qa-engine db upgrade' has not brought
    # up to this version (remask reads today's tables); a real run upgrades it first, like 'serve'
    with database_session(args, migrate=not args.dry_run, require_current=args.dry_run) as session:
        summary = remask_stored(session, policy, batch=args.batch, dry_run=args.dry_run, actor="cli",
                                progress=show)
    sys.stdout.write(_recordings_line(summary, args.dry_run))
    if summary.recordings.failed:
        sys.stderr.write(f"qa-engine: error: {len(summary.recordings.failed)} call(s) left as they were, their "
                         f"recording could not be redacted (see the log; run again once fixed): "
                         f"{', '.join(summary.recordings.failed)}\n")
        return 1
    return 0


def _recordings_line(summary: RemaskSummary, dry_run: bool) -> str:
    r = summary.recordings
    return (f"recordings: {r.silenced} {'would be ' if dry_run else ''}silenced at {r.spans} new span(s); "
            f"{r.untimed_spans} new span(s) without word timings (their whole utterance, as at scoring)\n")


__all__ = ["register", "run_remask"]
