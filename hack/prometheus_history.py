"""A Prometheus holding 30 days of realistic history, for `make bench` to measure what slogate costs it.

What it builds, in the order the self-check (``python hack/prometheus_history.py``) runs it:

1. History as OpenMetrics text (``write_history``), written line by line to a file, never held in
   memory: ``services`` services (default 20), each with ``routes`` x 4 codes (200, 404, 500, 503)
   counters ``slogate_bench_http_requests_total{service,route,code}`` (default 5 routes: 20 series),
   one sample every 60 s for 30 days. Traffic per service: a base rate between 20 and 400 req/s, a
   diurnal cycle (+-50 %, phase per service), quieter weekends (x0.7), 5 % noise per minute and
   per-series rounding noise, 2 % 404s, a base 5xx ratio between 0.05 % and 0.3 % and three error
   bursts per service (5 to 120 minutes at 2 % to 30 %), and counters that start at an offset and,
   for two services, reset to 0 once (a restart). All of it follows from ``seed``.
   ``import_history`` hands the file to Debian's ``promtool tsdb create-blocks-from openmetrics``
   with its hidden ``--max-block-duration=744h``. promtool rounds that down to 486h (2h x 3^5) and
   aligns blocks to multiples of it, so 30 days make two blocks, not one.
2. ``HistoryPrometheus``: Prometheus 2.42 on that data directory (loopback, free port, retention
   60 d, ``--web.enable-lifecycle``), restartable; ``backfill_rules`` runs
   ``promtool tsdb create-blocks-from rules`` against it, moves the blocks into the data directory
   and restarts Prometheus, which then serves raw and recorded history together (and vertically
   compacts the overlapping blocks in its first minute; ``wait_until_settled`` waits that out).
   ``bench_slos(count)`` makes ``count`` SLOs over the services; SLO ``slo-<j>`` selects service
   ``j % services`` with an extra matcher ``route!="slo-<j>"``, which matches every series anyway:
   it only makes each SLO's PromQL text distinct, so 500 SLOs cost Prometheus 500 distinct queries
   (slogate de-duplicates identical queries; the bench must not measure that instead).
   ``rules_yaml`` renders the recording-rule contract: per SLO one group ``slogate/<ns>/<name>``,
   interval 1m, ``slogate:slo_errors:rate5m`` and ``slogate:slo_requests:rate5m`` labelled
   ``slogate_namespace``/``slogate_slo``; a window W over 1h is read as
   ``sum_over_time(errors[W]) / sum_over_time(requests[W])``.
3. A high-cardinality service (``HighCardinality``; service ``big``, 50 instances x 10 routes x
   4 codes = 2,000 series, 15 s scrape). Its 30 days of raw samples would be 345 M, so its raw
   counters are written for the last ``raw_hours`` (7) only, and its two recorded series for the full
   30 days are computed here, the "equivalent honest backfill": the traffic model gives, every 15 s
   over 30 days, the service's total and 5xx request counts (integers: rate x 15 s with noise and
   error bursts, random rounding); their running sums are the aggregate counters E(t) and T(t). The
   raw series of the last hours split each 15 s increment over the error (500, 503) or non-error
   (200, 404) series by random positive weights that sum to it, starting from the aggregate's value
   split by each series' share, so that at every scrape the 1,000 error series sum to E(t) and all
   2,000 to T(t). ``sum(rate(x[5m]))`` is a sum of per-series extrapolated rates; all series share
   their scrape timestamps and none resets or starts near zero, so each series' extrapolation factor
   is the same and the sum equals Prometheus 2.42's ``extrapolatedRate`` applied to E (and T)
   themselves. ``prometheus_rate`` is that function, ported: the samples in [t-5m, t] (both ends
   included in 2.x), counter-reset correction, extrapolation to the range ends when the gap is under
   1.1 x the mean sample spacing (else half a spacing), the limit at the counter's zero, divided by
   300 s. The recorded series are that rate at every whole minute of the 30 days.
   ``check_high_cardinality`` compares it with ``promtool ... from rules`` run over the raw hours: at
   each timestamp promtool wrote (a per-group offset within the minute, as a real rule group has),
   the rate computed here from the model against promtool's value, max relative difference.
4. ``measure_queries``: evaluates PromQL at one instant (POST /api/v1/query, ``stats=all``), sums
   ``data.stats.samples.totalQueryableSamples``, keeps the largest, and reads Prometheus'
   ``process_cpu_seconds_total`` from its /metrics before and after. ``engine_query_samples`` reads
   ``prometheus_engine_query_samples_total`` when Prometheus exposes it; 2.42 does not. What 2.42
   does have is the query log (``global.query_log_file``, on in ``HistoryPrometheus``): one JSON line
   per query, whoever sent it, with ``stats.samples.totalQueryableSamples`` even when the request did
   not ask for stats. ``QueryLog`` reads it, which lets a bench measure a real operator's load.
5. ``raw_cycle_queries`` / ``recorded_cycle_queries``: the 12 queries per SLO (6 windows x error
   ratio and request rate), raw, or with the windows over 1h read from the recorded series.
"""

