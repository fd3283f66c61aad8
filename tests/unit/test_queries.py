"""Resolved PromQL per indicator kind."""

from __future__ import annotations

from typing import Any

import pytest

from slogate.api.slo import Indicator
from slogate.domain.queries import ResolvedQueries, resolve_queries


@pytest.mark.parametrize(
    ("indicator", "expected"),
    [
        (
            {"ratio": {"errors": "sum(rate(e[$window]))", "total": "sum(rate(t[$window]))"}},
            ResolvedQueries("(sum(rate(e[5m]))) / (sum(rate(t[5m])))", "sum(rate(t[5m]))"),
        ),
        (
            {"ratio": {"good": "sum(rate(g[$window]))", "total": "sum(rate(t[$window]))"}},
            ResolvedQueries("1 - ((sum(rate(g[5m]))) / (sum(rate(t[5m]))))", "sum(rate(t[5m]))"),
        ),
        (
            {"latency": {"metric": "http_duration_seconds", "matchers": 'job="a"', "threshold": "0.3"}},
            ResolvedQueries(
                '1 - (sum(rate(http_duration_seconds_bucket{job="a",le="0.3"}[5m])) / '
                'sum(rate(http_duration_seconds_count{job="a"}[5m])))',
                'sum(rate(http_duration_seconds_count{job="a"}[5m]))',
            ),
        ),
        (
            {"latency": {"metric": "h", "threshold": "1"}},
            ResolvedQueries(
                '1 - (sum(rate(h_bucket{le="1"}[5m])) / sum(rate(h_count{}[5m])))', "sum(rate(h_count{}[5m]))"
            ),
        ),
        ({"errorRatio": {"query": 'ratio:5m{w="$window"}'}}, ResolvedQueries('ratio:5m{w="5m"}', None)),
        (
            {"errorRatio": {"query": "r[$window]", "requestRate": "q[$window]"}},
            ResolvedQueries("r[5m]", "q[5m]"),
        ),
    ],
)
def test_resolve(indicator: dict[str, Any], expected: ResolvedQueries) -> None:
    assert resolve_queries(Indicator.model_validate(indicator), "5m") == expected
