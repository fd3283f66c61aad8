"""Recording rules of an SLO, the queries that read them, and why a ratio of their sums is the raw one."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slogate.api.slo import Indicator
from slogate.domain.recording import (
    ERRORS_RECORD,
    REQUESTS_RECORD,
    covers,
    history_from_samples,
    history_query,
    indicator_fingerprint,
    is_long_window,
    recorded_queries,
    rule_group,
    subquery_queries,
)

ERRORS = 'sum(rate(http_requests_total{code=~"5.."}[$window]))'
GOOD = 'sum(rate(http_requests_total{code!~"5.."}[$window]))'
TOTAL = "sum(rate(http_requests_total[$window]))"


def indicator(spec: dict[str, Any]) -> Indicator:
    return Indicator.model_validate(spec)


@pytest.mark.parametrize(
    ("spec", "errors", "total"),
    [
        (
            {"ratio": {"errors": ERRORS, "total": TOTAL}},
            'sum(rate(http_requests_total{code=~"5.."}[5m]))',
            "sum(rate(http_requests_total[5m]))",
        ),
        (
            {"ratio": {"good": GOOD, "total": TOTAL}},
            '(sum(rate(http_requests_total[5m]))) - (sum(rate(http_requests_total{code!~"5.."}[5m])))',
            "sum(rate(http_requests_total[5m]))",
        ),
        (
            {"latency": {"metric": "http_duration_seconds", "matchers": 'job="a"', "threshold": "0.3"}},
            'sum(rate(http_duration_seconds_count{job="a"}[5m])) - '
            'sum(rate(http_duration_seconds_bucket{job="a",le="0.3"}[5m]))',
            'sum(rate(http_duration_seconds_count{job="a"}[5m]))',
        ),
        (
            {"errorRatio": {"query": "sum(rate(e[$window])) / sum(rate(t[$window]))", "requestRate": TOTAL}},
            "((sum(rate(e[5m])) / sum(rate(t[5m]))) >= 0) * (sum(rate(http_requests_total[5m])))",
            "sum(rate(http_requests_total[5m]))",
        ),
        (
            {"errorRatio": {"query": "ratio_rate[$window]"}},
            "(ratio_rate[5m]) >= 0",
            "((ratio_rate[5m]) >= 0) * 0 + 1",
        ),
    ],
    ids=["errors-total", "good-total", "latency", "error-ratio-with-rate", "bare-error-ratio"],
)
def test_each_indicator_records_its_bad_and_all_events(spec: dict[str, Any], errors: str, total: str) -> None:
    group = rule_group("shop", "checkout", indicator(spec))
    assert group.name == "slogate/shop/checkout"
    assert group.as_dict()["interval"] == "1m"
    assert [(rule.record, rule.expr) for rule in group.rules] == [
        (ERRORS_RECORD, errors),
        (REQUESTS_RECORD, total),
    ]
    labels = {rule.labels["slogate_slo"] for rule in group.rules}
    assert labels == {"checkout"}
    assert {rule.labels["slogate_namespace"] for rule in group.rules} == {"shop"}


def test_the_fingerprint_follows_the_indicator_not_its_spelling_in_the_object() -> None:
    one = indicator({"ratio": {"errors": ERRORS, "total": TOTAL}})
    same = indicator({"ratio": {"total": TOTAL, "errors": ERRORS}})
    other = indicator({"ratio": {"errors": ERRORS.replace("5..", "5..|429"), "total": TOTAL}})
    assert indicator_fingerprint(one) == indicator_fingerprint(same)
    assert indicator_fingerprint(one) != indicator_fingerprint(other)


def test_recorded_and_subquery_reads_of_a_long_window() -> None:
    ratio = indicator({"ratio": {"errors": ERRORS, "total": TOTAL}})
    recorded = recorded_queries("shop", "checkout", ratio, timedelta(days=30))
    fingerprint = indicator_fingerprint(ratio)
    selector = f'slogate_namespace="shop",slogate_slo="checkout",slogate_indicator="{fingerprint}"'
    assert recorded.error_ratio == (
        f"sum_over_time({ERRORS_RECORD}{{{selector}}}[30d]) / "
        f"sum_over_time({REQUESTS_RECORD}{{{selector}}}[30d])"
    )
    assert recorded.request_rate == f"avg_over_time({REQUESTS_RECORD}{{{selector}}}[30d])"
    raw = subquery_queries(ratio, timedelta(days=3))
    assert raw.error_ratio == (
        'sum_over_time((sum(rate(http_requests_total{code=~"5.."}[5m])))[3d:5m]) / '
        "sum_over_time((sum(rate(http_requests_total[5m])))[3d:5m])"
    )
    assert history_query("shop", "checkout", ratio, timedelta(days=30)).startswith(
        f"count_over_time({REQUESTS_RECORD}{{"
    )


def test_a_bare_error_ratio_has_no_request_rate_from_the_recorded_series() -> None:
    bare = indicator({"errorRatio": {"query": "ratio_rate[$window]"}})
    assert recorded_queries("shop", "a", bare, timedelta(days=3)).request_rate is None
    assert subquery_queries(bare, timedelta(days=3)).request_rate is None


@pytest.mark.parametrize(
    ("window", "long"),
    [(timedelta(minutes=5), False), (timedelta(hours=1), False), (timedelta(hours=2), True)],
)
def test_windows_over_an_hour_are_long(window: timedelta, long: bool) -> None:
    assert is_long_window(window) is long


@pytest.mark.parametrize(
    ("samples", "window", "covered"),
    [
        (30 * 24 * 60, timedelta(days=30), True),
        (30 * 24 * 60 - 400, timedelta(days=30), True),  # a Prometheus restart: under 1 % missing
        (29 * 24 * 60, timedelta(days=30), False),
        (360, timedelta(hours=6), True),
        (358, timedelta(hours=6), True),
        (350, timedelta(hours=6), False),
        (0, timedelta(hours=6), False),
    ],
)
def test_history_covers_a_window(samples: int, window: timedelta, covered: bool) -> None:
    assert covers(history_from_samples(samples), window) is covered


STEP_MINUTES = 5
"""The rules' range (5m) in rule intervals (1m)."""


