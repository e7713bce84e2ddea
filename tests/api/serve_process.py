"""A real ``qa-engine serve`` process for tests: free port, clean environment, users, start-up wait, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SCRIPT = Path(sys.executable).with_name("qa-engine")
START_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment() -> dict[str, str]:
    """This process's environment without QA_ENGINE_* settings (the server reads only what a test gives it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_ENGINE_")}
    env.update(QA_ENGINE_DEVICE="cpu", QA_ENGINE_LOG_FORMAT="text")
    return env


def create_user(data_dir: Path, *args: str) -> str:
    """``qa-engine users create ARGS``; returns the new API key."""
    proc = subprocess.run([str(SCRIPT), "users", "create", *args, "--data-dir", str(data_dir)], capture_output=True,
                          text=True, timeout=60, check=False, env=environment())
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def wait_until_up(http: httpx.Client, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, f"server exited ({server.returncode}): {log.read_text()[-2000:]}"
        try:
            if http.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"server did not answer within {START_TIMEOUT_S} s: {log.read_text()[-2000:]}")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not stopped within 30 s."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
