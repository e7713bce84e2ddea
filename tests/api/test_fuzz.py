"""Fuzz every operation of the OpenAPI schema with schemathesis: no client input may cause a 5xx.

The schema is read from the running app (``/api/v1/openapi.json``), so endpoints added later are covered without
touching this file. Requests go through the ASGI app in-process (no network), as an admin and as an agent, on
SQLite and PostgreSQL (the ``settings`` fixture). Schemathesis generates valid and invalid data (positive and
negative modes); the database holds a scored call and an open dispute so that some ids resolve.

A second test runs schemathesis' state machine over OpenAPI links, so that ids in paths are real ones: created
calls are read, reviewed and deleted, reviews decided, packs shown and rescored, jobs read (see below).

Examples per operation: ``QA_ENGINE_FUZZ_EXAMPLES`` (default 8); linked scenarios: ``QA_ENGINE_FUZZ_SCENARIOS``
(default 30, up to 8 steps each). Runs are derandomized (the same cases every time, so CI does not flake);
``QA_ENGINE_FUZZ_RANDOM=1`` explores new ones. Both fail on any 5xx; the table of known causes is test_bad_input.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.checks import response_schema_conformance
from schemathesis.python.asgi import ASGIClient

from api.main import API_PREFIX

Headers = dict[str, str]

FUZZ_EXAMPLES = int(os.environ.get("QA_ENGINE_FUZZ_EXAMPLES", "8"))
FUZZ_RANDOM = os.environ.get("QA_ENGINE_FUZZ_RANDOM") == "1"
BASE_URL = "http://testserver"


def describe(operation: schemathesis.APIOperation, phase: str, case: schemathesis.Case, status: int | str,
             headers: Headers) -> str:
    return f"{operation.label} ({phase}) -> {status}\n    reproduce: {case.as_curl_command(headers=headers)}"


def call(case: schemathesis.Case, session: ASGIClient, headers: Headers) -> tuple[int | str, str]:
    """The response status (or the exception the app raised: a 500 in production) and the first bytes of the body."""
    try:
        response = case.call(session=session, base_url=BASE_URL, headers=headers)
    except Exception as exc:  # the in-process transport re-raises what the app did not handle
        return f"{type(exc).__name__}: {str(exc)[:300]}", ""
    if response.status_code < 500:
        conformance_error = check_conformance(case, response)
        if conformance_error:
            return f"{response.status_code}, not as documented: {conformance_error}", response.text[:300]
    return response.status_code, response.text[:300]


def check_conformance(case: schemathesis.Case, response: schemathesis.Response) -> str | None:
    """A 2xx body that does not match the documented response schema (other statuses are not all documented)."""
    if not 200 <= response.status_code < 300:
        return None
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except AssertionError as exc:
        return str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    return None


def is_failure(status: int | str) -> bool:
    return not isinstance(status, int) or status >= 500


def coverage_failures(schema: schemathesis.schemas.BaseSchema, operation: schemathesis.APIOperation,
                      session: ASGIClient, headers: Headers) -> list[str]:
    """Schemathesis' deterministic coverage cases: boundaries, wrong types, missing fields, unexpected methods."""
    failures = []
    cases = schema.iter_coverage_cases(operation, generation_modes=list(schemathesis.GenerationMode),
                                       generation_config=schema.config.generation_for(operation=operation))
    for case in cases:
        status, body = call(case, session, headers)
        if is_failure(status):
            failures.append(describe(operation, "coverage", case, status, headers) + f"\n    body: {body!r}")
    return failures


def fuzz_failure(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode,
                 session: ASGIClient, headers: Headers) -> str | None:
    """Hypothesis-generated cases in ``mode``; the smallest request that failed, described, or None."""

    @hypothesis.settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=not FUZZ_RANDOM, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck), verbosity=hypothesis.Verbosity.quiet)
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        status, body = call(case, session, headers)
        assert not is_failure(status), describe(operation, f"fuzz {mode.value}", case, status, headers) + \
            f"\n    body: {body!r}"

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        return None  # nothing to make invalid (e.g. negative mode for an operation without parameters)
    except AssertionError as exc:
        return str(exc)
    return None


