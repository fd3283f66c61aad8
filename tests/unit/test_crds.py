"""The generated CRDs are structural, complete, and identical to the committed files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from slogate.api import CRD_TYPES
from slogate.api.base import Resource
from slogate.api.crd import cel_rules, custom_resource_definition, open_api_schema
from slogate.api.recurrence import CRON_SHAPE_PATTERN, RRULE_SHAPE_PATTERN

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_KEYWORDS_OUTSIDE_OPENAPI = {
    "$ref",
    "$defs",
    "title",
    "anyOf",
    "oneOf",
    "allOf",
    "const",
    "propertyNames",
}


def walk(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema node with its path."""
    found = [(path, node)]
    for name, child in node.get("properties", {}).items():
        found.extend(walk(child, f"{path}.{name}"))
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found.extend(walk(node[key], f"{path}[{key}]"))
    return found


@pytest.fixture(params=CRD_TYPES, ids=lambda model: model.names.kind)
def model(request: pytest.FixtureRequest) -> type[Resource]:
    resource: type[Resource] = request.param
    return resource


def test_schema_is_structural(model: type[Resource]) -> None:
    for path, node in walk(open_api_schema(model)):
        assert not SCHEMA_KEYWORDS_OUTSIDE_OPENAPI & node.keys(), (path, node.keys())
        assert "type" in node, f"{path} has no type"
        assert node.get("additionalProperties") is not False, path
        assert not ("properties" in node and "additionalProperties" in node), path
        if "default" in node:
            assert path in {".spec.window", ".spec.mode", ".spec.timeZone", ".spec.state"}, path
        for bound in ("exclusiveMinimum", "exclusiveMaximum"):
            assert isinstance(node.get(bound, True), bool), path


def test_every_field_is_described(model: type[Resource]) -> None:
    for path, node in walk(open_api_schema(model)):
        if path.count(".") >= 2 and not path.endswith("]") and not path.startswith(".metadata"):
            assert node.get("description"), f"{path} has no description"


def test_no_title_or_ref_anywhere(model: type[Resource]) -> None:
    def keys(node: Any, inside_properties: bool = False) -> set[str]:
        if isinstance(node, list):
            return set().union(*(keys(item) for item in node))
        if not isinstance(node, dict):
            return set()
        own = set() if inside_properties else set(node)
        return own.union(*(keys(value, key == "properties") for key, value in node.items()))

    found = keys(custom_resource_definition(model))
    assert not {"title", "$ref", "$defs"} & found


def test_names_printer_columns_and_status(model: type[Resource]) -> None:
    crd = custom_resource_definition(model)
    names = crd["spec"]["names"]
    assert names["categories"] == ["slogate"]
    assert "slo" not in names["shortNames"], "collides with Pyrra"
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["scope"] == "Namespaced"
    columns = {column["name"]: column for column in version["additionalPrinterColumns"]}
    assert "Age" in columns
    schema = version["schema"]["openAPIV3Schema"]
    for column in columns.values():
        if column["jsonPath"].startswith(".metadata"):
            continue
        node = schema
        for part in column["jsonPath"].strip(".").split("."):
            node = node["properties"][part]
        expected = {"number": "number", "integer": "integer", "boolean": "boolean", "string": "string"}
        assert expected[column["type"]] == node["type"], column


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        ("ServiceLevelObjective", {"Objective", "Budget Left", "Burn Rate", "State"}),
        ("ReleaseGate", {"Verdict", "Mode"}),
        ("ChangeFreeze", {"Active", "Next Change"}),
        ("Incident", {"Severity", "State", "Age"}),
    ],
)
def test_printer_columns_show_what_matters(kind: str, columns: set[str]) -> None:
    model = next(model for model in CRD_TYPES if model.names.kind == kind)
    version = custom_resource_definition(model)["spec"]["versions"][0]
    assert columns <= {column["name"] for column in version["additionalPrinterColumns"]}


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("ServiceLevelObjective", "exists_one"),
        ("ServiceLevelObjective", "self.shortWindow"),
        ("ServiceLevelObjective", "has(self.good) != has(self.errors)"),
        ("ServiceLevelObjective", "self.contains('$window')"),
        ("ChangeFreeze", "self.end > self.start"),
        ("ChangeFreeze", "has(self.rrule) != has(self.cron)"),
        ("ReleaseGate", "self.operator in ['In', 'NotIn']"),
    ],
)
def test_cel_rules_say_what_the_schema_cannot(kind: str, fragment: str) -> None:
    model = next(model for model in CRD_TYPES if model.names.kind == kind)
    assert any(fragment in rule for rule in cel_rules(open_api_schema(model)))


def test_shape_patterns_accept_examples_and_reject_garbage() -> None:
    assert re.match(RRULE_SHAPE_PATTERN, "DTSTART:20241220T000000\nRRULE:FREQ=YEARLY;BYMONTH=12\n")
    assert not re.match(RRULE_SHAPE_PATTERN, "every friday")
    assert not re.match(RRULE_SHAPE_PATTERN, "DTSTART;TZID=Europe/Berlin:20241220T000000\nRRULE:FREQ=YEARLY")
    assert re.match(CRON_SHAPE_PATTERN, "0 16 * * FRI")
    assert not re.match(CRON_SHAPE_PATTERN, "*/5 * * *")


@pytest.mark.parametrize("directory", ["crds", "charts/slogate/crds"])
def test_committed_crds_match_the_models(directory: str) -> None:
    for model in CRD_TYPES:
        path = ROOT / directory / f"{model.names.crd_name}.yaml"
        assert path.exists(), f"{path} missing: run make manifests"
        assert yaml.safe_load(path.read_text()) == custom_resource_definition(model), (
            f"{path} is stale: run make manifests"
        )