def recorded_ratio(errors: list[float], totals: list[float], window: int) -> float:
    """What the recorded path computes at the last minute: each 1 m rule evaluation records the
    5 m rate, and a window's ratio is the ratio of the samples' sums over the window."""

    def rate5m(events: list[float], minute: int) -> float:
        return sum(events[max(0, minute - STEP_MINUTES + 1) : minute + 1]) / (STEP_MINUTES * 60)

    end = len(errors) - 1
    samples = range(end - window + 1, end + 1)
    return sum(rate5m(errors, m) for m in samples) / sum(rate5m(totals, m) for m in samples)


def raw_ratio(errors: list[float], totals: list[float], window: int) -> float:
    """What ``sum(rate(errors[W])) / sum(rate(total[W]))`` computes: the events in the window."""
    return sum(errors[-window:]) / sum(totals[-window:])


@st.composite
def traffic(draw: st.DrawFn) -> tuple[list[float], list[float], int]:
    """Minutes of traffic whose rate and error ratio vary by up to a quarter around their level:
    the minutes at the window's two ends (where the recorded path weighs differently) drawn by
    Hypothesis, the others from a seeded generator."""
    window = draw(st.sampled_from([6 * 60, 24 * 60, 3 * 24 * 60]))
    level = draw(st.floats(min_value=1, max_value=1000))
    base_ratio = draw(st.floats(min_value=1e-4, max_value=0.5))
    swing = st.floats(min_value=0.75, max_value=1.25)
    edges = 2 * STEP_MINUTES
    chosen = draw(st.lists(st.tuples(swing, swing), min_size=2 * edges, max_size=2 * edges))
    generator = random.Random(draw(st.integers(min_value=0, max_value=2**32)))
    middle = [(generator.uniform(0.75, 1.25), generator.uniform(0.75, 1.25)) for _ in range(window)]
    swings = [*chosen[:edges], *middle, *chosen[edges:]]
    totals = [level * rate for rate, _ in swings]
    errors = [total * base_ratio * ratio for total, (_, ratio) in zip(totals, swings, strict=True)]
    return errors, totals, window


@settings(max_examples=60, deadline=None)
@given(traffic())
def test_recorded_windows_agree_with_raw_within_one_percent(
    data: tuple[list[float], list[float], int],
) -> None:
    errors, totals, window = data
    recorded, raw = recorded_ratio(errors, totals, window), raw_ratio(errors, totals, window)
    assert recorded == pytest.approx(raw, rel=0.01)
