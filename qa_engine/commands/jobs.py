"""``qa-engine jobs list [--status failed]``: the service's background jobs, newest first;
``qa-engine jobs retry ID``: queue a failed job again (its call goes back to ``queued``)."""

from __future__ import annotations

import argparse
import sys

from .users import add_database_args, database_session

STATUSES = ("queued", "running", "done", "failed")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("jobs", help="list background jobs and retry failed ones",
                              description="Background jobs of the QA service (audio scoring, rescoring, batch runs).")
    jobs_sub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    listing = jobs_sub.add_parser("list", help="list jobs, newest first (one line each)",
                                  description="List jobs, newest first: id, kind, status, attempts, call, error.")
    listing.add_argument("--status", choices=STATUSES, default=None, help="only jobs in this state")
    listing.add_argument("--kind", default=None, help="only jobs of this kind (score_audio, rescore, batch)")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    add_database_args(listing)
    listing.set_defaults(func=run_list)
    retry = jobs_sub.add_parser("retry", help="queue a failed job again",
                                description="Queue a failed job again from its first attempt; a running service "
                                            "(or qa-engine worker) picks it up.")
    retry.add_argument("job_id", type=int, metavar="ID", help="the job's id (see 'qa-engine jobs list')")
    add_database_args(retry)
    retry.set_defaults(func=run_retry)


def run_list(args: argparse.Namespace) -> int:
    from qa_engine.app.jobs import list_jobs

    with database_session(args, migrate=False, require_current=True) as session:
        rows, total = list_jobs(session, status=args.status, kind=args.kind, limit=max(1, args.limit))
        for job in rows:
            error = (job.error or "").replace("\n", " ")
            sys.stdout.write(f"{job.id}\t{job.kind}\t{job.status}\tattempts={job.attempts}\t"
                             f"call={job.call_pk or '-'}\t{error}\n")
        sys.stderr.write(f"{len(rows)} of {total} job(s)\n")
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from qa_engine.app.errors import Conflict, NotFound
    from qa_engine.app.jobs import retry_job

    with database_session(args, migrate=False, require_current=True) as session:
        try:
            job = retry_job(session, args.job_id, actor="cli")
        except (NotFound, Conflict) as exc:
            sys.stderr.write(f"qa-engine: error: {exc}\n")
            return 1
        sys.stdout.write(f"job {job.id} ({job.kind}) queued again\n")
    return 0


__all__ = ["register"]