# ruff: noqa: S311
# (random.Random here makes reproducible traffic from a seed, nothing secret.)
from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import requests
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from harness.processes import free_port  # noqa: E402
from harness.prometheus import prometheus_binary  # noqa: E402
from slogate.api.slo import Indicator  # noqa: E402
from slogate.domain.recording import ERRORS_RECORD, REQUESTS_RECORD, rule_group, series_labels  # noqa: E402

METRIC = "slogate_bench_http_requests_total"
FAMILY = "slogate_bench_http_requests"
NAMESPACE = "bench"
CODES = ("200", "404", "500", "503")
ERROR_CODES = ("500", "503")
DAY = 86_400
WINDOWS = ("5m", "30m", "1h", "6h", "3d", "30d")
RECORDED_WINDOWS = frozenset({"6h", "3d", "30d"})
"""Windows longer than 1h, which the operator reads from the recorded series."""
RATE_RANGE_SECONDS = 300
RECORD_STEP_SECONDS = 60
MAX_BLOCK_DURATION = "744h"
RULES_MAX_BLOCK_DURATION = "162h"
"""promtool rounds the block duration down to 2h x 3^n; 162h is the largest whose 1-minute range query
(9,720 steps) stays under Prometheus' 11,000 points per query."""


def promtool_binary() -> str:
    found = shutil.which("promtool")
    if found is None:
        raise FileNotFoundError("promtool is not installed; run 'make prometheus' (Debian's package)")
    return found


