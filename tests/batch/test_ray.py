"""``--engine ray`` on a local Ray instance with 2 CPUs gives the same results as the local engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.db import make_engine, make_session_factory
from api.migrate import upgrade
from api.models import Call
from qa_engine.batch import BatchOptions, run_batch
from qa_engine.pipeline import PipelineOptions

#: The source clips are one voice each (one party): no diarization.
ONE_VOICE = PipelineOptions(speakers=1)

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _results(sessions: Any) -> dict[str, tuple[Any, ...]]:
    with sessions() as s:
        return {c.call_id: (c.id, c.status, c.score, c.grade, c.pack_version, c.error is not None,
                            [(f["rule_id"], f["status"]) for f in (c.report or {}).get("findings", [])],
                            [u["text"] for u in (c.report or {}).get("utterances", [])])
                for c in s.scalars(select(Call))}


def test_ray_engine_matches_local(local_ray: None, source: Path, sessions: Any, tmp_path: Path,
                                  recognizer: Any) -> None:
    ray_summary = run_batch(BatchOptions(source=source, engine="ray", workers=1, report_dir=tmp_path / "r",
                                         pipeline=ONE_VOICE),
                            sessions, data_dir=tmp_path / "data")
    assert (ray_summary["scored"], ray_summary["failed"]) == (2, 2)

    engine = make_engine(f"sqlite:///{tmp_path / 'local.db'}")
    upgrade(engine)
    local_sessions = make_session_factory(engine)
    run_batch(BatchOptions(source=source, workers=1, pipeline=ONE_VOICE), local_sessions, data_dir=tmp_path / "local",
              recognizer=recognizer)
    on_ray, local = _results(sessions), _results(local_sessions)
    engine.dispose()
    # ids, status, score, grade, pack version, error and findings agree
    assert {k: v[:-1] for k, v in on_ray.items()} == {k: v[:-1] for k, v in local.items()}

    again = run_batch(BatchOptions(source=source, engine="ray", workers=1,
                                   pipeline=ONE_VOICE), sessions, data_dir=tmp_path / "data")
    assert (again["scored"], again["skipped"]) == (0, 2)
    if on_ray != local:  # the utterance texts
        pytest.xfail("known bug (open in issue 5): on the Ray engine the Mandarin clip comes back as garbled text "
                     "while the local engine transcribes it right")
