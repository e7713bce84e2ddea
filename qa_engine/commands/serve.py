"""``qa-engine serve``: run the QA service (FastAPI under uvicorn); migrations run on start.

The server secret comes from ``QA_ENGINE_SECRET_KEY`` or is generated on first start in ``DATA_DIR/secret_key``
(mode 0600) and reused; a bad one is refused here, with one line, before uvicorn starts. Forwarded headers are
read by the service itself, only from the proxies in ``QA_ENGINE_TRUSTED_PROXIES`` (uvicorn's own handling, which
trusts 127.0.0.1 by default, is off).
"""

from __future__ import annotations

import argparse

from .users import add_database_args


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the QA service (HTTP API)",
                              description="Run the QA service. Settings also come from QA_ENGINE_* variables.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="job workers in this process (default: $QA_ENGINE_WORKERS or 1; 0: run 'qa-engine worker' "
                        "processes instead); on a GPU the calls they score at once share batches of speech")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="speech windows decoded per batch (default: $QA_ENGINE_BATCH_SIZE or 16)")
    add_database_args(p)
    p.set_defaults(func=run)


#: Where ``serve`` finds the HTTP edge: uvicorn imports the factory by name, so the library never imports ``api``.
APP_FACTORY = "api.main:create_app"
WS_MAX_BYTES = 1 << 20


def run(args: argparse.Namespace) -> int:
    import os

    import uvicorn

    from ..app.logging_config import configure_logging
    from ..app.secret_key import load_secret_key
    from ..app.settings import load_settings
    from ..app.worker import check_device
    from ..errors import QaEngineError

    if not 0 <= args.port <= 65535:
        raise QaEngineError(f"--port must be between 0 and 65535, got {args.port}")
    if args.workers is not None and not 0 <= args.workers <= 64:
        raise QaEngineError(f"--workers must be between 0 and 64, got {args.workers}")
    if args.batch_size is not None and not 1 <= args.batch_size <= 512:
        raise QaEngineError(f"--batch-size must be between 1 and 512, got {args.batch_size}")
    # command-line values win over the environment: hand them to the app factory the way settings are read
    overrides = {"QA_ENGINE_DATA_DIR": args.data_dir, "QA_ENGINE_DB_URL": args.db, "QA_ENGINE_WORKERS": args.workers,
                 "QA_ENGINE_BATCH_SIZE": args.batch_size}
    os.environ.update({name: str(value) for name, value in overrides.items() if value is not None})
    settings = load_settings()  # refuses an invalid configuration here, with one line, before uvicorn starts
    configure_logging(settings.log_format, "INFO")
    load_secret_key(settings)  # generated on first start; a readable or short key file is refused here
    if settings.workers > 0:
        check_device(settings)
    # our logging set-up stays in place; the service's middleware writes the access log
    # ws_max_size: the only WebSocket is AudioHook (text <= 64 k characters, frames <= 5 s = 80 kB): a 16 MiB
    # default would let each connection make the server buffer 16 MiB before the app can refuse it
    uvicorn.run(APP_FACTORY, factory=True, host=args.host, port=args.port, log_config=None, access_log=False,
                proxy_headers=False, server_header=False, ws_max_size=WS_MAX_BYTES)
    return 0


__all__ = ["register", "run"]
