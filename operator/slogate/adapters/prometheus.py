"""Instant queries against Prometheus, batched so one evaluation cycle costs few requests.

Hundreds of SLOs each need a ratio per window. Sending them one by one costs a
round trip each, so queries are sent in batches: every query is tagged with
``label_replace(..., "slogate_query", "<n>", "", "")`` and the batch is joined with
``or`` into one expression. A batch that Prometheus rejects (one bad query spoils
the whole expression) is retried query by query, so a single broken SLO gets
its own error and the others still get values.

A batch is a long expression (about 12 KB for 50 SLO ratios), so it is sent as
a form-encoded POST body, as the Prometheus HTTP API allows for large queries:
in a URL it would exceed the request-line limit of the reverse proxies that
commonly front Prometheus (8 KB in nginx by default, answered with 414), and
percent-encoding it into the URL is most of the client's own CPU per request.

A result is a number, or "no data" (empty result, NaN, infinities: no traffic
must never read as zero errors), or an error naming what is wrong. Connection
failures and answers other than a result or a rejected query raise
``PrometheusUnavailableError`` for the caller's failure policy.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from slogate.reconcile.ports import PrometheusUnavailableError, QueryResult

BATCH_LABEL = "slogate_query"
CONNECT_RETRIES = 3
"""A refused or reset connection is tried again (after 0, 2 and 4 s) before Prometheus counts as
unavailable; an answer, even a 5xx, is taken as it is."""


QUERY_REJECTED_STATUSES = (400, 422)
"""Prometheus' answers to an expression it cannot parse (400 bad_data) or evaluate (422
execution). Any other non-200 answer (401/403 credentials, 404 a wrong URL, 414 a proxy's limit,
429 rate limits, 5xx) says nothing about the query: the measurement as a whole is unavailable."""


class QueryRejectedError(Exception):
    """Prometheus refused the expression (or one query in a batch) as wrong."""


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
        self._endpoint = f"{settings.url.rstrip('/')}/api/v1/query"
        self._session = requests.Session()
        self._session.verify = settings.verify_tls
        self._session.mount(
            settings.url, HTTPAdapter(max_retries=Retry(total=CONNECT_RETRIES, backoff_factor=1))
        )

    def evaluate(self, queries: Iterable[str]) -> dict[str, QueryResult]:
        """The result of every distinct query; identical queries are sent once."""
        headers = dict(self._settings.headers()) if self._settings.headers is not None else {}
        unique = list(dict.fromkeys(queries))
        batches = [
            unique[start : start + self._settings.batch_size]
            for start in range(0, len(unique), self._settings.batch_size)
        ]
        results: dict[str, QueryResult] = {}
        workers = max(1, min(self._settings.max_concurrent_requests, len(batches)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="prometheus") as pool:
            for batch_results in pool.map(lambda batch: self._evaluate_batch(batch, headers), batches):
                results.update(batch_results)
        return results

    def _evaluate_batch(self, batch: Sequence[str], headers: Mapping[str, str]) -> dict[str, QueryResult]:
        if len(batch) == 1:
            return {batch[0]: self._evaluate_one(batch[0], headers)}
        try:
            series = self._query(batch_expression(batch), headers)
        except QueryRejectedError:
            return {query: self._evaluate_one(query, headers) for query in batch}
        by_index: dict[int, list[dict[str, Any]]] = {}
        for sample in series:
            by_index.setdefault(int(sample["metric"][BATCH_LABEL]), []).append(sample)
        return {query: single_value(by_index.get(index, [])) for index, query in enumerate(batch)}

    def _evaluate_one(self, query: str, headers: Mapping[str, str]) -> QueryResult:
        try:
            answer = self._query(query, headers)
        except QueryRejectedError as error:
            return QueryResult(error=f"Prometheus rejected the query: {error}")
        return single_value(answer)

    def _query(self, expression: str, headers: Mapping[str, str]) -> list[dict[str, Any]]:
        try:
            response = self._session.post(
                self._endpoint,
                data={"query": expression},
                headers=headers,
                timeout=self._settings.timeout_seconds,
            )
        except requests.RequestException as error:
            raise PrometheusUnavailableError(f"{self._settings.url}: {error}") from error
        if response.status_code != 200:
            problem = f"HTTP {response.status_code}: {_error_text(response)}"
            if response.status_code in QUERY_REJECTED_STATUSES:
                raise QueryRejectedError(problem)
            raise PrometheusUnavailableError(f"{self._settings.url}: {problem}")
        try:
            data = response.json()["data"]
        except (ValueError, KeyError, TypeError) as error:
            raise PrometheusUnavailableError(
                f"{self._settings.url}: not a Prometheus query API answer ({error})"
            ) from error
        if data.get("resultType") == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result


def batch_expression(batch: Sequence[str]) -> str:
    """One expression for many queries: each tagged with its index in the batch, joined by ``or``."""
    return " or ".join(
        f'label_replace(({query}), "{BATCH_LABEL}", "{index}", "", "")' for index, query in enumerate(batch)
    )


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


def _error_text(response: requests.Response) -> str:
    """Prometheus' own error message when the answer carries one, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason
    if isinstance(body, dict) and body.get("error"):
        return f"{body.get('errorType', 'error')}: {body['error']}"
    return response.text[:300]
