"""Label selectors and the tenancy rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import LabelSelector, WorkloadKind
from slogate.domain.scope import Workload, governs, selector_matches, selectors_disjoint

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


def selector(**spec: Any) -> LabelSelector:
    return LabelSelector.model_validate(spec)


def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


@pytest.mark.parametrize(
    ("selectors", "disjoint"),
    [
        ((selector(matchLabels={"app": "a"}), selector(matchLabels={"app": "b"})), True),
        ((selector(matchLabels={"app": "a"}), selector(matchLabels={"tier": "web"})), False),
        ((selector(matchLabels={"app": "a"}), selector()), False),
        (
            (
                selector(matchLabels={"app": "a"}),
                selector(matchExpressions=[expression("app", "In", "a", "b")]),
            ),
            False,
        ),
        (
            (
                selector(matchLabels={"app": "c"}),
                selector(matchExpressions=[expression("app", "In", "a", "b")]),
            ),
            True,
        ),
        (
            (
                selector(matchLabels={"app": "a"}),
                selector(matchExpressions=[expression("app", "NotIn", "a")]),
            ),
            True,
        ),
        (
            (
                selector(matchExpressions=[expression("app", "In", "a")]),
                selector(matchExpressions=[expression("app", "In", "b")]),
            ),
            True,
        ),
        (
            (
                selector(
                    matchExpressions=[expression("app", "In", "a", "b"), expression("app", "NotIn", "a")]
                ),
            ),
            False,
        ),
        ((selector(matchExpressions=[expression("app", "In", "a"), expression("app", "NotIn", "a")]),), True),
        (
            (
                selector(matchLabels={"app": "a"}),
                selector(matchExpressions=[expression("app", "DoesNotExist")]),
            ),
            True,
        ),
        (
            (
                selector(matchExpressions=[expression("app", "Exists")]),
                selector(matchExpressions=[expression("app", "DoesNotExist")]),
            ),
            True,
        ),
        (
            (
                selector(matchExpressions=[expression("app", "NotIn", "a")]),
                selector(matchExpressions=[expression("app", "DoesNotExist")]),
            ),
            False,
        ),
        ((), False),
    ],
    ids=[
        "same key, other value",
        "different keys",
        "the empty selector",
        "value among In",
        "value outside In",
        "value NotIn",
        "In sets apart",
        "In minus NotIn leaves one",
        "In minus NotIn leaves none",
        "value and DoesNotExist",
        "Exists and DoesNotExist",
        "NotIn and DoesNotExist (absent is fine)",
        "no selector",
    ],
)
def test_selectors_disjoint(selectors: tuple[LabelSelector, ...], disjoint: bool) -> None:
    assert selectors_disjoint(*selectors) is disjoint


KEYS, VALUES = st.sampled_from(["app", "tier"]), st.sampled_from(["a", "b", "c"])
REQUIREMENTS = st.one_of(
    st.builds(lambda key, values: expression(key, "In", *values), KEYS, st.sets(VALUES, min_size=1)),
    st.builds(lambda key, values: expression(key, "NotIn", *values), KEYS, st.sets(VALUES, min_size=1)),
    st.builds(lambda key: expression(key, "Exists"), KEYS),
    st.builds(lambda key: expression(key, "DoesNotExist"), KEYS),
)
SELECTORS = st.builds(
    lambda labels, expressions: selector(matchLabels=labels or None, matchExpressions=expressions or None),
    st.dictionaries(KEYS, VALUES, max_size=2),
    st.lists(REQUIREMENTS, max_size=3),
)
LABEL_SETS = [
    {key: value for key, value in (("app", app), ("tier", tier)) if value is not None}
    for app in ("a", "b", "c", "other", None)
    for tier in ("a", "b", "c", "other", None)
]


@given(st.lists(SELECTORS, min_size=1, max_size=3))
def test_disjoint_exactly_when_no_labels_match_them_all(selectors: list[LabelSelector]) -> None:
    """Over every label set that can tell these selectors apart (each key absent, one of their
    values, or another value), some matches them all exactly when they are not disjoint."""
    shared = any(all(selector_matches(each, labels) for each in selectors) for labels in LABEL_SETS)
    assert selectors_disjoint(*selectors) is not shared