def is_stream(spec: dict[str, Any]) -> bool:
    """An endless Server-Sent Events stream: a request never ends, so fuzzing would hang (tests/live covers it)."""
    return any("text/event-stream" in (answer.get("content") or {}) for answer in spec.get("responses", {}).values())


def edge_value_failures(client: TestClient, schema_doc: dict[str, Any], headers: Headers) -> list[str]:
    """Values that fit the documented types but not a database column: 64-bit ids, NUL characters.

    PostgreSQL refuses integers beyond 32 bits in INTEGER columns and NUL in text; SQLite takes both. Schemathesis
    reaches these only by chance, so every path and query parameter gets them here.
    """
    failures = []
    for path, methods in schema_doc["paths"].items():
        for method, spec in methods.items():
            if is_stream(spec):
                continue
            params = spec.get("parameters", [])
            for param in params:
                kind = param.get("schema", {}).get("type")
                values: list[Any] = [2**31, 2**63, -(2**31) - 1] if kind == "integer" else ["a\x00b"]
                for value in values:
                    url, query = path, {}
                    for other in params:
                        if other["in"] == "path":
                            fill = value if other is param else (1 if other.get("schema", {}).get("type") == "integer"
                                                                 else "x")
                            url = url.replace("{" + other["name"] + "}", quote(str(fill), safe=""))
                    if param["in"] == "query":
                        query[param["name"]] = value
                    elif param["in"] != "path":
                        continue
                    kwargs: dict[str, Any] = {"json": {}} if "requestBody" in spec else {}
                    try:
                        status: int | str = client.request(method, url, params=query, headers=headers,
                                                           **kwargs).status_code
                    except Exception as exc:
                        status = f"{type(exc).__name__}: {str(exc)[:300]}"
                    if is_failure(status):
                        failures.append(f"{method.upper()} {path} ({param['in']} {param['name']}={value!r}) -> "
                                        f"{status}")
    return failures


@pytest.mark.parametrize("role", ["admin", "agent"])
def test_no_server_error_for_any_input(client: TestClient, make_user: Callable[..., Headers],
                                       upload: Callable[..., str], role: str) -> None:
    admin = make_user("root", "admin")
    agent = make_user("alice", "agent", "t1")
    make_user("sue", "supervisor", "t1")
    call_id = upload(agent)
    client.post(f"{API_PREFIX}/calls/{call_id}/findings/greeting/dispute", headers=agent,
                json={"comment": "I did greet", "requested_status": "pass"})
    headers = admin if role == "admin" else agent
    # The schema as served; requests go to the app in-process through an ASGI session that is never entered, so
    # schemathesis does not start a second lifespan (background workers) that would outlive the test.
    schema_doc = client.get(f"{API_PREFIX}/openapi.json").json()
    schema = schemathesis.openapi.from_dict(schema_doc)
    session = ASGIClient(client.app, base_url=BASE_URL)
    streams = {(method.upper(), path) for path, methods in schema_doc["paths"].items()
               for method, spec in methods.items() if is_stream(spec)}
    operations = [op for op in (result.ok() for result in schema.get_all_operations())
                  if (op.method.upper(), op.path) not in streams]
    assert streams == {("GET", f"{API_PREFIX}/live/events")}, streams
    assert len(operations) >= 4, "the OpenAPI schema lists too few operations"

    failures = edge_value_failures(client, schema_doc, headers)
    for operation in operations:
        failures += coverage_failures(schema, operation, session, headers)
        failures += [failure for mode in schemathesis.GenerationMode
                     if (failure := fuzz_failure(operation, mode, session, headers)) is not None]
    assert not failures, f"{len(failures)} server errors or undocumented answers over {len(operations)} " \
        "operations:\n" + "\n".join(failures)


