"""Label selectors and the tenancy rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import LabelSelector, WorkloadKind
from slogate.domain.scope import Workload, governs, selector_matches

LABELS = {"app": "checkout", "tier": "web"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({}, True),
        ({"matchLabels": {"app": "checkout"}}, True),
        ({"matchLabels": {"app": "payments"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "api"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"app": "checkout"},
                "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}],
            },
            False,
        ),
    ],
)
def test_selector(selector: dict[str, Any], matches: bool) -> None:
    assert selector_matches(LabelSelector.model_validate(selector), LABELS) is matches


label_maps = st.dictionaries(st.sampled_from(["a", "b", "c"]), st.sampled_from(["x", "y"]))


@given(label_maps, label_maps)
def test_match_labels_is_a_subset_test(required: dict[str, str], labels: dict[str, str]) -> None:
    selector = LabelSelector(match_labels=required)
    assert selector_matches(selector, labels) is (required.items() <= labels.items())


WORKLOAD = Workload(WorkloadKind.DEPLOYMENT, "team-a", "checkout", LABELS, {"tenant": "a"})
TENANT_A = LabelSelector(match_labels={"tenant": "a"})


@pytest.mark.parametrize(
    ("namespace", "namespace_selector", "platform", "governed"),
    [
        ("team-a", None, None, True),
        ("team-b", None, None, False),
        ("team-b", TENANT_A, None, False),  # no platform namespace configured
        ("team-b", TENANT_A, "platform", False),  # a tenant cannot reach another tenant
        ("platform", TENANT_A, "platform", True),
        ("platform", LabelSelector(match_labels={"tenant": "b"}), "platform", False),
        ("platform", None, "platform", False),
    ],
)
def test_tenancy(
    namespace: str, namespace_selector: LabelSelector | None, platform: str | None, governed: bool
) -> None:
    assert governs(namespace, None, namespace_selector, WORKLOAD, platform) is governed


def test_a_missing_selector_selects_all_in_scope_and_a_selector_narrows() -> None:
    assert governs("team-a", None, None, WORKLOAD, None)
    assert not governs("team-a", LabelSelector(match_labels={"app": "x"}), None, WORKLOAD, None)
