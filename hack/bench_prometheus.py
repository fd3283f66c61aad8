#!/usr/bin/env python3
"""`make bench`, Prometheus' side: what slogate's SLO evaluation costs a Prometheus holding 30 days
of realistic history, against the raw approach it replaced, measured in the same run.

The history is ``prometheus_history``'s: 20 services of 20 series at a 60 s step over 30 days,
imported with promtool, plus a 2,000-series service at a 15 s scrape; the SLOs' recording rules are
the ones slogate generates (``domain.recording.rule_group``), backfilled over the 30 days with
``promtool tsdb create-blocks-from rules``. Each SLO is 99.9 % over 30 days with the Workbook's
policies (windows 5m, 30m, 1h, 6h, 3d, 30d).

The queries are slogate's own: the operator's planning code (``reconcile.measurement``) plans
them for a World holding the SLOs, after the recorded-history look-up it makes, and they are
batched 50 to a request as its Prometheus adapter batches them. They are evaluated at the
history's last instant with ``stats=all`` (``totalQueryableSamples``), and Prometheus' CPU is its
own ``process_cpu_seconds_total`` before and after, one set per cadence (below). The raw approach is
every window of every SLO as ``rate(...[window])``, every cycle.

A ReleaseGate limits every SLO's burn rate (over its current window, 1h), so each SLO has one
window measured every cycle; its other windows up to 1h follow the status cadence (10 s) and the
longer ones the long-window cadence (1 m). Per minute at the default intervals:
``prom_cpu_per_min`` = 60 x every-cycle CPU + 6 x status CPU + 1 x long-window CPU, against
``prom_cpu_per_min_raw`` = 60 x raw-cycle CPU (at the old 10 s default: ``_raw_10s``, 6 x);
``samples_per_cycle`` = the same weighting of samples, divided by the 60 cycles, against
``samples_per_cycle_raw``. ``largest_query_samples`` is the largest single query slogate sends for
the 2,000-series service (each of its queries measured alone).

Run alone: ``hack/bench_prometheus.py --slos 20`` (a quick form, about 4 minutes); ``make bench``
runs it with 500 SLOs (the rules backfill alone takes 5 to 8 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "hack"))

from prometheus_history import (  # noqa: E402
    NAMESPACE,
    BenchSLO,
    HighCardinality,
    HistoryConfig,
    HistoryPrometheus,
    QueryCost,
    backfill_rules,
    bench_slos,
    blocks,
    high_cardinality_slo,
    history_prometheus,
    import_history,
    measure_queries,
    post_query,
    rules_yaml,
    write_history,
)

from slogate.adapters.prometheus import batch_expression  # noqa: E402
from slogate.api.durations import format_duration  # noqa: E402
from slogate.api.slo import ServiceLevelObjectiveSpec  # noqa: E402
from slogate.domain.alerts import windows_to_measure  # noqa: E402
from slogate.domain.queries import resolve_queries  # noqa: E402
from slogate.reconcile.cycle import CycleSettings  # noqa: E402
from slogate.reconcile.measurement import (  # noqa: E402
    MeasurementPlan,
    history_queries,
    recorded_histories,
    slo_plans,
)
from slogate.reconcile.ports import QueryResult  # noqa: E402
from slogate.reconcile.slos import Cadence  # noqa: E402
from slogate.reconcile.world import World  # noqa: E402

BATCH = 50
"""Queries per request, as the operator's adapter batches them (PrometheusSettings.batch_size)."""
REPEATS = 3


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}", flush=True)


def batched(queries: Sequence[str]) -> list[str]:
    return [batch_expression(queries[start : start + BATCH]) for start in range(0, len(queries), BATCH)]


def value_at(server: HistoryPrometheus, query: str, at: float) -> QueryResult:
    result = post_query(server.url, query, at, stats=False)["data"]["result"]
    return QueryResult(value=float(result[0]["value"][1])) if result else QueryResult()


GATE = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ReleaseGate",
    "metadata": {"name": "burn", "namespace": NAMESPACE, "uid": "uid-burn", "generation": 1},
    "spec": {"selector": {}, "maxBurnRate": 4},
}
"""The gate every SLO's workloads answer to: it decides on each SLO's current burn rate (1h)."""


def slogate_queries(
    server: HistoryPrometheus, slos: Sequence[BenchSLO], at: float
) -> tuple[dict[Cadence, list[str]], dict[str, str]]:
    """What slogate sends for ``slos``, by cadence (the history look-up with the long windows), and
    the source each SLO's 30d window was read from (Recorded or Raw)."""
    world = World()
    world.gates.observe(GATE, deleted=False)
    for slo in slos:
        world.slos.observe(slo.manifest(), deleted=False)
    lookups = history_queries(world)
    answers = {query: value_at(server, query, at) for query in lookups.values()}
    plan = MeasurementPlan(
        slos=slo_plans(world, recorded_histories(lookups, answers)), checks={}, releases={}
    )
    by_cadence: dict[Cadence, list[str]] = {cadence: [] for cadence in Cadence}
    for query, cadence in plan.cadences().items():
        by_cadence[cadence].append(query)
    by_cadence[Cadence.LONG] += lookups.values()
    sources = {
        slo.tracked.name: next(w.source.value for w in slo.queries.windows if w.window == timedelta(days=30))
        for slo in plan.slos
        if slo.queries is not None
    }
    return by_cadence, sources