# --- Stateful, id-aware fuzzing ------------------------------------------------------------------------------------
# The operations above are fuzzed one at a time, so an id in a path is random and almost always a 404. Here
# schemathesis' state machine chains them: a call created by POST /calls is read, reviewed, disputed and deleted
# by its real id; an override's review is accepted or rejected; an uploaded pack is shown, chosen and rescored, and
# the rescore's job is read and retried. The links that say which response feeds which request are OpenAPI links,
# added here to the served schema (the service does not document them).

STATEFUL_SCENARIOS = int(os.environ.get("QA_ENGINE_FUZZ_SCENARIOS", "30"))
STATEFUL_STEPS = 8
VALID_PACK = """\
pack: fuzz-pack
version: "{version}"
language: zh
grades: {{good: 80, poor: 0}}
rules:
  - id: greeting
    type: phrase_in_window
    summary: greets
    weight: 10
    role: agent
    window: {{anchor: whole_call}}
    match: {{phrases: [您好]}}
"""


def add_links(schema_doc: dict[str, Any]) -> int:
    """Add the OpenAPI links between operations that create a resource and those that use its id; returns how many."""
    p = API_PREFIX
    operation_ids = {(method.upper(), path): spec["operationId"] for path, methods in schema_doc["paths"].items()
                     for method, spec in methods.items()}
    added = 0

    def link(source: tuple[str, str], status: str, targets: list[tuple[str, str]],
             parameters: dict[str, str]) -> None:
        nonlocal added
        method, path = source
        responses = schema_doc["paths"][path][method.lower()]["responses"]
        links = responses.setdefault(status, {"description": "created"}).setdefault("links", {})
        for target in targets:
            if target not in operation_ids:
                continue  # an operation another change removed: nothing to link to
            target_path = target[1]
            wanted = {name: value for name, value in parameters.items() if "{" + name + "}" in target_path}
            links[f"{target[0]} {target_path}"] = {"operationId": operation_ids[target], "parameters": wanted}
            added += 1

    call = f"{p}/calls/{{call_id}}"
    finding = f"{call}/findings/{{rule_id}}"
    link(("POST", f"{p}/calls"), "201",
         [("GET", call), ("DELETE", call), ("GET", f"{call}/reviews"), ("GET", f"{call}/audit"),
          ("GET", f"{call}/audio"), ("POST", f"{finding}/override"), ("POST", f"{finding}/dispute"),
          ("GET", f"{call}/comments"), ("POST", f"{call}/comments"), ("GET", f"{call}/evaluations"),
          ("POST", f"{call}/evaluations"), ("GET", f"{p}/review-queue/{{call_id}}"),
          ("POST", f"{p}/review-queue/{{call_id}}/assign"), ("POST", f"{p}/review-queue/{{call_id}}/state")],
         {"call_id": "$response.body#/id", "rule_id": "greeting"})
    review = f"{p}/reviews/{{review_id}}"
    for kind in ("override", "dispute"):
        link(("POST", f"{finding}/{kind}"), "201",
             [("GET", review), ("POST", f"{review}/accept"), ("POST", f"{review}/reject")],
             {"review_id": "$response.body#/review/id"})
        link(("POST", f"{finding}/{kind}"), "201", [("GET", f"{call}/audit"), ("DELETE", call)],
             {"call_id": "$request.path.call_id"})
    link(("POST", f"{p}/packs"), "201",
         [("GET", f"{p}/packs/{{pack_id}}"), ("GET", f"{p}/packs/{{pack_id}}/docs"),
          ("POST", f"{p}/packs/{{pack_id}}/rescore")], {"pack_id": "$response.body#/id"})
    job = f"{p}/jobs/{{job_id}}"
    link(("POST", f"{p}/packs/{{pack_id}}/rescore"), "202", [("GET", job), ("POST", f"{job}/retry")],
         {"job_id": "$response.body#/job_id"})
    webhook = f"{p}/webhooks/{{webhook_id}}"
    link(("POST", f"{p}/webhooks"), "201", [("GET", webhook), ("DELETE", webhook), ("GET", f"{webhook}/deliveries")],
         {"webhook_id": "$response.body#/id"})
    return added