# --- traffic model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceModel:
    """One service's traffic: the mean request rate and 5xx ratio at any instant."""

    name: str
    base_rps: float
    phase: float
    base_error_ratio: float
    bursts: tuple[tuple[int, int, float], ...]
    resets: tuple[int, ...]

    def rps(self, t: float) -> float:
        diurnal = 1 + 0.5 * math.sin(2 * math.pi * (t / DAY - self.phase))
        weekend = 0.7 if int(t // DAY + 3) % 7 >= 5 else 1.0  # 1970-01-01 was a Thursday (Monday = 0)
        return self.base_rps * diurnal * weekend

    def error_ratio(self, t: float) -> float:
        for start, end, ratio in self.bursts:
            if start <= t < end:
                return ratio
        return self.base_error_ratio


def service_model(name: str, rng: random.Random, start: int, end: int, *, resets: int) -> ServiceModel:
    bursts = []
    for _ in range(3):
        burst_start = rng.randrange(start, end)
        bursts.append((burst_start, burst_start + rng.randrange(300, 7200), rng.uniform(0.02, 0.3)))
    return ServiceModel(
        name=name,
        base_rps=math.exp(rng.uniform(math.log(20), math.log(400))),
        phase=rng.random(),
        base_error_ratio=rng.uniform(0.0005, 0.003),
        bursts=tuple(sorted(bursts)),
        resets=tuple(sorted(rng.randrange(start, end) for _ in range(resets))),
    )


def code_shares(error_ratio: float) -> tuple[float, float, float, float]:
    """Shares of 200, 404, 500, 503 in a service's requests."""
    return (1 - 0.02 - error_ratio, 0.02, 0.7 * error_ratio, 0.3 * error_ratio)


@dataclass(frozen=True)
class HighCardinality:
    """The 2,000-series service: raw counters for the last ``raw_hours``, recorded series for all."""

    name: str = "big"
    instances: int = 50
    routes: int = 10
    scrape_seconds: int = 15
    raw_hours: int = 7
    base_rps: float = 2000.0

    @property
    def series(self) -> int:
        return self.instances * self.routes * len(CODES)


@dataclass(frozen=True)
class HistoryConfig:
    services: int = 20
    routes: int = 5
    days: int = 30
    step_seconds: int = 60
    seed: int = 20
    end: int = 0
    """Unix time of the last sample; 0 means the last whole minute before now."""
    high_cardinality: HighCardinality | None = field(default_factory=HighCardinality)

    @property
    def end_time(self) -> int:
        if self.end:
            return self.end - self.end % 60
        now = int(time.time())
        return now - now % 60 - 60

    @property
    def series_per_service(self) -> int:
        return self.routes * len(CODES)

    def service_names(self) -> list[str]:
        return [f"svc-{index:02d}" for index in range(self.services)]


def high_cardinality_model(spec: HighCardinality, seed: int, start: int, end: int) -> ServiceModel:
    """The high-cardinality service's traffic (from its own seed: the same whatever ``services``)."""
    model = service_model(spec.name, random.Random(f"{seed}-{spec.name}"), start, end, resets=0)
    return ServiceModel(model.name, spec.base_rps, model.phase, model.base_error_ratio, model.bursts, ())


@dataclass(frozen=True)
class Aggregate:
    """The high-cardinality service's counters summed over its series, every ``step`` seconds."""

    start: int
    step: int
    errors: list[int]
    total: list[int]

    def at(self, index: int) -> tuple[int, int, int]:
        return self.start + index * self.step, self.errors[index], self.total[index]


def high_cardinality_aggregate(model: ServiceModel, spec: HighCardinality, start: int, end: int) -> Aggregate:
    rng = random.Random(f"{model.name}-aggregate")
    step = spec.scrape_seconds
    # As if the service had been up for a day before the history starts: far from zero, so no
    # rate() ever extrapolates to the counter's zero.
    errors, total = [int(model.base_rps * DAY * model.base_error_ratio)], [int(model.base_rps * DAY)]
    for t in range(start + step, end + 1, step):
        requests_made = int(model.rps(t) * step * rng.gauss(1, 0.05) + rng.random())
        failed = int(requests_made * model.error_ratio(t) + rng.random())
        errors.append(errors[-1] + failed)
        total.append(total[-1] + requests_made)
    return Aggregate(start=start, step=step, errors=errors, total=total)


def prometheus_rate(
    times: Sequence[float], values: Sequence[float], at: float, range_seconds: float
) -> float:
    """``rate(x[range])`` at ``at`` as Prometheus 2.42 computes it for one series (NaN: no result)."""
    window = [(t, v) for t, v in zip(times, values, strict=True) if at - range_seconds <= t <= at]
    if len(window) < 2:
        return math.nan
    (first_t, first_v), (last_t, last_v) = window[0], window[-1]
    result = last_v - first_v
    previous = 0.0
    for _, value in window:
        if value < previous:
            result += previous
        previous = value
    to_start = first_t - (at - range_seconds)
    to_end = at - last_t
    sampled = last_t - first_t
    average = sampled / (len(window) - 1)
    if result > 0 and first_v >= 0:
        to_start = min(to_start, sampled * (first_v / result))
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    return result * (interval / sampled) / range_seconds


def aggregate_rates(aggregate: Aggregate, at: float) -> tuple[float, float]:
    """(errors, requests) per second over 5m at ``at``, from the aggregate counters."""
    first = max(0, math.ceil((at - RATE_RANGE_SECONDS - aggregate.start) / aggregate.step))
    last = min(len(aggregate.total) - 1, math.floor((at - aggregate.start) / aggregate.step))
    times = [aggregate.start + index * aggregate.step for index in range(first, last + 1)]
    return (
        prometheus_rate(times, aggregate.errors[first : last + 1], at, RATE_RANGE_SECONDS),
        prometheus_rate(times, aggregate.total[first : last + 1], at, RATE_RANGE_SECONDS),
    )


# --- OpenMetrics generation ---------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFile:
    path: Path
    start: int
    end: int
    samples: int
    series: int
    bytes: int
    seconds: float
    models: tuple[ServiceModel, ...]
    high_cardinality: ServiceModel | None


def labels_text(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def write_history(path: Path, config: HistoryConfig = HistoryConfig()) -> HistoryFile:
    """Write the whole history to ``path`` as OpenMetrics text; see the module docstring."""
    started = time.monotonic()
    end = config.end_time
    start = end - config.days * DAY
    rng = random.Random(config.seed)
    models = [
        service_model(name, rng, start, end, resets=1 if index in (3, 11) else 0)
        for index, name in enumerate(config.service_names())
    ]
    route_weights = [rng.uniform(0.5, 2.0) for _ in range(config.routes)]
    route_weights = [weight / sum(route_weights) for weight in route_weights]
    prefixes: list[list[str]] = []
    counters: list[list[int]] = []
    for model in models:
        prefixes.append(
            [
                METRIC + labels_text(service=model.name, route=f"/api/r{route}", code=code) + " "
                for route in range(config.routes)
                for code in CODES
            ]
        )
        counters.append([int(model.base_rps * 3600 * rng.random()) for _ in range(config.series_per_service)])
    big = None
    big_raw: _HighCardinalityRaw | None = None
    spec = config.high_cardinality
    if spec is not None:
        big = high_cardinality_model(spec, config.seed, start, end)
        aggregate = high_cardinality_aggregate(big, spec, start, end)
        big_raw = _HighCardinalityRaw(
            spec, aggregate, end - spec.raw_hours * 3600, random.Random(config.seed)
        )
    samples = 0
    with path.open("w", buffering=1 << 20) as out:
        out.write(f"# TYPE {FAMILY} counter\n")
        for t in range(start, end + 1, config.step_seconds):
            stamp = f" {t}\n"
            lines: list[str] = []
            for model, prefix, counter in zip(models, prefixes, counters, strict=True):
                if any(t - config.step_seconds < reset <= t for reset in model.resets):
                    counter[:] = [0] * len(counter)
                expected = model.rps(t) * config.step_seconds * rng.gauss(1, 0.05)
                shares = code_shares(model.error_ratio(t))
                random_ = rng.random
                for index in range(len(counter)):
                    mean = expected * route_weights[index // 4] * shares[index % 4]
                    counter[index] += int(mean * (0.95 + 0.1 * random_()) + random_())
                    lines.append(prefix[index] + str(counter[index]) + stamp)
            out.write("".join(lines))
            samples += len(lines)
            if big_raw is not None:
                samples += big_raw.write_until(out, t)
        if big is not None and spec is not None:
            samples += _write_recorded(out, aggregate, start, end, high_cardinality_slo(spec).labels)
        out.write("# EOF\n")
    series = config.services * config.series_per_service
    if spec is not None:
        series += spec.series + 2
    return HistoryFile(
        path=path,
        start=start,
        end=end,
        samples=samples,
        series=series,
        bytes=path.stat().st_size,
        seconds=time.monotonic() - started,
        models=tuple(models),
        high_cardinality=big,
    )


class _HighCardinalityRaw:
    """Writes the high-cardinality service's raw counters, scrape by scrape, for its last hours."""

    def __init__(
        self, spec: HighCardinality, aggregate: Aggregate, raw_start: int, rng: random.Random
    ) -> None:
        self._aggregate = aggregate
        self._rng = rng
        self._first = self._next = (raw_start - aggregate.start) // aggregate.step
        self._prefixes: list[str] = []
        self._is_error: list[bool] = []
        weights: list[float] = []
        for instance in range(spec.instances):
            for route in range(spec.routes):
                for code in CODES:
                    self._prefixes.append(
                        METRIC
                        + labels_text(
                            service=spec.name,
                            instance=f"10.0.{instance // 250}.{instance % 250}:8080",
                            route=f"/api/r{route}",
                            code=code,
                        )
                        + " "
                    )
                    self._is_error.append(code in ERROR_CODES)
                    weights.append(rng.uniform(0.5, 2.0) * (0.03 if code == "404" else 1.0))
        _, errors, total = aggregate.at(self._next)
        error_weight = sum(w for w, e in zip(weights, self._is_error, strict=True) if e)
        ok_weight = sum(w for w, e in zip(weights, self._is_error, strict=True) if not e)
        self._weights = weights
        self._values = [
            errors * w / error_weight if e else (total - errors) * w / ok_weight
            for w, e in zip(weights, self._is_error, strict=True)
        ]

    def write_until(self, out: TextIO, t: int) -> int:
        """Write every scrape up to ``t`` not written yet; return the samples written."""
        written = 0
        aggregate = self._aggregate
        while self._next < len(aggregate.total) and aggregate.at(self._next)[0] <= t:
            if self._next > self._first:
                self._advance(self._next)
            stamp = f" {aggregate.at(self._next)[0]}\n"
            out.write("".join(p + repr(v) + stamp for p, v in zip(self._prefixes, self._values, strict=True)))
            written += len(self._values)
            self._next += 1
        return written

    def _advance(self, index: int) -> None:
        """Split the aggregate's increments from scrape ``index - 1`` to ``index`` over the series."""
        _, errors_before, total_before = self._aggregate.at(index - 1)
        _, errors, total = self._aggregate.at(index)
        new_errors, new_ok = errors - errors_before, (total - errors) - (total_before - errors_before)
        jitter = [w * self._rng.uniform(0.8, 1.2) for w in self._weights]
        error_weight = sum(j for j, e in zip(jitter, self._is_error, strict=True) if e)
        ok_weight = sum(j for j, e in zip(jitter, self._is_error, strict=True) if not e)
        error_step, ok_step = new_errors / error_weight, new_ok / ok_weight
        values = self._values
        for position, (share, is_error) in enumerate(zip(jitter, self._is_error, strict=True)):
            values[position] += share * (error_step if is_error else ok_step)


def _write_recorded(out: TextIO, aggregate: Aggregate, start: int, end: int, labels: dict[str, str]) -> int:
    written = 0
    for record, pick in ((ERRORS_RECORD, 0), (REQUESTS_RECORD, 1)):
        out.write(f"# TYPE {record} gauge\n")
        prefix = record + labels_text(**labels) + " "
        lines = []
        for t in range(start - start % RECORD_STEP_SECONDS, end + 1, RECORD_STEP_SECONDS):
            value = aggregate_rates(aggregate, t)[pick]
            if not math.isnan(value):
                lines.append(f"{prefix}{value!r} {t}\n")
        out.write("".join(lines))
        written += len(lines)
    return written


def import_history(history: Path, data_dir: Path) -> float:
    """``promtool tsdb create-blocks-from openmetrics`` of ``history`` into ``data_dir``; seconds taken."""
    data_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    run_checked(
        [
            promtool_binary(),
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            f"--max-block-duration={MAX_BLOCK_DURATION}",
            "--quiet",
            str(history),
            str(data_dir),
        ]
    )
    return time.monotonic() - started


def run_checked(command: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{command[0]} {command[1:4]} failed ({result.returncode}): {result.stderr[-2000:]}"
        )
    return result


def blocks(data_dir: Path) -> list[Path]:
    return sorted(path.parent for path in data_dir.glob("*/meta.json"))


# --- SLOs and their recording rules -------------------------------------------------------------


@dataclass(frozen=True)
class BenchSLO:
    namespace: str
    name: str
    service: str
    selector: str
    """The PromQL label matchers of all the SLO's events, without braces."""

    @property
    def errors(self) -> str:
        return f'{METRIC}{{{self.selector},code=~"5.."}}'

    @property
    def total(self) -> str:
        return f"{METRIC}{{{self.selector}}}"

    @property
    def indicator(self) -> Indicator:
        return Indicator.model_validate(
            {
                "ratio": {
                    "errors": f"sum(rate({self.errors}[$window]))",
                    "total": f"sum(rate({self.total}[$window]))",
                }
            }
        )

    @property
    def labels(self) -> dict[str, str]:
        """The labels of the SLO's recorded series, as slogate's rules set them."""
        return series_labels(self.namespace, self.name, self.indicator)

    @property
    def recorded_selector(self) -> str:
        return labels_text(**self.labels)

    def manifest(self) -> dict[str, Any]:
        """The ServiceLevelObjective: 99.9 % over 30 days, the Workbook's policies."""
        return {
            "apiVersion": "slogate.dev/v1alpha1",
            "kind": "ServiceLevelObjective",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "uid": f"uid-{self.name}",
                "generation": 1,
                "creationTimestamp": "2026-01-01T00:00:00Z",
            },
            "spec": {
                "objective": 99.9,
                "window": "30d",
                "selector": {"matchLabels": {"app": self.name}},
                "indicator": self.indicator.model_dump(by_alias=True, exclude_none=True),
            },
        }


def bench_slos(count: int, services: Sequence[str]) -> list[BenchSLO]:
    """``count`` SLOs over ``services``, each distinct in text (``route!="slo-<j>"``) but not in data."""
    return [
        BenchSLO(
            NAMESPACE,
            f"slo-{index}",
            services[index % len(services)],
            f'service="{services[index % len(services)]}",route!="slo-{index}"',
        )
        for index in range(count)
    ]


def high_cardinality_slo(spec: HighCardinality) -> BenchSLO:
    return BenchSLO(NAMESPACE, spec.name, spec.name, f'service="{spec.name}"')


def rules_yaml(slos: Sequence[BenchSLO], record_prefix: str = "slogate") -> str:
    """The recording rules slogate generates for ``slos``, as a Prometheus rule file; another
    ``record_prefix`` renames the series (to backfill a copy beside the originals)."""
    groups = []
    for slo in slos:
        group = rule_group(slo.namespace, slo.name, slo.indicator).as_dict()
        for rule in group["rules"]:
            rule["record"] = f"{record_prefix}:{rule['record'].split(':', 1)[1]}"
        groups.append(group)
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000)


def raw_cycle_queries(slo: BenchSLO) -> list[str]:
    """The 12 queries slogate sends per SLO today: error ratio and request rate per window."""
    queries = []
    for window in WINDOWS:
        queries.append(f"sum(rate({slo.errors}[{window}])) / sum(rate({slo.total}[{window}]))")
        queries.append(f"sum(rate({slo.total}[{window}]))")
    return queries


def recorded_cycle_queries(slo: BenchSLO) -> list[str]:
    """The same 12, with the windows over 1h read from the recorded series."""
    queries = []
    errors, total = ERRORS_RECORD + slo.recorded_selector, REQUESTS_RECORD + slo.recorded_selector
    for window in WINDOWS:
        if window in RECORDED_WINDOWS:
            queries.append(f"sum_over_time({errors}[{window}]) / sum_over_time({total}[{window}])")
            queries.append(f"avg_over_time({total}[{window}])")
        else:
            queries.append(f"sum(rate({slo.errors}[{window}])) / sum(rate({slo.total}[{window}]))")
            queries.append(f"sum(rate({slo.total}[{window}]))")
    return queries


# --- Prometheus on the history ------------------------------------------------------------------


def metric_values(text: str, name: str) -> list[float]:
    pattern = re.compile(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)", re.MULTILINE)
    return [float(value) for value in pattern.findall(text)]


class HistoryPrometheus:
    """Prometheus on a history data directory, on a free loopback port; restartable."""

    def __init__(self, data_dir: Path, log: Path, *extra_args: str) -> None:
        data_dir = data_dir.resolve()  # Prometheus reads query_log_file relative to its config file
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log
        self._extra = extra_args
        self._config = data_dir.parent / f"{data_dir.name}-prometheus.yml"
        self.query_log = QueryLog(data_dir.parent / f"{data_dir.name}-query.log")
        self._config.write_text(
            "global:\n  evaluation_interval: 1m\n"
            f"  query_log_file: {self.query_log.path}\nscrape_configs: []\n"
        )
        self._process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_seconds = 0.0

    def start(self, timeout: float = 300) -> float:
        """Start and wait until ready; return the seconds it took."""
        self.started_at = time.monotonic()
        with self._log.open("ab") as sink:
            self._process = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={self._config}",
                    f"--storage.tsdb.path={self.data_dir}",
                    "--storage.tsdb.retention.time=60d",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    *self._extra,
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._process.returncode}; see {self._log}")
            try:
                if requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    self.ready_seconds = time.monotonic() - self.started_at
                    return self.ready_seconds
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"prometheus was not ready within {timeout} s; see {self._log}")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def restart(self) -> float:
        self.stop()
        return self.start()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("prometheus is not running")
        return self._process.pid

    def metrics(self) -> str:
        response = requests.get(f"{self.url}/metrics", timeout=10)
        response.raise_for_status()
        return response.text

    def wait_until_settled(self, timeout: float = 900, idle_cpu: float = 0.05) -> float:
        """Wait until the TSDB's first compaction (a minute after start) has run and Prometheus is
        idle (under ``idle_cpu`` cores over 5 s); return the seconds since start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            metrics = self.metrics()
            triggered = sum(metric_values(metrics, "prometheus_tsdb_compactions_triggered_total"))
            cpu = sum(metric_values(metrics, "process_cpu_seconds_total"))
            time.sleep(5)
            after = sum(metric_values(self.metrics(), "process_cpu_seconds_total"))
            if triggered >= 1 and (after - cpu) / 5 < idle_cpu:
                return time.monotonic() - self.started_at
        raise RuntimeError(f"prometheus did not settle within {timeout} s; see {self._log}")

    def query(self, promql: str, at: float) -> list[dict[str, Any]]:
        body = post_query(self.url, promql, at, stats=False)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@contextmanager
def history_prometheus(data_dir: Path, log: Path, *extra_args: str) -> Iterator[HistoryPrometheus]:
    server = HistoryPrometheus(data_dir, log, *extra_args)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Backfill:
    slos: int
    rules: int
    seconds: float
    blocks: int
    bytes: int
    completed: bool
    """False when ``timeout`` stopped promtool; ``rules_done`` says how far it got."""
    rules_done: int


def backfill_rules(
    server: HistoryPrometheus,
    rules_file: Path,
    start: int,
    end: int,
    output_dir: Path,
    *,
    install: bool = True,
    timeout: float | None = None,
    parallel: int = 1,
) -> Backfill:
    """``promtool tsdb create-blocks-from rules`` of ``rules_file`` from ``server`` over [start, end].

    promtool evaluates one rule at a time; ``parallel`` > 1 splits the groups over that many promtool
    processes. promtool writes one block per rule and 162 h of time. With ``install``, the blocks are
    moved into the server's data directory and the server restarted (not waited for; see
    ``wait_until_settled``: 6,000 blocks took it 218 s to compact here).

    Backfill each SLO's rules once: promtool evaluates a group at an offset within its interval that
    hashes the group's name and its file's path, so the same rules backfilled from two files give the
    series two samples a minute, doubling what ``sum_over_time`` reads."""
    output_dir.mkdir(parents=True, exist_ok=True)
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    rules = sum(len(group["rules"]) for group in groups)
    parts = [rules_file] if parallel <= 1 else []
    for index in range(parallel if parallel > 1 else 0):
        part = output_dir.parent / f"{rules_file.stem}-part{index}.yaml"
        part.write_text(yaml.safe_dump({"groups": groups[index::parallel]}, sort_keys=False, width=1000))
        parts.append(part)
    started = time.monotonic()
    processes: list[tuple[subprocess.Popen[bytes], Path]] = []
    for index, part in enumerate(parts):
        log = output_dir.parent / f"{output_dir.name}-promtool-{index}.log"
        with log.open("wb") as sink:
            command = [
                promtool_binary(), "tsdb", "create-blocks-from", "rules",
                f"--max-block-duration={RULES_MAX_BLOCK_DURATION}", f"--url={server.url}",
                f"--start={start}", f"--end={end}", f"--output-dir={output_dir}", str(part),
            ]  # fmt: skip
            processes.append((subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT), log))
    completed = True
    try:
        for process, log in processes:
            left = None if timeout is None else max(0.1, started + timeout - time.monotonic())
            try:
                process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                completed = False
                break
            if process.returncode != 0:
                raise RuntimeError(
                    f"promtool create-blocks-from rules failed ({process.returncode}): "
                    f"{log.read_text()[-2000:]}"
                )
    finally:
        for process, _ in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    seconds = time.monotonic() - started
    done = sum(log.read_text().count("processing rule") for _, log in processes)
    made = blocks(output_dir)
    size = sum(path.stat().st_size for block in made for path in block.rglob("*") if path.is_file())
    if install and completed:
        server.stop()
        for block in made:
            shutil.move(str(block), str(server.data_dir / block.name))
        server.start()
    return Backfill(len(groups), rules, seconds, len(made), size, completed, done)


# --- query cost ---------------------------------------------------------------------------------


def post_query(
    url: str, promql: str, at: float, *, stats: bool = True, timeout: float = 130
) -> dict[str, Any]:
    data = {"query": promql, "time": f"{at:.3f}"}
    if stats:
        data["stats"] = "all"
    response = requests.post(f"{url}/api/v1/query", data=data, timeout=timeout)
    body: dict[str, Any] = response.json()
    if body.get("status") != "success":
        raise RuntimeError(f"query {promql!r} failed ({response.status_code}): {body.get('error')}")
    return body


def process_cpu_seconds(url: str) -> float:
    response = requests.get(f"{url}/metrics", timeout=10)
    response.raise_for_status()
    values = metric_values(response.text, "process_cpu_seconds_total")
    if not values:
        raise RuntimeError("prometheus' /metrics has no process_cpu_seconds_total")
    return values[0]


def engine_query_samples(url: str) -> float | None:
    """``prometheus_engine_query_samples_total`` (samples loaded by all queries so far), or None
    when this Prometheus does not expose it."""
    response = requests.get(f"{url}/metrics", timeout=10)
    response.raise_for_status()
    values = metric_values(response.text, "prometheus_engine_query_samples_total")
    return values[0] if values else None


@dataclass
class QueryLog:
    """Prometheus' query log (``global.query_log_file``): one JSON line per query with its
    ``stats.samples.totalQueryableSamples``, whoever sent it. Prometheus 2.42 has no samples counter
    in its /metrics; this is how a bench measures the samples a real operator makes it read."""

    path: Path
    _offset: int = 0

    def mark(self) -> None:
        """Forget every query logged so far."""
        self._offset = self.path.stat().st_size if self.path.exists() else 0

    def since_mark(self) -> list[tuple[str, int]]:
        """(query, samples) of every query logged since ``mark``."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as log:
            log.seek(self._offset)
            lines = log.read().splitlines()
        entries = []
        for line in lines:
            entry = json.loads(line)
            samples = entry.get("stats", {}).get("samples", {}).get("totalQueryableSamples", 0)
            entries.append((str(entry.get("params", {}).get("query", "")), int(samples)))
        return entries


