"""Background services of ``serve``: job workers and the webhook dispatcher (started in the app's lifespan)."""

from __future__ import annotations

from fastapi import FastAPI


def start(app: FastAPI) -> None:
    """Start the configured background services (none yet)."""
    app.state.background = []


def stop(app: FastAPI) -> None:
    """Stop what :func:`start` started, letting running jobs finish their current step."""
    app.state.background = []
