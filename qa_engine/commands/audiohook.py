"""``qa-engine audiohook add-client NAME [--team TEAM] [--data-dir DIR]``: create an AudioHook client.

Prints ``API_KEY CLIENT_SECRET`` as the last line: enter them in the Genesys Cloud AudioHook integration
(or give them to ``qa-engine tap``). The pair is stored in the service's data folder (mode 0600).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("audiohook", help="manage AudioHook (live tap) clients",
                              description="Manage the clients allowed to stream live calls to the service.")
    sub = p.add_subparsers(dest="audiohook_command", metavar="ACTION", required=True)
    add = sub.add_parser("add-client", help="create a client; prints 'API_KEY CLIENT_SECRET' as the last line",
                         description="Create an AudioHook client with a new API key and client secret.")
    add.add_argument("name", help="a name for the client (e.g. the Genesys Cloud organisation)")
    add.add_argument("--team", default=None, help="team of the live calls whose open message names none")
    add.add_argument("--data-dir", default=None, metavar="DIR",
                     help="service data folder (default: $QA_ENGINE_DATA_DIR or ./qa-engine-data)")
    add.set_defaults(func=run_add_client)


def run_add_client(args: argparse.Namespace) -> int:
    from qa_engine.app.audiohook_clients import add_client
    from qa_engine.app.settings import load_settings

    from ..errors import QaEngineError

    settings = load_settings(args.data_dir)
    try:
        client = add_client(settings.data_dir, args.name, team=args.team)
    except ValueError as exc:
        raise QaEngineError(str(exc)) from None
    sys.stdout.write(f"created AudioHook client {client.name!r} (stored in {settings.data_dir})\n")
    sys.stdout.write(f"{client.api_key} {client.client_secret}\n")
    return 0
