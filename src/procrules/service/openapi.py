"""The OpenAPI document of the service, from the msgspec types the handlers answer with, and a
page people can read (rendered from the same document, no script, no outside resources)."""

from __future__ import annotations

import html
import json
from typing import Any

from .. import __version__
from .types import schema_components

JSON = "application/json"


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answer(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(name)}}}


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        401: "No valid bearer token",
        403: "The token lacks the scope (or, without tokens, the client is not local)",
        404: "Unknown process or case",
        409: "Conflict (idempotency key reused; case without data)",
        413: "Body or batch too large",
        422: "Malformed input: the problems name JSON paths",
        503: "Not ready, or the time budget ran out",
    }
    return {str(s): _answer("ErrorResponse", words[s]) for s in statuses}


def _query(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _path(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    }


AS_OF = _query(
    "as_of", "Judge as at this time (ISO 8601; no offset = Asia/Shanghai). Default: now."
)
LANG = _query("lang", "Language of messages and labels.", type="string", enum=["zh", "en"])
CASE_BODY = {
    "required": True,
    "description": "The application (case) JSON exactly as `procrules check` reads it "
    "(schemas/application.schema.json).",
    "content": {JSON: {"schema": _ref("Case")}},
}


def case_components() -> dict[str, Any]:
    """The shipped application schema as OpenAPI components (Case, and its $defs as Case_*)."""
    from ..spec.compile import shipped_schema

    schema = json.loads(json.dumps(shipped_schema("application.schema.json")))
    defs = schema.pop("$defs", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return {"$ref": "#/components/schemas/Case_" + ref.rsplit("/", 1)[-1]}
            return {k: rewrite(v) for k, v in node.items()}
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    out = {"Case": rewrite(schema)}
    out.update({f"Case_{name}": rewrite(d) for name, d in defs.items()})
    return out


AUTH = {"check": [{"bearer": ["check"]}], "ingest": [{"bearer": ["ingest"]}]}


def openapi_document() -> dict[str, Any]:
    components = {**schema_components(), **case_components()}
    check_op = {
        "summary": "Judge one case",
        "description": "Answers the report of CONTRACT.md under `result`, a decision id, and "
        "the spec (process, version, revision) it was judged by. Never a 200 without a result.",
        "parameters": [
            AS_OF,
            LANG,
            _query("explain", "Add the reasoning as text.", type="boolean"),
        ],
        "requestBody": CASE_BODY,
        "responses": {
            "200": _answer("CheckResponse", "The verdict"),
            **_errors(401, 403, 404, 413, 422, 503),
        },
        "security": AUTH["check"],
    }
    paths: dict[str, Any] = {
        "/v1/check": {"post": {**check_op, "operationId": "check"}},
        "/v1/check/{process}": {
            "post": {
                **check_op,
                "operationId": "checkProcess",
                "summary": "Judge one case of a named process",
                "parameters": [_path("process", "Process id"), *check_op["parameters"]],
            }
        },
        "/v1/check:batch": {
            "post": {
                "operationId": "checkBatch",
                "summary": "Judge many cases: JSON Lines in, JSON Lines out (streamed)",
                "description": 'One BatchLine per input line, in order, then {"summary": '
                "BatchSummary}. The batch is judged by one revision.",
                "parameters": [AS_OF, LANG],
                "requestBody": {
                    "required": True,
                    "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                },
                "responses": {
                    "200": {
                        "description": "JSON Lines of BatchLine, then the summary",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    },
                    **_errors(401, 403, 413, 422, 503),
                },
                "security": AUTH["check"],
            }
        },
        "/v1/cases": {
            "get": {
                "operationId": "worklist",
                "summary": "The worklist: cases by urgency, paged",
                "parameters": [
                    _query(
                        "status",
                        "Only cases in this state.",
                        type="string",
                        enum=[
                            "breached",
                            "at_risk",
                            "running",
                            "open",
                            "closed",
                            "invalid",
                            "incomplete",
                        ],
                    ),
                    _query("process", "Only cases of this process."),
                    _query("role", "Only cases whose next step falls to this role."),
                    _query("limit", "Page size.", type="integer", minimum=1, maximum=500),
                    _query("cursor", "next_cursor of the previous page."),
                    AS_OF,
                    LANG,
                ],
                "responses": {
                    "200": _answer("WorklistPage", "A page"),
                    **_errors(401, 403, 422, 503),
                },
                "security": AUTH["check"],
            }
        },
        "/v1/cases/{case_id}": {
            "get": {
                "operationId": "getCase",
                "summary": "A case's report at as_of, computed from its whole event log",
                "parameters": [_path("case_id", "Case id"), AS_OF, LANG],
                "responses": {
                    "200": _answer("CaseResponse", "The case"),
                    **_errors(401, 403, 404, 409, 422, 503),
                },
                "security": AUTH["check"],
            },
            "put": {
                "operationId": "putCase",
                "summary": "Record the case's data (a new version when it changed); events in "
                "the body are appended as by POST .../events",
                "parameters": [_path("case_id", "Case id"), LANG],
                "requestBody": CASE_BODY,
                "responses": {
                    "200": _answer("CaseDataResponse", "Unchanged: the same data is current"),
                    "201": _answer("CaseDataResponse", "A new data version"),
                    **_errors(401, 403, 409, 413, 422, 503),
                },
                "security": AUTH["ingest"],
            },
        },
        "/v1/cases/{case_id}/events": {
            "post": {
                "operationId": "appendEvents",
                "summary": "Append events, each at most once by its idempotency key",
                "description": "An event unknown to the flow or earlier than one already logged "
                "is appended and reported in its notes, never dropped. Header Idempotency-Key "
                "gives keys KEY:index to events without their own.",
                "parameters": [
                    _path("case_id", "Case id"),
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 180},
                    },
                    LANG,
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("EventsRequest")}},
                },
                "responses": {
                    "200": _answer("EventsResponse", "All already stored"),
                    "201": _answer("EventsResponse", "Appended"),
                    **_errors(401, 403, 409, 413, 422, 503),
                },
                "security": AUTH["ingest"],
            }
        },
        "/v1/specs": {
            "get": {
                "operationId": "specs",
                "summary": "The processes in force, with the revision",
                "parameters": [LANG],
                "responses": {
                    "200": _answer("SpecList", "The specs"),
                    **_errors(401, 403, 422, 503),
                },
                "security": AUTH["check"],
            }
        },
        "/v1/specs/{process}": {
            "get": {
                "operationId": "spec",
                "summary": "One process: version, events, deadlines, rules, revision",
                "parameters": [_path("process", "Process id"), LANG],
                "responses": {
                    "200": _answer("SpecDetail", "The spec"),
                    **_errors(401, 403, 404, 422, 503),
                },
                "security": AUTH["check"],
            }
        },
        "/v1/specs:reload": {
            "post": {
                "operationId": "reloadSpecs",
                "summary": "Reload the specs folder: swapped only when the whole set loads",
                "parameters": [LANG],
                "responses": {
                    "200": _answer("ReloadResponse", "Loaded (changed or not)"),
                    **_errors(401, 403, 422),
                },
                "security": [{"bearer": ["admin"]}],
            }
        },
        "/v1/status": {
            "get": {
                "operationId": "status",
                "summary": "Revision, last reload and why it failed, store, auth mode",
                "parameters": [LANG],
                "responses": {"200": _answer("Status", "Status"), **_errors(401, 403, 422)},
                "security": AUTH["check"],
            }
        },
        "/v1/alerts": {
            "get": {
                "operationId": "alerts",
                "summary": "The SLA cards (alert instances), most recently changed first",
                "parameters": [
                    _query(
                        "state",
                        "active (default: not resolved), or one state.",
                        type="string",
                        enum=["active", "firing", "silenced", "inhibited", "resolved"],
                    ),
                    _query("case_id", "Only this case's cards."),
                ],
                "responses": {
                    "200": _answer("AlertList", "The cards"),
                    **_errors(401, 403, 422),
                },
                "security": AUTH["check"],
            }
        },
        "/v1/silences": {
            "get": {
                "operationId": "silences",
                "summary": "Every silence, active, ended or not yet started",
                "responses": {
                    "200": _answer("SilenceList", "The silences"),
                    **_errors(401, 403),
                },
                "security": AUTH["check"],
            },
            "post": {
                "operationId": "addSilence",
                "summary": "Mute the cards whose labels match, from starts_at (default now) "
                "to ends_at",
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("SilenceRequest")}},
                },
                "responses": {
                    "201": _answer("SilenceOut", "The silence, with its id"),
                    **_errors(401, 403, 422),
                },
                "security": [{"bearer": ["admin"]}],
            },
        },
        "/v1/silences/{silence_id}": {
            "delete": {
                "operationId": "expireSilence",
                "summary": "End a silence now",
                "parameters": [_path("silence_id", "The silence's id")],
                "responses": {
                    "204": {"description": "Ended"},
                    **_errors(401, 403),
                    "404": _answer("ErrorResponse", "No such silence, or it has ended"),
                },
                "security": [{"bearer": ["admin"]}],
            }
        },
        "/health/live": {
            "get": {
                "operationId": "live",
                "summary": "The process is up",
                "responses": {"200": _answer("Health", "Up")},
                "security": [],
            }
        },
        "/health/ready": {
            "get": {
                "operationId": "ready",
                "summary": "Specs loaded and store reachable",
                "responses": {
                    "200": _answer("Health", "Ready"),
                    "503": _answer("Health", "Not ready"),
                },
                "security": [],
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                "security": [],
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "procrules decision service",
            "version": __version__,
            "description": "Checks service-desk cases against the process specs, keeps each "
            "case's event log, and answers worklists. Every answer names the spec revision.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def api_page(lang: str) -> str:
    """A readable page of the API, from the OpenAPI document."""
    doc = openapi_document()
    zh = lang == "zh"
    esc = html.escape
    parts = [
        "<!doctype html><html lang='{}'><head><meta charset='utf-8'>".format("zh" if zh else "en"),
        f"<title>{esc(doc['info']['title'])}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "code{background:#f3f3f3;padding:0 .2rem}h2{border-top:1px solid #ddd;padding-top:1rem}"
        ".m{font-weight:bold;display:inline-block;min-width:4rem}</style></head><body>",
        f"<h1>{esc(doc['info']['title'])} {esc(doc['info']['version'])}</h1>",
        f"<p>{esc(doc['info']['description'])}</p>",
        "<p>"
        + (
            "机器可读文档：<a href='/openapi.json'>/openapi.json</a>。认证：<code>Authorization: "
            "Bearer 令牌</code>（权限 check / ingest / admin）。"
            if zh
            else "Machine-readable: <a href='/openapi.json'>/openapi.json</a>. Auth: "
            "<code>Authorization: Bearer TOKEN</code> (scopes check / ingest / admin)."
        )
        + "</p>",
    ]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            parts.append(
                f"<h2><span class='m'>{method.upper()}</span> <code>{esc(path)}</code></h2>"
            )
            parts.append(f"<p>{esc(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<ul>")
                for p in params:
                    parts.append(
                        f"<li><code>{esc(p['name'])}</code> ({esc(p['in'])}): "
                        f"{esc(p.get('description', ''))}</li>"
                    )
                parts.append("</ul>")
            answers = ", ".join(
                f"{status} {esc(r['description'])}" for status, r in op["responses"].items()
            )
            parts.append(f"<p><small>{answers}</small></p>")
    parts.append("</body></html>")
    return "".join(parts)
