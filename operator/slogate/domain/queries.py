"""The PromQL slogate runs for an indicator and a window, reported in the SLO's status.

Each indicator kind is reduced to two queries: the error ratio (0 to 1) and, when it can be known,
the request rate that the minimum-request-rate rule and the no-traffic rule need. Zero traffic makes
every ratio below NaN or empty, which the budget maths reads as no data.
"""

from __future__ import annotations

from dataclasses import dataclass

from slogate.api.slo import WINDOW_PLACEHOLDER, Indicator


@dataclass(frozen=True)
class ResolvedQueries:
    error_ratio: str
    request_rate: str | None


def _in_window(template: str, window: str) -> str:
    return template.replace(WINDOW_PLACEHOLDER, window)


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
        separator = "," if matchers else ""
        good = (
            f'sum(rate({latency.metric}_bucket{{{matchers}{separator}le="{latency.threshold}"}}[{window}]))'
        )
        total = f"sum(rate({latency.metric}_count{{{matchers}}}[{window}]))"
        return ResolvedQueries(error_ratio=f"1 - ({good} / {total})", request_rate=total)
    if indicator.error_ratio is not None:
        raw = indicator.error_ratio
        rate = _in_window(raw.request_rate, window) if raw.request_rate is not None else None
        return ResolvedQueries(error_ratio=_in_window(raw.query, window), request_rate=rate)
    raise ValueError("indicator has no kind set")
