"""The ``qa-engine`` console script: one sub-command module per job, errors as one line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .app.logging_config import CLI_LOG_HANDLER, add_pii_filter
from .commands import audiohook, batch, check, db, jobs, packs, purge, remask, score, serve, tap, users, worker
from .errors import QaEngineError

# Each module exposes ``register(subparsers)`` and sets ``func`` (args -> exit code) on its parser; the modules
# import their heavy dependencies (model, database, server) only when their command runs.
COMMAND_MODULES = (score, check, packs, users, db, remask, purge, serve, worker, batch, audiohook, tap, jobs)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa-engine", description="Score call-centre calls against rule packs.")
    parser.add_argument("--version", action="version", version=f"qa-engine {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser




def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # the service's configure_logging replaces this one
        handler.set_name(handler.get_name() or CLI_LOG_HANDLER)
        add_pii_filter(handler)  # logs carry no phone/ID/card number
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except QaEngineError as exc:
        sys.stderr.write(f"qa-engine: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("qa-engine: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