def raw_queries(slos: Sequence[BenchSLO]) -> list[str]:
    """The raw approach: every window of every SLO as rate() over the window, every cycle."""
    queries = []
    for slo in slos:
        spec = ServiceLevelObjectiveSpec.model_validate(slo.manifest()["spec"])
        for window in windows_to_measure(spec):
            resolved = resolve_queries(spec.indicator, format_duration(window))
            queries += [resolved.error_ratio, *([resolved.request_rate] if resolved.request_rate else [])]
    return list(dict.fromkeys(queries))


def cost(server: HistoryPrometheus, queries: Sequence[str], at: float) -> QueryCost:
    """The median of REPEATS measurements of ``queries`` in batches, after one to warm caches."""
    expressions = batched(queries)
    measure_queries(server.url, expressions, at)
    runs = sorted(
        (measure_queries(server.url, expressions, at) for _ in range(REPEATS)), key=lambda c: c.cpu_seconds
    )
    return runs[len(runs) // 2]


def prepare(workdir: Path, slo_count: int) -> tuple[Path, list[BenchSLO], BenchSLO, int]:
    config = HistoryConfig()
    history = write_history(workdir / "history.om", config)
    report("history_samples", history.samples, "samples")
    data = workdir / "data"
    report("history_import", import_history(history.path, data), "s")
    history.path.unlink()
    slos = bench_slos(slo_count, config.service_names())
    big = high_cardinality_slo(config.high_cardinality or HighCardinality())
    rules = workdir / "rules.yaml"
    rules.write_text(rules_yaml(slos))
    with history_prometheus(data, workdir / "prometheus-backfill.log") as server:
        done = backfill_rules(
            server, rules, history.start, history.end, workdir / "rule-blocks", install=False, parallel=2
        )
        if not done.completed:
            raise SystemExit(f"bench: the rules backfill did {done.rules_done} of {done.rules} rules")
        report(f"rules_backfill_{slo_count}slo", done.seconds, "s")
    for block in blocks(workdir / "rule-blocks"):
        shutil.move(str(block), str(data / block.name))
    return data, slos, big, history.end


def run(slo_count: int, workdir: Path | None = None) -> None:
    settings = CycleSettings()
    minute = timedelta(minutes=1)
    per_minute = {
        Cadence.EVERY_CYCLE: minute / settings.interval,
        Cadence.STATUS: minute / settings.status_window_interval,
        Cadence.LONG: minute / settings.long_window_interval,
    }
    cycles_per_minute = per_minute[Cadence.EVERY_CYCLE]
    with tempfile.TemporaryDirectory(prefix="slogate-bench-prom-") as scratch:
        root = workdir or Path(scratch)
        data, slos, big, end = prepare(root, slo_count)
        with history_prometheus(data, root / "prometheus.log") as server:
            report("prometheus_settled", server.wait_until_settled(), "s")
            at = float(end)
            by_cadence, sources = slogate_queries(server, slos, at)
            recorded = sum(1 for source in sources.values() if source == "Recorded")
            print(f"slos_reading_30d_recorded: {recorded} of {len(sources)}", flush=True)
            costs = {cadence: cost(server, queries, at) for cadence, queries in by_cadence.items()}
            raw_cost = cost(server, raw_queries(slos), at)
            samples = sum(costs[c].total_samples * per_minute[c] for c in Cadence) / cycles_per_minute
            report("samples_per_cycle", samples, "samples")
            report("samples_per_cycle_raw", raw_cost.total_samples, "samples")
            report("prom_cpu_per_min", sum(costs[c].cpu_seconds * per_minute[c] for c in Cadence), "s")
            report("prom_cpu_per_min_raw", cycles_per_minute * raw_cost.cpu_seconds, "s")
            report("prom_cpu_per_min_raw_10s", 6 * raw_cost.cpu_seconds, "s")
            for cadence in Cadence:
                print(f"queries_{cadence.value}: {len(by_cadence[cadence])} queries", flush=True)
                report(f"prom_cpu_{cadence.value}", costs[cadence].cpu_seconds, "s")
            report("prom_cpu_per_cycle_raw", raw_cost.cpu_seconds, "s")
            big_queries, big_sources = slogate_queries(server, [big], at)
            largest = measure_queries(
                server.url, [q for queries in big_queries.values() for q in queries], at
            )
            print(f"high_cardinality_30d_source: {big_sources[big.name]}", flush=True)
            report("largest_query_samples", largest.largest_samples, "samples")
            print(f"largest_query: {largest.largest_query}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slos", type=int, default=500, help="SLOs over the 20 services (default 500)")
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temporary directory)")
    args = parser.parse_args()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    run(args.slos, args.workdir)


if __name__ == "__main__":
    main()