def linked_only(schema_doc: dict[str, Any]) -> None:
    """Keep the operations that create a resource or use one by id: with every endpoint in play, a scenario of a few
    steps rarely follows a link (each operation alone is fuzzed above)."""
    ids = {spec["operationId"]: (method, path) for path, methods in schema_doc["paths"].items()
           for method, spec in methods.items()}
    keep = set()
    for path, methods in schema_doc["paths"].items():
        for method, spec in methods.items():
            for response in spec.get("responses", {}).values():
                for link in response.get("links", {}).values():
                    keep |= {(method, path), ids[link["operationId"]]}
    for path in list(schema_doc["paths"]):
        methods = schema_doc["paths"][path]
        for method in [m for m in methods if (m, path) not in keep]:
            del methods[method]
        if not methods:
            del schema_doc["paths"][path]


def stateful_failures(client: TestClient, schema_doc: dict[str, Any], admin: Headers, agent: Headers,
                      valid_call: dict[str, Any]) -> tuple[list[str], dict[str, set[int]]]:
    """Run the state machine; the 5xx answers it met (and every status seen per operation, to check coverage).

    Creations are steered towards success, or no scenario would get past its first step: a generated transcript
    keeps only its ``call_id`` and ``started_at`` on top of a valid one, and a generated pack keeps only its
    version. Everything else (paths, queries, other bodies) is as schemathesis generates it. Disputes are sent
    as the call's agent, everything else as an admin.
    """
    schema = schemathesis.openapi.from_dict(schema_doc)
    session = ASGIClient(client.app, base_url=BASE_URL)
    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    base = schema.as_state_machine()

    class Machine(base):  # type: ignore[misc, valid-type]
        def before_call(self, case: schemathesis.Case) -> None:
            if case.method == "POST" and case.path == f"{API_PREFIX}/calls" and isinstance(case.body, dict):
                kept = {k: v for k, v in case.body.items() if k in ("call_id", "started_at") and isinstance(v, str)}
                case.body = {**valid_call, **kept}
            elif case.method == "POST" and case.path == f"{API_PREFIX}/packs" and isinstance(case.body, str):
                case.body = VALID_PACK.format(version=f"1.{abs(hash(case.body)) % 10_000}")

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            headers = agent if case.path.endswith("/dispute") else admin
            return {"session": session, "base_url": BASE_URL, "headers": headers}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
            # the generated Authorization header (the schema declares a bearer scheme) gives way to a real key
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            return case.call(**kwargs)

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
            if response.status_code >= 500:
                failures.append(describe(case.operation, "stateful", case, response.status_code, kwargs.get(
                    "headers") or admin) + f"\n    body: {response.text[:300]!r}")

    Machine.run(settings=hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None,
        derandomize=not FUZZ_RANDOM, database=None, suppress_health_check=list(hypothesis.HealthCheck),
        verbosity=hypothesis.Verbosity.quiet))
    return failures, seen


def test_no_server_error_in_linked_sequences(client: TestClient, make_user: Callable[..., Headers]) -> None:
    from .conftest import ZH_TRANSCRIPT

    admin = make_user("root", "admin")
    agent = make_user("alice", "agent", "t1")
    schema_doc = client.get(f"{API_PREFIX}/openapi.json").json()
    assert add_links(schema_doc) >= 15
    linked_only(schema_doc)
    failures, seen = stateful_failures(client, schema_doc, admin, agent, {**ZH_TRANSCRIPT, "agent": "alice"})
    assert not failures, f"{len(failures)} server errors in linked sequences:\n" + "\n".join(failures)
    # the links were followed with real ids: a created call was then read, reviewed, audited or deleted
    assert 201 in seen.get(f"POST {API_PREFIX}/calls", set()), seen
    by_id = {operation for operation, statuses in seen.items()
             if "{call_id}" in operation and any(200 <= status < 300 for status in statuses)}
    assert len(by_id) >= 2, seen
