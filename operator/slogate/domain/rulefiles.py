"""The SLOs' recording rules as they are delivered: a Prometheus rule file, a PrometheusRule object
per SLO, and the key of a ConfigMap.

``slogate.domain.recording`` says what one SLO's rule group is; this module packs groups for the
three ways users load them (docs/recording-rules.md), so the CLI and the operator print and write
byte-for-byte the same rules: groups sorted by namespace and name, YAML without line folding, so
an unchanged set of SLOs gives an unchanged file and nothing is rewritten or reloaded for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from slogate.api.base import GROUP, VERSION
from slogate.api.slo import ServiceLevelObjective
from slogate.api.validation import InvalidResourceError, parse_resource
from slogate.domain.recording import rule_group, rule_group_name

RULES_KEY = "slogate-rules.yaml"
"""The ConfigMap key holding the rule file (mount it and list it in Prometheus' rule_files)."""
PROMETHEUS_RULE_API_VERSION = "monitoring.coreos.com/v1"
PROMETHEUS_RULE_KIND = "PrometheusRule"
PROMETHEUS_RULE_PREFIX = "slogate-"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "slogate"

SloKey = tuple[str, str]
"""An SLO's namespace and name: the order of the groups in a rule file."""


@dataclass(frozen=True)
class SkippedSlo:
    """An SLO that gets no rules because its spec is invalid, and why."""

    namespace: str
    name: str
    problem: str

    def __str__(self) -> str:
        return f"skipped ServiceLevelObjective {self.namespace}/{self.name}: {self.problem}"


def groups_of(bodies: Iterable[Mapping[str, Any]]) -> tuple[dict[SloKey, dict[str, Any]], list[SkippedSlo]]:
    """The rule group of every valid SLO among raw bodies, and the invalid ones with their problems."""
    groups: dict[SloKey, dict[str, Any]] = {}
    skipped: list[SkippedSlo] = []
    for body in bodies:
        metadata = body.get("metadata") or {}
        namespace, name = str(metadata.get("namespace", "")), str(metadata.get("name", ""))
        try:
            slo = parse_resource(body)
        except InvalidResourceError as error:
            skipped.append(SkippedSlo(namespace, name, "; ".join(str(problem) for problem in error.problems)))
            continue
        if isinstance(slo, ServiceLevelObjective):
            groups[(namespace, name)] = rule_group(namespace, name, slo.spec.indicator).as_dict()
    return groups, sorted(skipped, key=lambda each: (each.namespace, each.name))


def rule_file(groups: Mapping[SloKey, Mapping[str, Any]]) -> dict[str, Any]:
    """A Prometheus rule file: one group per SLO, sorted by namespace and name."""
    return {"groups": [dict(groups[key]) for key in sorted(groups)]}


def render_yaml(document: Mapping[str, Any]) -> str:
    """Deterministic YAML: keys in the order given, long PromQL never folded across lines."""
    text: str = yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=1 << 16)
    return text


def config_map_data(groups: Mapping[SloKey, Mapping[str, Any]]) -> dict[str, str]:
    return {RULES_KEY: render_yaml(rule_file(groups))}


def groups_in_config_map(data: Mapping[str, str]) -> dict[SloKey, dict[str, Any]]:
    """The groups a ConfigMap written by slogate holds, by SLO; nothing from one it did not write."""
    try:
        document = yaml.safe_load(data.get(RULES_KEY) or "")
    except yaml.YAMLError:
        return {}
    groups = document.get("groups") if isinstance(document, dict) else None
    found: dict[SloKey, dict[str, Any]] = {}
    for group in groups if isinstance(groups, list) else []:
        parts = str(group.get("name", "")).split("/") if isinstance(group, dict) else []
        if len(parts) == 3 and rule_group_name(parts[1], parts[2]) == group["name"]:
            found[(parts[1], parts[2])] = group
    return found


def prometheus_rule_name(slo_name: str) -> str:
    return f"{PROMETHEUS_RULE_PREFIX}{slo_name}"


def prometheus_rule(
    namespace: str, name: str, uid: str, group: Mapping[str, Any], labels: Mapping[str, str]
) -> dict[str, Any]:
    """The PrometheusRule of one SLO: its group, the labels a ruleSelector picks, and the SLO as
    controlling owner so the garbage collector deletes it with the SLO. blockOwnerDeletion is false:
    deleting an SLO never waits on its rules (and needs no finalizer permission)."""
    return {
        "apiVersion": PROMETHEUS_RULE_API_VERSION,
        "kind": PROMETHEUS_RULE_KIND,
        "metadata": {
            "name": prometheus_rule_name(name),
            "namespace": namespace,
            "labels": {**labels, MANAGED_BY_LABEL: MANAGED_BY},
            "ownerReferences": [
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": ServiceLevelObjective.names.kind,
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": {"groups": [dict(group)]},
    }


def prometheus_rule_differs(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether writing ``desired`` would change ``existing`` (as read from the API server, with
    fields slogate does not set): its groups, one of slogate's labels, or its owner."""
    metadata, wanted = existing.get("metadata") or {}, desired["metadata"]
    labels = metadata.get("labels") or {}
    owners = [
        {
            key: owner.get(key)
            for key in ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
        }
        for owner in metadata.get("ownerReferences") or []
    ]
    return (
        existing.get("spec") != desired["spec"]
        or any(labels.get(key) != value for key, value in wanted["labels"].items())
        or owners != wanted["ownerReferences"]
    )
