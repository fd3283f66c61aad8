"""Instant queries against Prometheus, batched so one evaluation cycle costs few requests.

Hundreds of SLOs each need a ratio per window. Sending them one by one costs a
round trip each, so queries are sent in batches: every query is tagged with
``label_replace(..., "slogate_query", "<n>", "", "")`` and the batch is joined with
``or`` into one expression. A batch that Prometheus rejects (one bad query spoils
the whole expression) is retried query by query, so a single broken SLO gets
its own error and the others still get values.

A result is a number, or "no data" (empty result, NaN, infinities: no traffic
must never read as zero errors), or an error naming what is wrong. Connection
failures raise ``PrometheusUnavailableError`` for the caller's failure policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from slogate.reconcile.ports import PrometheusUnavailableError, QueryResult

BATCH_LABEL = "slogate_query"


@dataclass(frozen=True)
class PrometheusSettings:
    url: str
    headers: Callable[[], Mapping[str, str]] | None = None
    """Called before each evaluation, so a rotated token file is picked up."""
    verify_tls: bool = True
    timeout_seconds: float = 10.0
    batch_size: int = 50
    max_concurrent_requests: int = 4


class PrometheusQueries:
    """Evaluates many instant queries in few HTTP requests."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self._settings = settings
        self._client = PrometheusConnect(
            url=settings.url,
            disable_ssl=not settings.verify_tls,
            timeout=settings.timeout_seconds,
            method="POST",
        )

    def evaluate(self, queries: Iterable[str]) -> dict[str, QueryResult]:
        """The result of every distinct query; identical queries are sent once."""
        if self._settings.headers is not None:
            self._client.headers = dict(self._settings.headers())
        unique = list(dict.fromkeys(queries))
        batches = [
            unique[start : start + self._settings.batch_size]
            for start in range(0, len(unique), self._settings.batch_size)
        ]
        results: dict[str, QueryResult] = {}
        workers = max(1, min(self._settings.max_concurrent_requests, len(batches)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prometheus") as pool:
            for batch_results in pool.map(self._evaluate_batch, batches):
                results.update(batch_results)
        return results

    def _evaluate_batch(self, batch: Sequence[str]) -> dict[str, QueryResult]:
        if len(batch) == 1:
            return {batch[0]: self._evaluate_one(batch[0])}
        expression = " or ".join(
            f'label_replace(({query}), "{BATCH_LABEL}", "{index}", "", "")'
            for index, query in enumerate(batch)
        )
        try:
            series = self._query(expression)
        except PrometheusApiClientException:
            return {query: self._evaluate_one(query) for query in batch}
        by_index: dict[int, list[dict[str, Any]]] = {}
        for sample in series:
            by_index.setdefault(int(sample["metric"][BATCH_LABEL]), []).append(sample)
        return {query: single_value(by_index.get(index, [])) for index, query in enumerate(batch)}

    def _evaluate_one(self, query: str) -> QueryResult:
        try:
            answer = self._query(query)
        except PrometheusApiClientException as error:
            return QueryResult(error=f"Prometheus rejected the query: {error}")
        return single_value(answer)

    def _query(self, expression: str) -> list[dict[str, Any]]:
        try:
            answer = self._client.custom_query(expression)
        except requests.RequestException as error:
            raise PrometheusUnavailableError(f"{self._settings.url}: {error}") from error
        except PrometheusApiClientException as error:
            if _is_server_error(error):
                raise PrometheusUnavailableError(f"{self._settings.url}: {error}") from error
            raise
        if isinstance(answer, list) and len(answer) == 2 and not isinstance(answer[0], dict):
            return [{"metric": {}, "value": answer}]
        result: list[dict[str, Any]] = answer
        return result


def single_value(series: Sequence[Mapping[str, Any]]) -> QueryResult:
    """One series' value, or no data, or an error when the query is not aggregated to one series."""
    if not series:
        return QueryResult()
    if len(series) > 1:
        labels = sorted({key for sample in series for key in sample["metric"] if key != BATCH_LABEL})
        return QueryResult(
            error=f"the query returned {len(series)} series (labels: {', '.join(labels) or 'none'}); "
            "aggregate it to one series, e.g. with sum()"
        )
    value = float(series[0]["value"][1])
    return QueryResult(value=value if math.isfinite(value) else None)


def _is_server_error(error: PrometheusApiClientException) -> bool:
    text = str(error)
    return any(f"Status Code {code}" in text for code in (500, 502, 503, 504))
