"""The PromQL syntax check the models run: real grammar errors refused, Prometheus' own choices left
to Prometheus."""

from __future__ import annotations

import pytest

from slogate.api.promql import promql_syntax_error, require_window_query


@pytest.mark.parametrize(
    "query",
    [
        'sum(rate(http_requests_total{code=~"5.."}[$window]))',
        "sum(rate(http_requests_total[$window])) by (route)",
        "1 - sum(rate(ok[$window])) / sum(rate(all[$window]))",
        "histogram_quantile(0.99, sum by (le) (rate(h_bucket[$window])))",
        "max_over_time(up[$window:1m] offset 5m)",
        'sum(rate(x[$window])) / on() group_left sum(rate(y{job="a",}[$window]))',
        # Function names are Prometheus' to judge: this one is valid before 3.0, unknown to the parser.
        "holt_winters(x[$window], 0.5, 0.5)",
    ],
)
def test_valid_window_queries_pass(query: str) -> None:
    assert promql_syntax_error(query) is None
    assert require_window_query(query) == query


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("sum(rate(x[$window])", "unclosed left parenthesis"),
        ("rate(x)", "expected type matrix"),
        ("sum(rate(x[$window])) +", "invalid promql query"),
        ('x{a=~"b"', ""),
        ("", ""),
    ],
)
def test_syntax_errors_are_named(query: str, fragment: str) -> None:
    problem = promql_syntax_error(query)
    assert problem is not None
    assert fragment in problem


def test_a_window_query_needs_the_placeholder_before_its_syntax_is_judged() -> None:
    with pytest.raises(ValueError, match=r"must contain the \$window placeholder"):
        require_window_query("sum(rate(x[5m])")