@dataclass(frozen=True)
class QueryCost:
    queries: int
    total_samples: int
    largest_samples: int
    largest_query: str
    cpu_seconds: float
    """Prometheus' own process_cpu_seconds_total after minus before (10 ms resolution)."""
    wall_seconds: float
    engine_samples: float | None
    """The growth of prometheus_engine_query_samples_total over the same queries, when exposed."""


def measure_queries(url: str, queries: Sequence[str], at: float) -> QueryCost:
    """Evaluate ``queries`` one after another at the instant ``at`` and say what they cost."""
    engine_before = engine_query_samples(url)
    cpu_before = process_cpu_seconds(url)
    started = time.monotonic()
    total, largest, largest_query = 0, -1, ""
    for promql in queries:
        samples = int(post_query(url, promql, at)["data"]["stats"]["samples"]["totalQueryableSamples"])
        total += samples
        if samples > largest:
            largest, largest_query = samples, promql
    wall = time.monotonic() - started
    cpu = process_cpu_seconds(url) - cpu_before
    engine_after = engine_query_samples(url)
    engine = None if engine_before is None or engine_after is None else engine_after - engine_before
    return QueryCost(len(queries), total, largest, largest_query, cpu, wall, engine)


# --- checks -------------------------------------------------------------------------------------


