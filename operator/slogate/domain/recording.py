"""Recording rules for SLOs, and the queries that read long windows cheaply.

A raw ``sum(rate(x[30d]))`` makes Prometheus read every sample of every series of the service over
30 days: on 30 days of history, 20 SLOs cost 48 M samples and 2 CPU-seconds a cycle, and a service
with 2,000 series at a 15 s scrape passes Prometheus' default limit of 50 M samples a query, so the
query fails. Instead each SLO gets one rule group, evaluated every minute, that records its bad and
all events per second over 5 minutes, each aggregated to one series (the design of Pyrra's
performance mode and of the kubernetes-mixin burn-rate rules). A window longer than an hour is then
the ratio of the two series' sums over the window: a traffic-weighted error ratio, two series of
one sample a minute whatever the service's cardinality. Every minute is counted the same number of
times (the 5 m windows overlap by the same amount everywhere but at the window's two ends), so the
ratio matches the raw one up to those ends.

Where the recorded series do not exist or do not yet cover a window (a new SLO, rules not loaded,
history shorter than the window), the window is measured from raw data, still aggregated before the
range (a subquery over 5 m rates), so Prometheus never holds more than one step's samples of the
service in memory and the query cannot fail by size.

Rule names and labels are a public contract (docs/recording-rules.md): users load these rules into
their own Prometheus, prometheus-operator or a Thanos/Mimir ruler. The indicator's fingerprint is a
label so that a changed indicator starts a new history instead of mixing two definitions.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from slogate.api.durations import format_duration
from slogate.api.slo import Indicator
from slogate.domain.queries import ResolvedQueries, event_rates

RULE_INTERVAL = timedelta(minutes=1)
"""How often the recorded series get a sample; a window's history is its sample count times this."""
RULE_RANGE = "5m"
RULE_RANGE_DURATION = timedelta(minutes=5)
ERRORS_RECORD = "slogate:slo_errors:rate5m"
REQUESTS_RECORD = "slogate:slo_requests:rate5m"
NAMESPACE_LABEL = "slogate_namespace"
SLO_LABEL = "slogate_slo"
INDICATOR_LABEL = "slogate_indicator"
LONGEST_RAW_WINDOW = timedelta(hours=1)
"""Windows up to this long are read from raw data every cycle: they are what reacts to a burn that
has just started, and even 2,000 series at a 15 s scrape are 480 k samples over an hour. Longer
windows are read from the recorded series."""


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class RuleGroup:
    """One SLO's rules, as a Prometheus rule group."""

    name: str
    interval: timedelta
    rules: tuple[RecordingRule, ...]

    def as_dict(self) -> dict[str, Any]:
        """The group as it appears in a Prometheus rule file or a PrometheusRule's spec.groups."""
        return {
            "name": self.name,
            "interval": format_duration(self.interval),
            "rules": [
                {"record": rule.record, "expr": rule.expr, "labels": dict(rule.labels)} for rule in self.rules
            ],
        }


def indicator_fingerprint(indicator: Indicator) -> str:
    """A short stable hash of the indicator as written: the same spec gives the same series."""
    canonical = json.dumps(indicator.model_dump(by_alias=True, exclude_none=True), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def series_labels(namespace: str, name: str, indicator: Indicator) -> dict[str, str]:
    return {
        NAMESPACE_LABEL: namespace,
        SLO_LABEL: name,
        INDICATOR_LABEL: indicator_fingerprint(indicator),
    }


def rule_group_name(namespace: str, name: str) -> str:
    return f"slogate/{namespace}/{name}"


def rule_group(namespace: str, name: str, indicator: Indicator) -> RuleGroup:
    rates = event_rates(indicator, RULE_RANGE)
    labels = series_labels(namespace, name, indicator)
    return RuleGroup(
        name=rule_group_name(namespace, name),
        interval=RULE_INTERVAL,
        rules=(
            RecordingRule(record=ERRORS_RECORD, expr=rates.errors, labels=labels),
            RecordingRule(record=REQUESTS_RECORD, expr=rates.total, labels=labels),
        ),
    )


def is_long_window(window: timedelta) -> bool:
    """Whether a window is read from recorded series (or, without them, a raw subquery), on the
    slower long-window cadence."""
    return window > LONGEST_RAW_WINDOW


def _selector(record: str, namespace: str, name: str, indicator: Indicator) -> str:
    matchers = ",".join(
        f'{label}="{value}"' for label, value in series_labels(namespace, name, indicator).items()
    )
    return f"{record}{{{matchers}}}"


def recorded_queries(namespace: str, name: str, indicator: Indicator, window: timedelta) -> ResolvedQueries:
    """A long window read from the SLO's recorded series."""
    span = format_duration(window)
    errors = _selector(ERRORS_RECORD, namespace, name, indicator)
    requests = _selector(REQUESTS_RECORD, namespace, name, indicator)
    counts_traffic = event_rates(indicator, RULE_RANGE).counts_traffic
    return ResolvedQueries(
        error_ratio=f"sum_over_time({errors}[{span}]) / sum_over_time({requests}[{span}])",
        request_rate=f"avg_over_time({requests}[{span}])" if counts_traffic else None,
    )


def subquery_queries(indicator: Indicator, window: timedelta) -> ResolvedQueries:
    """A long window read from raw data, aggregated before the range: the same 5 m event rates the
    rules record, summed over the window at a 5 m step."""
    span = f"[{format_duration(window)}:{RULE_RANGE}]"
    rates = event_rates(indicator, RULE_RANGE)
    return ResolvedQueries(
        error_ratio=f"sum_over_time(({rates.errors}){span}) / sum_over_time(({rates.total}){span})",
        request_rate=f"avg_over_time(({rates.total}){span})" if rates.counts_traffic else None,
    )


def history_query(namespace: str, name: str, indicator: Indicator, window: timedelta) -> str:
    """How many samples the recorded request series holds over ``window``: its history, in rule
    intervals. Empty when the rules are not loaded."""
    requests = _selector(REQUESTS_RECORD, namespace, name, indicator)
    return f"count_over_time({requests}[{format_duration(window)}])"


def history_from_samples(samples: float) -> timedelta:
    return RULE_INTERVAL * samples


def covers(history: timedelta, window: timedelta) -> bool:
    """Whether recorded history is long enough to stand for ``window``. A sample or two missing at
    the window's start, and gaps up to 1 % of it (a Prometheus restart), are tolerated."""
    tolerance = max(2 * RULE_INTERVAL, window / 100)
    return history >= window - tolerance
