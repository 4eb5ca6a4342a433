"""The JSON Schemas are valid draft 2020-12, and the reference validator agrees with the fast one
the engine uses (jsonschema-rs) on the shipped specs and cases."""

from __future__ import annotations

import json

import jsonschema
import pytest

from procrules.source import load_yaml

from .conftest import PROCESSES, ROOT

SCHEMAS = ROOT / "schemas"


@pytest.mark.parametrize("name", ["process.schema.json", "application.schema.json"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / name).read_text("utf-8")))


def test_every_shipped_spec_is_valid_under_the_reference_validator() -> None:
    schema = json.loads((SCHEMAS / "process.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    specs = [
        p
        for p in PROCESSES.glob("*.yaml")
        if p.stem not in {"catalog", "tariff", "rules", "calendar", "alerts"}
    ]
    assert len(specs) == 7
    for path in specs:
        assert list(validator.iter_errors(load_yaml(path).data)) == [], path.name


def test_every_example_case_is_valid_and_bad_ones_are_not() -> None:
    schema = json.loads((SCHEMAS / "application.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in (PROCESSES / "examples").glob("*.json"):
        assert validator.is_valid(json.loads(path.read_text("utf-8"))), path.name
    bad = {
        "process": "new_connection",
        "customer": {"type": "unit", "arrears": "-1"},
        "events": [{"event": "x", "at": "yesterday"}],
    }
    paths = sorted("/".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad))
    assert paths == ["customer/arrears", "events/0/at"]


def test_the_shipped_alerts_yaml_is_valid_under_the_reference_validator() -> None:
    schema = json.loads((SCHEMAS / "alerts.schema.json").read_text("utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(load_yaml(PROCESSES / "alerts.yaml").data)) == []
