"""``qa-engine batch --engine ray --address HOST:PORT`` against a cluster started with ``ray start --head``.

The head runs in a temp dir on free ports with token authentication (Ray's default for ``ray start`` when a
token exists), and the source path is relative: a worker's current directory is not the driver's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa_engine.app.batch.ray_executor import connect_hint

from .conftest import CLIPS

BIN = Path(sys.executable).parent
RAY_CLI = BIN / "ray"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the head's processes by pid: SIGTERM (as ``ray stop`` does), then SIGKILL what is left.

    Never ``ray stop``: it stops every Ray process on the machine, other people's included. Ray workers
    have their own process group and outlive the raylet for up to a minute, so they are listed first.
    """
    started = _descendants(proc.pid)
    _signal([*started, proc.pid], signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    _signal(started, signal.SIGKILL)


@pytest.fixture()
def ray_head() -> Iterator[tuple[str, dict[str, str]]]:
    """A one-node cluster (2 CPUs): its address and the environment a driver needs to join it."""
    if not RAY_CLI.exists() and shutil.which("ray") is None:
        pytest.skip("the ray CLI is not installed")
    ray_cli = str(RAY_CLI) if RAY_CLI.exists() else "ray"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(16))
    temp = tempfile.mkdtemp(prefix="qa-ray-", dir="/tmp")  # Ray's socket paths must stay short
    gcs, client, dashboard, agent = _free_ports(4)
    log = Path(temp) / "ray-start.log"
    args = [ray_cli, "start", "--head", "--block", "--num-cpus", "2", "--num-gpus", "0", "--port", str(gcs),
            "--temp-dir", temp, "--include-dashboard", "false", "--disable-usage-stats",
            "--dashboard-port", str(dashboard), "--dashboard-agent-listen-port", str(agent)]
    if importlib.util.find_spec("grpc") is not None:  # ray[client]: the client server would take port 10001
        args += ["--ray-client-server-port", str(client)]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while b"Ray runtime started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start --head did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{gcs}", env
    finally:
        _stop(proc)
        shutil.rmtree(temp, ignore_errors=True)


def test_batch_joins_a_ray_start_head_by_address(ray_head: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    address, env = ray_head
    (tmp_path / "src").mkdir()
    shutil.copy(CLIPS / "en_agent_greeting.flac", tmp_path / "src" / "en1.flac")
    (tmp_path / "src" / "corrupt.wav").write_text("this is not a recording\n")
    proc = subprocess.run(
        [str(BIN / "qa-engine"), "batch", "src", "--engine", "ray", "--address", address, "--workers", "1",
         "--speakers", "1", "--language", "en", "--data-dir", str(tmp_path / "data"), "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.stdout, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert (summary["scored"], summary["failed"]) == (1, 1), proc.stderr[-3000:]
    # the worker found the file (the relative path was made absolute) and read it
    assert "not audio" in summary["failures"][0]["error"]
    assert proc.returncode == 1  # a file failed


def test_connect_hint_only_for_an_explicit_address_without_an_auth_mode() -> None:
    assert "RAY_AUTH_MODE=token" in connect_hint("10.0.0.5:6379", {})
    assert "RAY_AUTH_MODE=token" in connect_hint(None, {"RAY_ADDRESS": "10.0.0.5:6379"})
    assert connect_hint("10.0.0.5:6379", {"RAY_AUTH_MODE": "token"}) == ""
    assert connect_hint("auto", {}) == ""
    assert connect_hint(None, {}) == ""  # a new local instance
