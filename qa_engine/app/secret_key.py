"""The server secret: from the settings, else a random key generated once in the data dir. There is no default.

Resolution order (:func:`load_secret_key`, the one function ``serve``, ``worker``, the app factory and the tests
use):

1. ``QA_ENGINE_SECRET_KEY`` (the ``secret_key`` setting), at least 32 bytes (shorter is refused by the settings);
2. else ``DATA_DIR/secret_key``: created on first start from 48 random bytes, written to a private temporary file
   (mode 0600) and linked into place atomically, so two processes starting at once agree on one key; reused on
   every later start. A key file that other users may read (group/other permission bits) is refused.

What the key signs: the CSRF tokens of the web UI (sign-in form and signed-in sessions). Sessions themselves are
random tokens looked up in the database, so knowing the key does not forge a sign-in.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from qa_engine.app.settings import MIN_SECRET_KEY_BYTES, Settings
from qa_engine.errors import QaEngineError

KEY_FILE_NAME = "secret_key"
KEY_FILE_MODE = 0o600
logger = logging.getLogger(__name__)


def key_file(settings: Settings) -> Path:
    """Where the generated key lives: ``DATA_DIR/secret_key``."""
    return settings.data_dir / KEY_FILE_NAME


def load_secret_key(settings: Settings) -> bytes:
    """The server secret as bytes: the ``secret_key`` setting, else the data dir's key file (created if missing).

    Raises:
        QaEngineError: the key file is readable by group or others, too short, or cannot be created or read
            (one line saying which file and how to fix it).
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode("utf-8")
    path = key_file(settings)
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    _create(path)
    return _read(path)


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if os.name == "posix" and stat.S_IMODE(mode) & 0o077:
            raise QaEngineError(f"secret key file {path} may be read by other users (mode "
                                f"{stat.S_IMODE(mode):04o}): run 'chmod 600 {path}' (or delete it to sign everyone "
                                "out and generate a new key)")
        key = f.read().strip()
    if len(key) < MIN_SECRET_KEY_BYTES:
        raise QaEngineError(f"secret key file {path} holds {len(key)} bytes, fewer than {MIN_SECRET_KEY_BYTES}: "
                            "delete it to generate a new key, or set QA_ENGINE_SECRET_KEY")
    return key


def _create(path: Path) -> None:
    """Write a new random key to ``path`` unless another process got there first (then its key is kept)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_urlsafe(48).encode("ascii") + b"\n")
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, KEY_FILE_MODE)  # whatever the umask
            try:
                os.link(tmp, path)  # atomic, and never replaces a key another process linked first
            except FileExistsError:
                return
            except OSError:  # a file system without hard links: exclusive create in place
                _create_in_place(path, tmp.read_bytes())
                return
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    except QaEngineError:
        raise
    except OSError as exc:
        raise QaEngineError(f"cannot create the secret key file {path}: {exc.strerror or exc}; make the data dir "
                            "writable, or set QA_ENGINE_SECRET_KEY") from None
    logger.info("generated a new secret key in %s (mode 0600); keep it with the data dir, or set "
                   "QA_ENGINE_SECRET_KEY to share one key between hosts", path)


def _create_in_place(path: Path, key: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())


__all__ = ["KEY_FILE_NAME", "key_file", "load_secret_key"]
