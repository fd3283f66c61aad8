"""hold_at_admission: which writes are deploys, which holds catch them, and what the write gains.

The same table runs against the real API server's MutatingAdmissionPolicy in
tests/integration/test_admission_policy.py, so the CEL and this function cannot drift apart."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.admission_cases import CASES, HOLDS, AdmissionCase
from slogate.api.base import LabelSelector
from slogate.api.holdset import HoldRule
from slogate.domain.admission import hold_at_admission, matching_holds
from slogate.domain.scope import selector_matches


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_the_decision_table(case: AdmissionCase) -> None:
    hold = hold_at_admission(case.operation, case.old, case.new, HOLDS)
    assert (hold is not None) == case.held
    if hold is not None:
        assert [rule.source for rule in hold.holds] == case.sources
        assert hold.annotations["slogate.dev/held"] == "true"
        assert hold.annotations["slogate.dev/held-by"] == "admission"
        caught = [rule for rule in HOLDS if rule.source in case.sources]
        assert hold.annotations["slogate.dev/held-since"] == caught[0].since.isoformat().replace(
            "+00:00", "Z"
        )
        assert hold.annotations["slogate.dev/reason"] == "; ".join(rule.message for rule in caught)


labels = st.dictionaries(
    st.sampled_from(["app", "tier", "team"]), st.sampled_from(["web", "api", "infra"]), max_size=3
)
requirements = st.lists(
    st.one_of(
        st.builds(
            lambda key, values: {"key": key, "operator": "In", "values": values},
            st.sampled_from(["app", "tier"]),
            st.lists(st.sampled_from(["web", "api", "infra"]), min_size=1, max_size=2),
        ),
        st.builds(
            lambda key, values: {"key": key, "operator": "NotIn", "values": values},
            st.sampled_from(["app", "tier"]),
            st.lists(st.sampled_from(["web", "api", "infra"]), min_size=1, max_size=2),
        ),
        st.builds(lambda key: {"key": key, "operator": "Exists"}, st.sampled_from(["app", "team"])),
        st.builds(lambda key: {"key": key, "operator": "DoesNotExist"}, st.sampled_from(["app", "team"])),
    ),
    max_size=2,
)


@given(
    labels,
    st.dictionaries(st.sampled_from(["app", "tier"]), st.sampled_from(["web", "api"]), max_size=1),
    requirements,
)
def test_a_hold_matches_exactly_the_workloads_its_selector_selects(
    workload_labels: dict[str, str], match_labels: dict[str, str], expressions: list[dict[str, Any]]
) -> None:
    selector = {"matchLabels": match_labels, "matchExpressions": expressions}
    rule = HoldRule.model_validate(
        {"source": "ChangeFreeze/f", "message": "m", "since": "2026-11-22T10:00:00Z", "match": [selector]}
    )
    expected = selector_matches(LabelSelector.model_validate(selector), workload_labels)
    assert bool(matching_holds([rule], workload_labels, "")) == expected
    exempting = rule.model_copy(update={"match": [], "unless": rule.match})
    assert bool(matching_holds([exempting], workload_labels, "")) == (not expected)
