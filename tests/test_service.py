"""The decision service, driven over HTTP on a real uvicorn server on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import httpx  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from procrules.cli import main  # noqa: E402
from procrules.spec.compile import shipped_processes_dir  # noqa: E402

from .conftest import PROCESSES, SHARED  # noqa: E402
from .service_fixtures import PROCRULES, Server, auth, write_tokens  # noqa: E402
from .store_fixtures import pg_server, pg_url  # noqa: E402, F401

AS_OF = "2026-10-12T09:00:00+08:00"
EXAMPLES = sorted((PROCESSES / "examples").glob("*.json"))
# The shared acceptance cases beside the checkout (CI), or where PROCRULES_ACCEPTANCE_CASES says.
ACCEPTANCE_DIR = Path(os.environ.get("PROCRULES_ACCEPTANCE_CASES", SHARED / "acceptance" / "cases"))
ACCEPTANCE = sorted(ACCEPTANCE_DIR.glob("*.case.json"))


def example(name: str) -> dict[str, Any]:
    return json.loads((PROCESSES / "examples" / f"{name}.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(PROCESSES, root / "processes")
    return root


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    """With tokens, a decision log, small limits, and the folder watched."""
    tokens = write_tokens(work / "tokens.json")
    s = Server(
        [
            "--store",
            str(work / "cases.db"),
            "--processes",
            str(work / "processes"),
            "--tokens",
            str(tokens),
            "--decision-log",
            str(work / "decisions.jsonl"),
            "--mask",
            "$.input.facts.contact_address",
            "--max-body-bytes",
            "200000",
            "--max-batch-lines",
            "20",
            "--refresh-seconds",
            "0",
        ],
        work,
    )
    yield s
    s.stop()


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """No tokens: loopback only; the shipped specs."""
    root = tmp_path_factory.mktemp("local")
    s = Server(
        ["--store", str(root / "cases.db"), "--no-watch"],
        root,
        env={"PROCRULES_TOKENS": ""},
    )
    yield s
    s.stop()


def cli_json(path: Path, as_of: str | None) -> tuple[int, Any]:
    # the shipped specs, as the server under test uses (not ./processes of the checkout)
    args = ["check", str(path), "--format", "json", "--lang", "en"]
    args += ["--processes", str(shipped_processes_dir())]
    if as_of:
        args += ["--as-of", as_of]
    result = CliRunner().invoke(main, args, env={"PROCRULES_PROCESSES": None})
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, None


def _as_of(case: Path) -> str | None:
    expect = case.with_name(case.name.replace(".case.json", ".expect.json"))
    if not expect.exists():
        return AS_OF
    args = json.loads(expect.read_text("utf-8")).get("args", [])
    return args[args.index("--as-of") + 1] if "--as-of" in args else None


# -- check -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES + ACCEPTANCE, ids=lambda p: p.name.removesuffix(".json"))
def test_check_result_is_the_json_of_procrules_check(local: Server, path: Path) -> None:
    as_of = _as_of(path) if path in ACCEPTANCE else AS_OF
    code, expected = cli_json(path, as_of)
    params = {"lang": "en", **({"as_of": as_of} if as_of else {})}
    response = local.client.post("/v1/check", content=path.read_bytes(), params=params)
    if code == 2:
        assert response.status_code in (404, 422), response.text
        assert "result" not in response.json()
        assert response.json()["error"]["problems"]
        return
    assert response.status_code == 200, response.text
    body = response.json()
    if as_of is None:  # judged "now" on both sides: compare all but the instant
        for side in (body["result"], expected):
            side.pop("as_of")
    assert body["result"] == expected
    assert body["spec"]["process"] == expected["process"]
    assert body["spec"]["version"] == expected["process_version"]
    assert len(body["decision_id"]) == 32


def test_check_by_process_in_the_path(local: Server) -> None:
    case = example("water_type_change")
    in_body = local.client.post("/v1/check", json=case, params={"as_of": AS_OF}).json()
    del case["process"]
    in_path = local.client.post(
        "/v1/check/water_type_change", json=case, params={"as_of": AS_OF}
    ).json()
    assert in_body["result"] == in_path["result"]
    assert in_body["spec"] == in_path["spec"]
    status = local.client.get("/v1/status").json()
    assert in_path["spec"]["revision"] == status["revision"]


def test_check_errors(local: Server) -> None:
    c = local.client
    case = example("water_type_change")
    # unknown process, in the path and in the body: 404 with a suggestion
    r = c.post("/v1/check/water_type_chnge", json=case)
    assert r.status_code == 404
    assert r.json()["error"]["problems"][0]["suggestion"] == "water_type_change"
    r = c.post("/v1/check", json={**case, "process": "no_such_flow"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_process"
    # path and body disagree
    r = c.post("/v1/check/account_closure", json=case)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["path"] == "$.process"
    # malformed JSON: line and column
    r = c.post("/v1/check", content=b'{"process": "water_type_change",\n  "customer": }')
    problem = r.json()["error"]["problems"][0]
    assert r.status_code == 422 and (problem["line"], problem["code"]) == (2, "json_syntax")
    # not UTF-8
    assert c.post("/v1/check", content=b"\xff\xfe{}").status_code == 422
    # schema faults, every one, in the requested language
    bad = {**case, "customer": {"type": "company"}, "documents": "id_card_copy"}
    r = c.post("/v1/check", json=bad, params={"lang": "zh"})
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["message"] == "无法判定该案件"
    assert {p["path"] for p in error["problems"]} >= {"$.customer.type", "$.documents"}
    en = c.post("/v1/check", json=bad, headers={"Accept-Language": "en-GB"}).json()["error"]
    assert en["message"] == "the case cannot be judged"
    # bad query values
    r = c.post("/v1/check", json=case, params={"as_of": "yesterday"})
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["path"] == "?as_of"
    assert c.post("/v1/check", json=case, params={"lang": "fr"}).status_code == 422
    # unknown route and method
    assert c.get("/v1/nothing").json()["error"]["code"] == "not_found"
    assert c.get("/v1/check").status_code == 405
    assert c.delete("/v1/specs").json()["error"]["code"] == "method_not_allowed"


def test_explain(local: Server) -> None:
    r = local.client.post(
        "/v1/check",
        json=example("water_type_change"),
        params={"as_of": AS_OF, "explain": "true", "lang": "zh"},
    )
    body = r.json()
    assert r.status_code == 200 and body["result"]["case_id"] == "WT-2026-0042"
    assert "WT-APPROVER" in body["explanation"]


def test_batch_streams_one_line_per_input_line(local: Server) -> None:
    lines = [json.dumps(example(p.stem)) for p in EXAMPLES]
    lines.insert(2, "{broken")
    lines.insert(4, json.dumps({**example("water_type_change"), "process": "nope"}))
    body = ("\n".join(lines) + "\n").encode("utf-8")
    with local.client.stream("POST", "/v1/check:batch", content=body, params={"as_of": AS_OF}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        out = [json.loads(line) for line in r.iter_lines() if line]
    summary = out.pop()["summary"]
    assert [o["line"] for o in out] == list(range(1, len(lines) + 1))
    assert out[2]["error"]["status"] == 422 and out[4]["error"]["status"] == 404
    assert summary == {
        "lines": len(lines),
        "results": len(EXAMPLES),
        "errors": 2,
        "complete": True,
        "revision": out[0]["spec"]["revision"],
    }
    single = local.client.post("/v1/check", content=lines[0], params={"as_of": AS_OF}).json()
    assert out[0]["result"] == single["result"]


@pytest.fixture(scope="module")
def hasty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A time budget of 0.3 s."""
    root = tmp_path_factory.mktemp("hasty")
    s = Server(
        ["--store", str(root / "cases.db"), "--time-budget", "0.3", "--no-watch"],
        root,
        env={"PROCRULES_TOKENS": ""},
    )
    yield s
    s.stop()


