"""``qa-engine batch SOURCE``: score a recording archive into the service database (resumable)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from ..errors import QaEngineError
from ..pipeline import pipeline_options
from .users import add_database_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch", help="score a folder or manifest of recordings into the service database",
        description="Score every recording of SOURCE (a folder, searched recursively, with optional NAME.json "
                    "sidecars; or a manifest .csv/.jsonl with path, call_id, agent, team, started_at, "
                    "agent_channel, language) into the service database. Safe to kill and run again: each "
                    "file is scored once per pack version. Exit code 1 when any file failed.")
    p.add_argument("source", type=Path, help="folder of recordings, or manifest (.csv / .jsonl)")
    add_database_args(p)
    p.add_argument("--pack", default=None, help="rule pack id or YAML path (default: the team's pack, else the "
                                                "language's default)")
    p.add_argument("--language", default=None, help="zh or en for files whose metadata does not say (default: "
                                                    "the pack's language)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="CPU worker processes (default: 2)")
    p.add_argument("--speakers", type=int, default=2, metavar="N",
                   help="mono recordings: number of speakers (default 2; 0: estimate; 1: no diarization, roles "
                        "unknown — for one-party recordings)")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="only calls started (or files modified) after DATE: ISO date/time (local time) or 36h, 2d")
    p.add_argument("--dry-run", action="store_true", help="list what would be scored; write nothing")
    p.add_argument("--engine", default="local", choices=["local", "ray"], help="where to run (default: local)")
    p.add_argument("--address", default=None, metavar="ADDR",
                   help="Ray cluster: auto (the cluster on this node), HOST:6379 (with token auth set "
                        "RAY_AUTH_MODE=token) or ray://HOST:10001 (needs ray[client]); default: RAY_ADDRESS or a new "
                        "local instance")
    p.add_argument("--agent", default="unassigned", metavar="NAME",
                   help="agent for files whose metadata names none (default: unassigned)")
    p.add_argument("--report-dir", type=Path, default=None, metavar="DIR",
                   help="where the report goes (default: DATA_DIR/batch-reports/<start time>)")
    p.add_argument("--no-audio-copy", action="store_true",
                   help="do not copy recordings into the service's audio store (GET /calls/{id}/audio then fails)")
    p.add_argument("--lease", type=float, default=60.0, metavar="SECONDS",
                   help="a claim whose run stopped beating this long ago is taken over (default: 60)")
    p.add_argument("--model", default=None, help="CTranslate2 Whisper model path or name (default: bundled base)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--compute-type", default="auto",
                   help="CTranslate2 compute type, e.g. int8, float16, int8_float16 (default auto: float16 on GPU, "
                        "int8 on CPU)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for ASR (0: all cores)")
    p.add_argument("--batch-size", type=int, default=16, help="speech windows decoded per batch")
    p.add_argument("--max-duration", type=float, default=4 * 3600.0, metavar="SECONDS")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from qa_engine.app.batch import BatchOptions, run_batch
    from qa_engine.app.batch.report import format_summary
    from qa_engine.app.batch.source import parse_since
    from qa_engine.app.database import make_engine, make_session_factory
    from qa_engine.app.local_time import TIMEZONE_KEY
    from qa_engine.app.migrate import upgrade
    from qa_engine.app.settings import load_settings

    if args.workers < 1:
        raise QaEngineError("--workers must be 1 or more")
    if args.lease <= 0:
        raise QaEngineError("--lease must be more than 0 seconds")
    if args.address and args.engine != "ray":
        raise QaEngineError("--address is for --engine ray")
    if args.speakers < 0:
        raise QaEngineError("--speakers must be 0 (estimate), 1 (no diarization) or more")
    settings = load_settings(args.data_dir, args.db)
    report_dir = args.report_dir
    if report_dir is None and not args.dry_run:
        report_dir = settings.data_dir / "batch-reports" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = BatchOptions(
        source=args.source, pack=args.pack, language=args.language, workers=args.workers,
        since=parse_since(args.since) if args.since else None, dry_run=args.dry_run, engine=args.engine,
        address=args.address, default_agent=args.agent, report_dir=report_dir, lease_s=args.lease,
        store_audio=not args.no_audio_copy,
        pipeline=pipeline_options({"model": args.model, "device": args.device, "compute_type": args.compute_type,
                                   "cpu_threads": args.threads, "batch_size": args.batch_size,
                                   "max_duration_s": args.max_duration, "speakers": args.speakers}),
    )
    db_engine = make_engine(settings.database_url)
    try:
        upgrade(db_engine)
        sessions = make_session_factory(db_engine)
        sessions.configure(info={TIMEZONE_KEY: settings.zone})  # sampling quotas count the call centre's days
        summary = run_batch(options, sessions, data_dir=settings.data_dir)
    finally:
        db_engine.dispose()
    sys.stderr.write(format_summary(summary))
    if args.json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    return 1 if summary["failed"] else 0


__all__ = ["register", "run"]