def check_high_cardinality(server: HistoryPrometheus, history: HistoryFile, spec: HighCardinality) -> float:
    """Max relative difference between the computed recorded series and promtool's backfill of the
    same rules (recorded as ``slogate_check:*``) over the raw hours; the check rules must be installed."""
    model = history.high_cardinality
    if model is None:
        raise ValueError("the history has no high-cardinality service")
    aggregate = high_cardinality_aggregate(model, spec, history.start, history.end)
    raw_start = history.end - spec.raw_hours * 3600
    worst = 0.0
    compared = 0
    for record, pick in ((ERRORS_RECORD, 0), (REQUESTS_RECORD, 1)):
        name = "slogate_check:" + record.split(":", 1)[1]
        promql = f'{name}{{slogate_slo="{spec.name}"}}[{spec.raw_hours}h]'
        for series in server.query(promql, history.end):
            for stamp, value in series["values"]:
                if stamp - RATE_RANGE_SECONDS < raw_start:
                    continue
                expected = aggregate_rates(aggregate, stamp)[pick]
                worst = max(worst, abs(float(value) - expected) / abs(expected))
                compared += 1
    if compared == 0:
        raise RuntimeError("no promtool-backfilled check samples to compare with")
    return worst


def ratio_differences(
    server: HistoryPrometheus, slos: Sequence[BenchSLO], instants: Sequence[float]
) -> dict[str, float]:
    """Per window over 1h, the max relative difference between the raw and the recorded error ratio,
    over ``slos`` (one per service) at ``instants``."""
    by_service = {slo.service: slo.name for slo in slos}
    worst: dict[str, float] = {}
    for window in sorted(RECORDED_WINDOWS):
        worst[window] = 0.0
        for at in instants:
            raw = server.query(
                f'sum by (service) (rate({METRIC}{{code=~"5.."}}[{window}]))'
                f" / sum by (service) (rate({METRIC}[{window}]))",
                at,
            )
            recorded = server.query(
                f'sum_over_time({ERRORS_RECORD}{{slogate_namespace="{NAMESPACE}"}}[{window}])'
                f' / sum_over_time({REQUESTS_RECORD}{{slogate_namespace="{NAMESPACE}"}}[{window}])',
                at,
            )
            recorded_by_slo = {item["metric"]["slogate_slo"]: float(item["value"][1]) for item in recorded}
            for item in raw:
                slo_name = by_service.get(item["metric"].get("service", ""))
                if slo_name is None:
                    continue
                raw_value = float(item["value"][1])
                worst[window] = max(worst[window], abs(recorded_by_slo[slo_name] - raw_value) / raw_value)
    return worst


