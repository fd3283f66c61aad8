"""The PromQL slogate runs for an indicator and a window, reported in the SLO's status.

Each indicator kind is reduced to two queries: the error ratio (0 to 1) and, when it can be known,
the request rate that the minimum-request-rate rule and the no-traffic rule need. Zero traffic makes
every ratio below NaN or empty, which the budget maths reads as no data.

For the recording rules and for long windows, an indicator is also reduced to two event rates
(``event_rates``): bad events and all events per second. A ratio of their sums over time is
weighted by traffic, which averaging ratios is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from slogate.api.promql import WINDOW_PLACEHOLDER
from slogate.api.slo import Indicator, LatencyIndicator


@dataclass(frozen=True)
class ResolvedQueries:
    error_ratio: str
    request_rate: str | None


def _in_window(template: str, window: str) -> str:
    return template.replace(WINDOW_PLACEHOLDER, window)


def _latency_good(latency: LatencyIndicator, window: str) -> str:
    matchers = latency.matchers.strip().strip(",") if latency.matchers else ""
    separator = "," if matchers else ""
    return f'sum(rate({latency.metric}_bucket{{{matchers}{separator}le="{latency.threshold}"}}[{window}]))'


def resolve_queries(indicator: Indicator, window: str) -> ResolvedQueries:
    """The queries for one window (a duration string such as ``5m``)."""
    if indicator.ratio is not None:
        ratio = indicator.ratio
        total = _in_window(ratio.total, window)
        if ratio.errors is not None:
            error_ratio = f"({_in_window(ratio.errors, window)}) / ({total})"
        else:
            error_ratio = f"1 - (({_in_window(ratio.good or '', window)}) / ({total}))"
        return ResolvedQueries(error_ratio=error_ratio, request_rate=total)
    if indicator.latency is not None:
        latency = indicator.latency
        matchers = latency.matchers.strip().strip(",") if latency.matchers else ""
        good = _latency_good(latency, window)
        total = f"sum(rate({latency.metric}_count{{{matchers}}}[{window}]))"
        return ResolvedQueries(error_ratio=f"1 - ({good} / {total})", request_rate=total)
    if indicator.error_ratio is not None:
        raw = indicator.error_ratio
        rate = _in_window(raw.request_rate, window) if raw.request_rate is not None else None
        return ResolvedQueries(error_ratio=_in_window(raw.query, window), request_rate=rate)
    raise ValueError("indicator has no kind set")


@dataclass(frozen=True)
class EventRates:
    """Bad and all events per second over one window, each aggregated to one series.

    A bare error-ratio query without a request rate has no event counts: its ratio stands for the
    bad events and each sample counts as one event, so longer windows weigh time, not traffic.
    Ratios that are NaN (no traffic) are dropped (``>= 0`` filters NaN out), because a single NaN
    sample would make every sum over a window containing it NaN.
    """

    errors: str
    total: str
    counts_traffic: bool
    """False for a bare error ratio: ``total`` counts samples, not requests."""


def event_rates(indicator: Indicator, window: str) -> EventRates:
    if indicator.ratio is not None:
        ratio = indicator.ratio
        total = _in_window(ratio.total, window)
        if ratio.errors is not None:
            return EventRates(errors=_in_window(ratio.errors, window), total=total, counts_traffic=True)
        good = _in_window(ratio.good or "", window)
        return EventRates(errors=f"({total}) - ({good})", total=total, counts_traffic=True)
    if indicator.latency is not None:
        resolved = resolve_queries(indicator, window)
        total = resolved.request_rate or ""
        good = _latency_good(indicator.latency, window)
        return EventRates(errors=f"{total} - {good}", total=total, counts_traffic=True)
    if indicator.error_ratio is not None:
        raw = indicator.error_ratio
        known_ratio = f"({_in_window(raw.query, window)}) >= 0"
        if raw.request_rate is not None:
            rate = _in_window(raw.request_rate, window)
            return EventRates(errors=f"({known_ratio}) * ({rate})", total=rate, counts_traffic=True)
        return EventRates(errors=known_ratio, total=f"({known_ratio}) * 0 + 1", counts_traffic=False)
    raise ValueError("indicator has no kind set")
