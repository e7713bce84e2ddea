"""``qa-engine users create NAME --role ROLE``: add a service user and print their new API key (last line)."""

from __future__ import annotations

import argparse
import sys

ROLES = ("agent", "supervisor", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("users", help="manage service users and API keys",
                              description="Manage the users of the QA service (qa-engine serve).")
    users_sub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    create = users_sub.add_parser("create", help="create a user; prints the new API key as the last line",
                                  description="Create a user. The API key is shown once and stored hashed.")
    create.add_argument("name", help="user name (for an agent: the name calls are filed under)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--team", action="append", default=None, metavar="TEAM",
                        help="the agent's team, or a team a supervisor sees (repeat for several teams)")
    add_database_args(create)
    create.set_defaults(func=run_create)


def add_database_args(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--db``, shared by the service commands (defaults: QA_ENGINE_* settings)."""
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="service data folder (default: $QA_ENGINE_DATA_DIR or ./qa-engine-data)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="database URL (default: SQLite in the data folder)")


def run_create(args: argparse.Namespace) -> int:
    from api.db import make_engine, make_session_factory
    from api.migrate import upgrade
    from api.settings import load_settings
    from api.users import create_user

    settings = load_settings(args.data_dir, args.db)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with make_session_factory(engine)() as session:
            teams = args.team or []
            user, key = create_user(session, args.name, args.role, teams[0] if teams else None, teams[1:])
            team = f" in team{'s' if len(teams) > 1 else ''} {', '.join(map(repr, teams))}" if teams else ""
            sys.stdout.write(f"created {user.role} {user.name!r}{team}; API key (shown once):\n{key}\n")
    finally:
        engine.dispose()
    return 0


__all__ = ["add_database_args", "register", "run_create"]