# --- self-check ---------------------------------------------------------------------------------


def report(name: str, value: float, unit: str = "") -> None:
    print(f"{name}: {value:.3f} {unit}".rstrip(), flush=True)


def _cycle(server: HistoryPrometheus, queries: list[str], at: float, repeats: int) -> QueryCost:
    measure_queries(server.url, queries, at)  # warm the page cache and the index
    costs = [measure_queries(server.url, queries, at) for _ in range(repeats)]
    return QueryCost(
        costs[0].queries,
        costs[0].total_samples,
        costs[0].largest_samples,
        costs[0].largest_query,
        statistics.median(cost.cpu_seconds for cost in costs),
        statistics.median(cost.wall_seconds for cost in costs),
        costs[0].engine_samples,
    )


def _report_cycle(suffix: str, cost: QueryCost) -> None:
    report(f"samples_per_cycle_{suffix}", cost.total_samples, "samples")
    report(f"prom_cpu_per_cycle_{suffix}", cost.cpu_seconds, "s")
    report(f"wall_per_cycle_{suffix}", cost.wall_seconds, "s")
    report(f"largest_query_samples_{suffix}", cost.largest_samples, "samples")


def self_check(  # noqa: PLR0915 (one figure after another, in the order they are measured)
    workdir: Path,
    config: HistoryConfig,
    *,
    big_slos: int,
    backfill_timeout: float,
    backfill_parallel: int,
    repeats: int,
) -> None:
    spec = config.high_cardinality or HighCardinality()
    history = write_history(workdir / "history.om", config)
    report("history_samples", history.samples, "samples")
    report("history_series", history.series, "series")
    report("history_file", history.bytes / 2**20, "MiB")
    report("history_generate", history.seconds, "s")
    data_dir = workdir / "data"
    report("history_import", import_history(history.path, data_dir), "s")
    report("history_blocks", len(blocks(data_dir)), "blocks")
    history.path.unlink()
    slos = bench_slos(config.services, config.service_names())
    rules20 = workdir / "rules-20.yaml"
    rules20.write_text(rules_yaml(slos))
    check_rules = workdir / "rules-check.yaml"
    check_rules.write_text(rules_yaml([high_cardinality_slo(spec)], record_prefix="slogate_check"))
    with history_prometheus(data_dir, workdir / "prometheus.log") as server:
        report("prometheus_ready", server.ready_seconds, "s")
        engine = engine_query_samples(server.url)
        print(f"engine_query_samples_metric: {'present' if engine is not None else 'absent'}", flush=True)
        done20 = backfill_rules(
            server, rules20, history.start, history.end, workdir / "out-20", install=False
        )
        report("backfill_20slo", done20.seconds, "s")
        report("backfill_20slo_blocks", done20.blocks, "blocks")
        raw_start = history.end - spec.raw_hours * 3600
        check = backfill_rules(
            server, check_rules, raw_start, history.end, workdir / "out-check", install=False
        )
        report("backfill_check_7h", check.seconds, "s")
        server.stop()
        for block in blocks(workdir / "out-20") + blocks(workdir / "out-check"):
            shutil.move(str(block), str(data_dir / block.name))
        server.start()
        report("prometheus_settled_after_install", server.wait_until_settled(), "s")
        report(
            "blocks_loaded", sum(metric_values(server.metrics(), "prometheus_tsdb_blocks_loaded")), "blocks"
        )
        at = float(history.end)
        raw_queries = [q for slo in slos for q in raw_cycle_queries(slo)]
        _report_cycle("raw_20slo", _cycle(server, raw_queries, at, repeats))
        server.query_log.mark()
        measure_queries(server.url, raw_queries, at)
        report("query_log_samples_raw_20slo", sum(n for _, n in server.query_log.since_mark()), "samples")
        _report_cycle(
            "recorded_20slo",
            _cycle(server, [q for s in slos for q in recorded_cycle_queries(s)], at, repeats),
        )
        big = high_cardinality_slo(spec)
        big_raw = measure_queries(server.url, raw_cycle_queries(big), at)
        report("largest_query_samples_raw_big", big_raw.largest_samples, "samples")
        print(f"largest_query_raw_big: {big_raw.largest_query}", flush=True)
        full = (1000 + 2000) * (30 * DAY // spec.scrape_seconds + 1)
        report("largest_query_samples_raw_big_if_30d_raw", full, "samples (computed, not measured)")
        big_recorded = measure_queries(server.url, recorded_cycle_queries(big), at)
        report("largest_query_samples_recorded_big", big_recorded.largest_samples, "samples")
        print(f"largest_query_recorded_big: {big_recorded.largest_query}", flush=True)
        worst = check_high_cardinality(server, history, spec)
        print(f"high_cardinality_backfill_max_rel_diff: {worst:.3g}", flush=True)
        rng = random.Random(config.seed)
        instants = [float(history.end - rng.randrange(0, 7 * DAY)) for _ in range(10)]
        for window, worst in ratio_differences(server, slos, instants).items():
            print(f"error_ratio_max_rel_diff_{window}: {worst:.3g}", flush=True)
        rules_big = workdir / f"rules-{big_slos}.yaml"
        rules_big.write_text(rules_yaml(bench_slos(big_slos, config.service_names())))
        done = backfill_rules(
            server,
            rules_big,
            history.start,
            history.end,
            workdir / f"out-{big_slos}",
            install=False,
            timeout=backfill_timeout,
            parallel=backfill_parallel,
        )
        name = f"backfill_{big_slos}slo_parallel{backfill_parallel}"
        if done.completed:
            report(name, done.seconds, "s")
            report(f"{name}_blocks", done.blocks, "blocks")
        else:
            report(
                f"{name}_rules_done_in_timeout",
                done.rules_done,
                f"of {done.rules} rules in {done.seconds:.0f} s",
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep the history here (default: a temporary directory)")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--backfill-slos", type=int, default=500)
    parser.add_argument("--backfill-timeout", type=float, default=900)
    parser.add_argument("--backfill-parallel", type=int, default=2, help="promtool processes at once")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    config = HistoryConfig(services=args.services, days=args.days, seed=args.seed)
    with ExitStack() as stack:
        if args.workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slogate-history-")))
        else:
            workdir = args.workdir
            workdir.mkdir(parents=True, exist_ok=True)
        self_check(
            workdir,
            config,
            big_slos=args.backfill_slos,
            backfill_timeout=args.backfill_timeout,
            backfill_parallel=args.backfill_parallel,
            repeats=args.repeats,
        )


if __name__ == "__main__":
    main()