def test_limits(server: Server, hasty: Server) -> None:
    c = server.client
    big = {**example("water_type_change"), "note": "x" * 250_000}
    r = c.post("/v1/check", json=big, headers=auth("check"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    lines = "\n".join([json.dumps(example("water_type_change"))] * 21)
    r = c.post("/v1/check:batch", content=lines, headers=auth("check"))
    assert r.status_code == 413 and r.json()["error"]["code"] == "batch_too_large"

    def slow_body() -> Iterator[bytes]:  # a client that stalls past the time budget
        yield b'{"process": "water_type_change", '
        time.sleep(1.0)
        yield b'"customer": {"type": "individual"}}'

    r = hasty.client.post("/v1/check", content=slow_body())
    assert r.status_code == 503 and r.json()["error"]["code"] == "time_budget"


# -- auth --------------------------------------------------------------------------------------


def test_tokens_and_scopes(server: Server) -> None:
    c = server.client
    case = example("water_type_change")
    r = c.post("/v1/check", json=case)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    bad = {"Authorization": "Bearer not-a-token-at-all"}
    assert c.post("/v1/check", json=case, headers=bad).status_code == 401
    assert c.post("/v1/check", json=case, headers=auth("check")).status_code == 200
    assert c.post("/v1/check", json=case, headers=auth("admin")).status_code == 200  # admin: all
    # a check token cannot write or reload; an ingest token cannot check
    assert c.put("/v1/cases/A-1", json=case, headers=auth("check")).status_code == 403
    assert c.post("/v1/specs:reload", headers=auth("check")).status_code == 403
    assert c.post("/v1/check", json=case, headers=auth("ingest")).status_code == 403
    # health, metrics and the API description are open
    for path in ("/health/live", "/health/ready", "/metrics", "/openapi.json", "/docs"):
        assert c.get(path).status_code == 200, path
    assert c.get("/v1/status", headers=auth("check")).json()["auth"] == "tokens"


def test_without_tokens_only_loopback_is_served(local: Server, tmp_path: Path) -> None:
    assert local.client.get("/v1/status").json()["auth"] == "loopback-only"
    refused = subprocess.run(
        [PROCRULES, "serve", "--host", "0.0.0.0", "--store", "x.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PROCRULES_TOKENS": ""},
        timeout=60,
    )
    assert refused.returncode == 2 and "without tokens" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_guard_refuses_remote_clients_without_tokens(tmp_path: Path) -> None:
    from procrules.service.app import Service, ServiceConfig
    from procrules.service.auth import Tokens
    from procrules.store import open_store

    store = open_store(str(tmp_path / "c.db"))
    service = Service(ServiceConfig(watch=False, refresh_seconds=0), store, Tokens([]))
    service.holder.reload("test")
    app = service.app()

    async def call(client: tuple[str, int]) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            return await http.get("/v1/specs")

    import anyio

    assert anyio.run(call, ("10.1.2.3", 5000)).status_code == 403
    assert anyio.run(call, ("127.0.0.1", 5000)).status_code == 200
    store.close()


def test_not_ready_until_a_policy_has_loaded(tmp_path: Path) -> None:
    from procrules.service.app import Service, ServiceConfig
    from procrules.service.auth import Tokens
    from procrules.store import open_store

    store = open_store(str(tmp_path / "c.db"))
    service = Service(ServiceConfig(watch=False, refresh_seconds=0), store, Tokens([]))
    app = service.app()  # no reload yet: nothing to judge by

    async def call() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            return [
                await http.post("/v1/check", json={"process": "water_type_change"}),
                await http.get("/health/ready"),
                await http.get("/health/live"),
            ]

    import anyio

    check, ready, live = anyio.run(call)
    assert check.status_code == 503 and check.json()["error"]["code"] == "not_ready"
    assert ready.status_code == 503 and ready.json()["checks"]["specs"] == "not loaded"
    assert live.status_code == 200
    store.close()


def test_no_stack_trace_reaches_a_client(tmp_path: Path) -> None:
    from procrules.service.app import Service, ServiceConfig
    from procrules.service.auth import Tokens
    from procrules.store import open_store

    class Broken:
        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            if name in ("worklist", "append"):
                raise RuntimeError("secret internal detail /etc/passwd")
            return getattr(self.real, name)

    store = open_store(str(tmp_path / "c.db"))
    service = Service(ServiceConfig(watch=False, refresh_seconds=0), Broken(store), Tokens([]))
    service.holder.reload("test")

    async def call() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=service.app(), client=("127.0.0.1", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            return [
                await http.get("/v1/cases"),
                await http.post("/v1/cases/A/events", json=[{"event": "e", "at": "2026-10-09"}]),
            ]

    import anyio

    for r in anyio.run(call):
        assert r.status_code == 500
        assert r.json()["error"]["code"] == "internal"
        assert "secret" not in r.text and "Traceback" not in r.text
    store.close()


# -- cases -------------------------------------------------------------------------------------


def test_case_data_events_report_and_worklist(server: Server) -> None:
    c = server.client
    ingest, check = auth("ingest"), auth("check")
    case = example("water_type_change")
    case["events"] = case["events"][:1]
    case_id = case["case_id"]
    r = c.put(f"/v1/cases/{case_id}", json=case, headers=ingest)
    assert r.status_code == 201 and r.json()["version"] == 1
    assert [e["status"] for e in r.json()["events"]] == ["appended"]
    again = c.put(f"/v1/cases/{case_id}", json=case, headers=ingest)
    assert again.status_code == 200 and again.json()["created"] is False
    # events: appended, then duplicates; unknown and late ones kept with notes
    events = [
        {"event": "site_verified", "at": "2026-10-08T15:30:00+08:00", "by": "稽查 王五"},
        {"event": "meter_teleported", "at": "2026-10-09T10:00:00+08:00"},
        {"event": "application_received", "at": "2026-09-28T10:00:00+08:00"},
    ]
    r = c.post(f"/v1/cases/{case_id}/events", json={"events": events}, headers=ingest)
    assert r.status_code == 201
    results = r.json()["results"]
    assert [x["notes"] for x in results] == [[], ["unknown_event"], ["out_of_order"]]
    r = c.post(f"/v1/cases/{case_id}/events", json=events, headers=ingest)
    assert r.status_code == 200 and r.json()["duplicates"] == 3
    # Idempotency-Key header; the same key for another event is a conflict
    keyed = [{"event": "change_approved", "at": "2026-10-13T10:00:00+08:00"}]
    headers = {**ingest, "Idempotency-Key": "crm-7781"}
    assert c.post(f"/v1/cases/{case_id}/events", json=keyed, headers=headers).status_code == 201
    assert c.post(f"/v1/cases/{case_id}/events", json=keyed, headers=headers).status_code == 200
    other = [{"event": "customer_data_changed", "at": "2026-10-14T10:00:00+08:00"}]
    r = c.post(f"/v1/cases/{case_id}/events", json=other, headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    # malformed events: every problem with its path
    r = c.post(
        f"/v1/cases/{case_id}/events", json={"events": [{"event": 3, "at": "x"}]}, headers=ingest
    )
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["path"].startswith("$.events")
    # the report from the whole log
    r = c.get(f"/v1/cases/{case_id}", params={"as_of": AS_OF}, headers=check)
    body = r.json()
    assert r.status_code == 200 and body["result"]["case_id"] == case_id
    assert len(body["events"]) == 5
    assert "unknown_event" in {f["code"] for f in body["result"]["findings"]}
    assert body["spec"]["revision"]
    assert c.get("/v1/cases/NO-SUCH", headers=check).status_code == 404
    c.post("/v1/cases/ONLY-EVENTS/events", json=events[:1], headers=ingest)
    assert c.get("/v1/cases/ONLY-EVENTS", headers=check).status_code == 409
    # PUT refusals
    assert (
        c.put("/v1/cases/OTHER", json=example("water_type_change"), headers=ingest).status_code
        == 422
    )
    r = c.put("/v1/cases/X-9", json={**case, "case_id": "X-9", "process": "nope"}, headers=ingest)
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["code"] == "unknown_process"


def test_worklist_pages(server: Server) -> None:
    c = server.client
    for path in EXAMPLES:
        case = json.loads(path.read_text("utf-8"))
        assert c.put(f"/v1/cases/{case['case_id']}", json=case, headers=auth("ingest")).is_success
    seen: list[str] = []
    cursor = None
    while True:
        params = {"status": "breached", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = c.get("/v1/cases", params=params, headers=auth("check")).json()
        assert len(page["items"]) <= 2
        assert all(item["status"] == "breached" for item in page["items"])
        seen += [item["case_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert "NC-2026-0815" in seen and len(seen) == len(set(seen))
    one = c.get("/v1/cases", params={"process": "new_connection"}, headers=auth("check")).json()[
        "items"
    ]
    assert [i["case_id"] for i in one] == ["NC-2026-0815"]
    role = one[0]["roles"][0]
    by_role = c.get("/v1/cases", params={"role": role}, headers=auth("check")).json()["items"]
    assert "NC-2026-0815" in [i["case_id"] for i in by_role]
    for bad in ({"status": "late"}, {"limit": "0"}, {"limit": "x"}, {"cursor": "@@"}):
        r = c.get("/v1/cases", params=bad, headers=auth("check"))
        assert r.status_code == 422, bad


# -- specs, status, health, metrics, docs -----------------------------------------------------


def test_specs_status_health_metrics(server: Server) -> None:
    c = server.client
    specs = c.get("/v1/specs", headers=auth("check"), params={"lang": "zh"}).json()
    assert {s["process"] for s in specs["specs"]} >= {"water_type_change", "new_connection"}
    wt = next(s for s in specs["specs"] if s["process"] == "water_type_change")
    assert wt["name"] == "用水性质变更" and wt["revision"] == specs["revision"]
    detail = c.get("/v1/specs/water_type_change", headers=auth("check")).json()
    assert "WT-APPROVER" in detail["rules"] and detail["deadlines"]
    assert c.get("/v1/specs/nope", headers=auth("check")).status_code == 404
    status = c.get("/v1/status", headers=auth("check")).json()
    revision = status["store"]["schema_revision"]
    assert status["store"]["reachable"] and revision == "0003_outbox_alerts"
    assert status["revision"] == specs["revision"]
    assert c.get("/health/ready").json() == {
        "status": "ok",
        "checks": {"specs": "ok", "store": "ok"},
    }
    c.post("/v1/check", json=example("water_type_change"), headers=auth("check"))
    metrics = c.get("/metrics").text
    assert 'procrules_checks_total{ok="false",process="water_type_change"}' in metrics
    assert "procrules_request_duration_seconds_bucket" in metrics
    assert f'procrules_spec_revision_info{{revision="{status["revision"]}"}} 1.0' in metrics
    doc = c.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert {
        "/v1/check",
        "/v1/check/{process}",
        "/v1/check:batch",
        "/v1/cases/{case_id}/events",
        "/v1/alerts",
        "/v1/silences",
        "/v1/silences/{silence_id}",
    } <= set(doc["paths"])
    assert set(doc["paths"]["/v1/silences"]) == {"get", "post"}
    assert {"CheckResponse", "ErrorResponse", "Case"} <= set(doc["components"]["schemas"])
    page = c.get("/docs", params={"lang": "zh"}).text
    assert "/v1/cases/{case_id}/events" in page and "认证" in page


def test_json_logs_and_a_masked_decision_log(server: Server, work: Path) -> None:
    case = example("water_type_change")
    case["customer"]["name"] = "张三丰"
    case["facts"]["contact_phone"] = "13912345678"
    case["facts"]["contact_address"] = "幸福路 8 号"
    case["events"][0]["note"] = "身份证 11010519491231002X，电话 13812345678"
    r = server.client.post("/v1/check", json=case, headers=auth("check"))
    decision = r.json()["decision_id"]
    lines = (work / "decisions.jsonl").read_text("utf-8").splitlines()
    record = next(json.loads(line) for line in lines if decision in line)
    text = json.dumps(record, ensure_ascii=False)
    for secret in ("张三丰", "13912345678", "11010519491231002X", "13812345678", "幸福路"):
        assert secret not in text
    assert record["input"]["customer"]["name"] == "***"
    assert record["spec_revision"] and record["result"]["case_id"] == "WT-2026-0042"
    assert record["requested_by"] == "counter"
    assert "$.input.customer.name" in record["masked"]
    assert "$.input.facts.contact_address" in record["masked"]
    # the service's own log: one JSON object a line
    logs = [json.loads(line) for line in server.logs().splitlines() if line.startswith("{")]
    assert any(entry.get("msg") == "request" and entry.get("status") == 200 for entry in logs)


# -- reload ------------------------------------------------------------------------------------


def test_reload_good_and_broken_folders_while_requests_run(server: Server, work: Path) -> None:
    spec = work / "processes" / "water_type_change.yaml"
    original = spec.read_text("utf-8")
    c = server.client
    before = c.get("/v1/status", headers=auth("check")).json()["revision"]
    answers: list[tuple[int, str | None, str | None]] = []
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=server.url, timeout=30, headers=auth("check")) as http:
            while not stop.is_set():
                r = http.post("/v1/check", json=example("water_type_change"))
                body = r.json()
                answers.append(
                    (
                        r.status_code,
                        body.get("spec", {}).get("revision"),
                        body.get("result", {}).get("process"),
                    )
                )

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        # a good change, by the API
        spec.write_text(
            original.replace("en: Change of water-use type}", "en: Water-use type change}"), "utf-8"
        )
        r = c.post("/v1/specs:reload", headers=auth("admin"))
        assert r.status_code == 200 and r.json()["changed"] is True
        good = r.json()["revision"]
        assert good != before
        # the stored states of open cases follow the new revision, in the background
        deadline = time.monotonic() + 20
        while True:
            items = c.get("/v1/cases", params={"status": "open"}, headers=auth("check")).json()
            if items["items"] and all(i["spec_revision"] == good for i in items["items"]):
                break
            assert time.monotonic() < deadline, "open cases were not refreshed"
            time.sleep(0.1)
        # a broken folder: refused, the last good set stays, /v1/status says why
        spec.write_text(
            original.replace("id: water_type_change", "id: [water_type_change"), "utf-8"
        )
        r = c.post("/v1/specs:reload", headers=auth("admin"))
        assert r.status_code == 422 and r.json()["error"]["code"] == "reload_failed"
        status = c.get("/v1/status", headers=auth("check")).json()
        assert status["revision"] == good and status["last_reload"]["ok"] is False
        assert (
            "water_type_change.yaml" in json.dumps(status["last_reload"]["problems"])
            or status["last_reload"]["problems"]
        )
        # the watcher sees the folder put right again
        spec.write_text(original, "utf-8")
        deadline = time.monotonic() + 20
        while c.get("/v1/status", headers=auth("check")).json()["revision"] != before:
            assert time.monotonic() < deadline, "the watcher did not reload"
            time.sleep(0.1)
        # SIGHUP reloads too
        server.hup()
        deadline = time.monotonic() + 20
        while '"trigger": "sighup"' not in server.logs():  # the service's log says so
            assert time.monotonic() < deadline, "SIGHUP did not reload"
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
        spec.write_text(original, "utf-8")
    assert answers and all(code == 200 for code, _, _ in answers)
    assert {rev for _, rev, _ in answers} <= {before, good}
    assert all(process == "water_type_change" for _, _, process in answers)
    metrics = c.get("/metrics").text
    assert 'procrules_spec_reload_total{result="error"}' in metrics


# -- the light install -------------------------------------------------------------------------


def test_check_and_the_api_do_not_import_the_server_stack() -> None:
    code = (
        "import sys\n"
        "import procrules\n"
        "from procrules.cli import main\n"
        f"try:\n    main(['check', {str(EXAMPLES[0])!r}, '--format', 'json'])\n"
        "except SystemExit:\n    pass\n"
        "heavy = ('starlette', 'uvicorn', 'msgspec', 'sqlalchemy', 'alembic', 'prometheus_client',"
        " 'watchfiles', 'psycopg', 'httpx')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_serve_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "sys.modules['starlette'] = None\n"
        "from procrules.cli import main\n"
        "main(['serve'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert out.returncode == 2 and "procrules[server]" in out.stderr
    assert "Traceback" not in out.stderr


# -- the OpenAPI document, fuzzed ---------------------------------------------------------------


def test_openapi_fuzz(server: Server) -> None:
    """Bounded schemathesis run over every operation: no 5xx, no answer outside its schema."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import (
        content_type_conformance,
        not_a_server_error,
        response_schema_conformance,
        status_code_conformance,
    )

    @schemathesis.serializer("application/x-ndjson")
    def ndjson(ctx: Any, value: Any) -> bytes:
        return value.encode("utf-8") if isinstance(value, str) else json.dumps(value).encode()

    doc = server.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    schema.config.update(base_url=server.url)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures = []
    operations: set[str] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/v1/specs:reload":
            continue  # reloading is exercised above, and would race the reload test
        operations.add(f"{operation.method.upper()} {operation.path}")

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            case.call_and_validate(headers=auth("admin"), checks=checks)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:2000]}")
    assert len(operations) >= 16
    assert {
        "GET /v1/alerts",
        "GET /v1/silences",
        "POST /v1/silences",
        "DELETE /v1/silences/{silence_id}",
    } <= operations
    assert not failures, "\n\n".join(failures)


# -- two replicas on one PostgreSQL ---------------------------------------------------------


def test_two_replicas_share_a_postgresql_store(tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    """Events sent through two servers at once to the same cases: every one kept, once."""
    replicas = [
        Server(["--store", pg_url, "--no-watch"], tmp_path, env={"PROCRULES_TOKENS": ""})
        for _ in range(2)
    ]
    try:
        case = {**example("water_type_change"), "case_id": "WT-R", "events": []}
        assert replicas[0].client.put("/v1/cases/WT-R", json=case).status_code == 201

        def send(n: int) -> None:
            replica = replicas[n % 2]
            at = f"2026-10-{9 + n % 3:02d}T{9 + n % 8:02d}:{n % 60:02d}:00+08:00"
            events = [{"event": "site_verified", "at": at, "idempotency_key": f"k{n}"}]
            for _ in range(2):  # each request twice, through the same replica
                r = replica.client.post("/v1/cases/WT-R/events", json=events)
                assert r.status_code in (200, 201), r.text

        threads = [threading.Thread(target=send, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        answers = [r.client.get("/v1/cases/WT-R", params={"as_of": AS_OF}).json() for r in replicas]
        assert len(answers[0]["events"]) == 40
        assert answers[0]["result"] == answers[1]["result"]
        assert sorted(e["seq"] for e in answers[0]["events"]) == sorted(
            e["seq"] for e in answers[1]["events"]
        )
    finally:
        for r in replicas:
            r.stop()
