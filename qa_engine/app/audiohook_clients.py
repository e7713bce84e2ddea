"""AudioHook clients (API key + client secret), kept in ``DATA_DIR/audiohook-clients.json`` (mode 0600).

Why a file and not a table: the schema is fixed, and the HTTP signature check needs the secret
itself (an HMAC key cannot be verified against a hash), so it is stored as issued, readable by the
service's user only. The API key is only a lookup key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

FILE_NAME = "audiohook-clients.json"
_lock = threading.Lock()


@dataclass(frozen=True)
class AudiohookClient:
    """One configured AudioHook client: ``team`` is used when the open message names none."""

    name: str
    api_key: str
    client_secret: str
    team: str | None = None
    created_at: str = ""


def _path(data_dir: Path) -> Path:
    return Path(data_dir) / FILE_NAME


def load_clients(data_dir: Path) -> dict[str, AudiohookClient]:
    """Clients by API key (empty when none were added)."""
    path = _path(data_dir)
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {c["api_key"]: AudiohookClient(**c) for c in raw.get("clients", [])}


def add_client(data_dir: Path, name: str, team: str | None = None) -> AudiohookClient:
    """Create a client with a fresh API key and a 32-byte secret (base64, as Genesys Cloud expects).

    Raises:
        ValueError: a client with this name exists.
    """
    name = name.strip()
    if not name:
        raise ValueError("the client name is empty")
    with _lock:
        clients = load_clients(data_dir)
        if any(c.name == name for c in clients.values()):
            raise ValueError(f"an AudioHook client named {name!r} already exists")
        client = AudiohookClient(name=name, api_key=secrets.token_urlsafe(24),
                                 client_secret=base64.b64encode(secrets.token_bytes(32)).decode(), team=team,
                                 created_at=datetime.now(UTC).isoformat(timespec="seconds"))
        clients[client.api_key] = client
        _write(data_dir, list(clients.values()))
    return client


def _write(data_dir: Path, clients: list[AudiohookClient]) -> None:
    path = _path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".audiohook-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"clients": [asdict(c) for c in clients]}, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ClientRegistry:
    """Read-through view of the client file (re-read when it changes, so ``add-client`` needs no restart)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._stamp: float | None = None
        self._clients: dict[str, AudiohookClient] = {}

    def get(self, api_key: str) -> AudiohookClient | None:
        path = _path(self.data_dir)
        stamp = path.stat().st_mtime_ns if path.exists() else None
        if stamp != self._stamp:
            self._clients = load_clients(self.data_dir) if stamp is not None else {}
            self._stamp = stamp
        return self._clients.get(api_key)
