"""``qa-engine db upgrade``: apply the service's database migrations."""

from __future__ import annotations

import argparse
import sys

from .users import add_database_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("db", help="service database maintenance",
                              description="Maintain the QA service database.")
    db_sub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations up to the latest revision",
                           description="Create or upgrade the service tables (also done by 'qa-engine serve').")
    add_database_args(up)
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    from qa_engine.app.database import make_engine
    from qa_engine.app.migrate import upgrade
    from qa_engine.app.settings import load_settings

    settings = load_settings(args.data_dir, args.db)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    sys.stdout.write(f"database is up to date: {engine.url.render_as_string(hide_password=True)}\n")
    return 0


__all__ = ["register", "run_upgrade"]
