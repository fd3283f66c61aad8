"""CustomResourceDefinitions generated from the models, so the API server validates exactly what the
operator does (minus what CEL cannot say: see ``slogate.api.validation``).

pydantic emits JSON Schema (draft 2020-12); the API server wants a *structural* OpenAPI v3 subset.
The translation below: every ``$ref`` is inlined; ``anyOf [X, null]`` of optional fields becomes
plain ``X``, left out of ``required`` and *not* nullable, because the API server prunes explicit
nulls of non-nullable fields (a Helm-rendered ``key: null`` simply disappears) and CEL rules then only
need ``has()``; titles and ``additionalProperties: false`` are dropped (the API server prunes or,
with kubectl's strict field validation, rejects unknown fields); numeric exclusive bounds become the
OpenAPI v3 boolean form; defaults are dropped unless a field is marked as an intended server-side
default (``SERVER_DEFAULT``).
"""

from __future__ import annotations

from typing import Any

from slogate.api.base import CATEGORY, CEL_RULES, GROUP, SERVER_DEFAULT, VERSION, Resource

JsonObject = dict[str, Any]

_DROPPED_KEYS = frozenset({"title", "examples", "$defs"})
_KEY_ORDER = (
    "description",
    "type",
    "format",
    "enum",
    "required",
    "properties",
    "items",
    "additionalProperties",
)


class UnsupportedSchemaError(ValueError):
    """A model uses a construct that has no structural-schema equivalent."""


def _resolve(node: JsonObject, definitions: JsonObject) -> JsonObject:
    """Replace a ``$ref`` or an ``anyOf [X, null]`` node by X, keeping the node's own keys."""
    siblings = {key: value for key, value in node.items() if key not in ("$ref", "anyOf", "allOf")}
    if "$ref" in node:
        name = node["$ref"].removeprefix("#/$defs/")
        return {**_resolve(definitions[name], definitions), **siblings}
    for combinator in ("anyOf", "allOf"):
        if combinator in node:
            variants = [variant for variant in node[combinator] if variant != {"type": "null"}]
            if len(variants) != 1:
                raise UnsupportedSchemaError(f"{combinator} with {len(variants)} non-null variants: {node}")
            return {**_resolve(variants[0], definitions), **siblings}
    return node


def _structural(node: JsonObject, definitions: JsonObject) -> JsonObject:
    resolved = _resolve(node, definitions)
    keep_default = bool(resolved.get(SERVER_DEFAULT))
    result: JsonObject = {}
    for key, value in resolved.items():
        if key in _DROPPED_KEYS or key == SERVER_DEFAULT or (key == "default" and not keep_default):
            continue
        if key == "const":
            result["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            result["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            result[key] = True
        elif key == "properties":
            result[key] = {name: _structural(child, definitions) for name, child in value.items()}
        elif key == "items":
            result[key] = _structural(value, definitions)
        elif key == "additionalProperties":
            if isinstance(value, dict):
                result[key] = _structural(value, definitions)
        elif key in ("oneOf", "not", "prefixItems", "patternProperties", "propertyNames"):
            raise UnsupportedSchemaError(f"{key} cannot be expressed in a structural schema: {resolved}")
        else:
            result[key] = value
    if result.get("type") == "object" and "properties" not in result and "additionalProperties" not in result:
        result["x-kubernetes-preserve-unknown-fields"] = True
    return _ordered(result)


def _ordered(node: JsonObject) -> JsonObject:
    """Put description and type first so the generated YAML reads top-down."""
    first = [key for key in _KEY_ORDER if key in node]
    rest = sorted(key for key in node if key not in _KEY_ORDER)
    return {key: node[key] for key in (*first, *rest)}


def open_api_schema(model: type[Resource]) -> JsonObject:
    """The structural openAPIV3Schema of a resource kind."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    definitions = schema.get("$defs", {})
    properties = schema["properties"]
    return _ordered(
        {
            "description": " ".join((model.__doc__ or "").split()),
            "type": "object",
            "required": ["spec"],
            "properties": {
                "apiVersion": {"description": "The versioned schema of this object.", "type": "string"},
                "kind": {
                    "description": "Kind is the REST resource this object represents.",
                    "type": "string",
                },
                "metadata": {"type": "object"},
                "spec": _structural(properties["spec"], definitions),
                "status": _structural(properties["status"], definitions),
            },
        }
    )


def custom_resource_definition(model: type[Resource]) -> JsonObject:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition of a resource kind."""
    names = model.names
    columns = [
        {
            "name": column.name,
            "type": column.type,
            "jsonPath": column.json_path,
            "description": column.description,
            **({"priority": column.priority} if column.priority else {}),
        }
        for column in names.printer_columns
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": names.crd_name,
            "labels": {"app.kubernetes.io/name": "slogate", "app.kubernetes.io/part-of": "slogate"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": names.kind,
                "listKind": f"{names.kind}List",
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": list(names.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {"openAPIV3Schema": open_api_schema(model)},
                }
            ],
        },
    }


def cel_rules(schema: JsonObject) -> list[str]:
    """Every CEL rule in a schema, for tests and reviews."""
    found: list[str] = [rule["rule"] for rule in schema.get(CEL_RULES, [])]
    for child in schema.get("properties", {}).values():
        found.extend(cel_rules(child))
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found.extend(cel_rules(schema[key]))
    return found
