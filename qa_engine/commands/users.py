"""``qa-engine users create NAME --role ROLE``: add a service user and print their new API key (last line);
``qa-engine users set-password NAME``: set the password used to sign in to the web UI (signs the user out everywhere);
``qa-engine users disable NAME`` / ``enable NAME``: refuse (or allow again) the user's API key, password and sessions;
``qa-engine users sign-out NAME``: end all of the user's web sessions."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from qa_engine.errors import QaEngineError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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
    create.add_argument("--password-stdin", action="store_true",
                        help="also set a web sign-in password, read from the first line of standard input")
    add_database_args(create)
    create.set_defaults(func=run_create)
    setpw = users_sub.add_parser("set-password", help="set a user's web sign-in password",
                                 description="Set the password a user signs in to the web UI with. It is read "
                                             "from standard input (first line) or prompted for on a terminal.")
    setpw.add_argument("name", help="user name")
    add_database_args(setpw)
    setpw.set_defaults(func=run_set_password)
    for action, text, func in (
            ("disable", "disable a user: their API key, password and web sessions are refused (sessions revoked)",
             run_disable),
            ("enable", "enable a disabled user again", run_enable),
            ("sign-out", "end all of a user's web sessions (they sign in again)", run_sign_out)):
        sub = users_sub.add_parser(action, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("name", help="user name")
        add_database_args(sub)
        sub.set_defaults(func=func)


def read_password(prompt: bool) -> str:
    """The password: prompted twice on a terminal, else the first line of standard input."""
    if prompt and sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise SystemExit("qa-engine: error: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def add_database_args(parser: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--db``, shared by the service commands (defaults: QA_ENGINE_* settings)."""
    parser.add_argument("--data-dir", default=None, metavar="DIR",
                        help="service data folder (default: $QA_ENGINE_DATA_DIR or ./qa-engine-data)")
    parser.add_argument("--db", default=None, metavar="URL",
                        help="database URL (default: SQLite in the data folder)")


@contextmanager
def database_session(args: argparse.Namespace, *, migrate: bool = True,
                     require_current: bool = False) -> Iterator[Session]:
    """A session on the database ``--data-dir``/``--db`` name (migrated first unless ``migrate`` is off); the
    engine is disposed afterwards.

    ``require_current`` (for a command that must not migrate, yet reads today's tables): a database that does
    not answer or is not at this version's schema is refused with the reason (``run 'qa-engine db upgrade'``)
    instead of failing half-way on a missing table or column.
    """
    from qa_engine.app.database import make_engine, make_session_factory
    from qa_engine.app.migrate import upgrade
    from qa_engine.app.probes import not_ready_reason
    from qa_engine.app.settings import load_settings

    settings = load_settings(args.data_dir, args.db)
    engine = make_engine(settings.database_url)
    try:
        if migrate:
            upgrade(engine)
        elif require_current and (reason := not_ready_reason(engine)):
            raise QaEngineError(reason)
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def run_create(args: argparse.Namespace) -> int:
    from qa_engine.app.users import create_user

    with database_session(args) as session:
        teams = args.team or []
        password = read_password(prompt=False) if args.password_stdin else None
        user, key = create_user(session, args.name, args.role, teams[0] if teams else None, teams[1:],
                                password=password)
        team = f" in team{'s' if len(teams) > 1 else ''} {', '.join(map(repr, teams))}" if teams else ""
        sys.stdout.write(f"created {user.role} {user.name!r}{team}; API key (shown once):\n{key}\n")
    return 0


def run_set_password(args: argparse.Namespace) -> int:
    from qa_engine.app.settings import load_settings
    from qa_engine.app.users import set_password

    load_settings(args.data_dir, args.db)  # an invalid configuration is refused before the password is asked
    password = read_password(prompt=True)
    with database_session(args) as session:
        user = set_password(session, args.name, password)
        sys.stdout.write(f"password set for {user.role} {user.name!r}; their web sessions are signed out\n")
    return 0


def _with_session(args: argparse.Namespace, action: Callable[[Session], str]) -> int:
    with database_session(args) as session:
        sys.stdout.write(action(session) + "\n")
    return 0


def run_disable(args: argparse.Namespace) -> int:
    from qa_engine.app.users import set_disabled

    def disable(session: Session) -> str:
        user = set_disabled(session, args.name, True)
        return f"disabled {user.role} {user.name!r}: API key, password and web sessions refused"

    return _with_session(args, disable)


def run_enable(args: argparse.Namespace) -> int:
    from qa_engine.app.users import set_disabled

    def enable(session: Session) -> str:
        user = set_disabled(session, args.name, False)
        return f"enabled {user.role} {user.name!r}"

    return _with_session(args, enable)


def run_sign_out(args: argparse.Namespace) -> int:
    from qa_engine.app.users import sign_out_everywhere

    def sign_out(session: Session) -> str:
        count = sign_out_everywhere(session, args.name)
        return f"signed out {args.name.strip()!r} from {count} web session{'s' if count != 1 else ''}"

    return _with_session(args, sign_out)


__all__ = ["add_database_args", "database_session", "read_password", "register", "run_create", "run_disable",
           "run_enable", "run_set_password", "run_sign_out"]
