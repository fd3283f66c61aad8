"""The operator's own metrics: SLO series follow the SLOs measured, and vanish with them."""

from __future__ import annotations

from prometheus_client import generate_latest

from slogate.adapters.telemetry import PrometheusTelemetry
from slogate.reconcile.ports import SloReading

CHECKOUT = SloReading(
    namespace="shop",
    name="checkout",
    state="Burning",
    sli_percent=98.5,
    budget_remaining_percent=-50.0,
    burn_rates={"5m": 15.0, "1h": 1.5},
)
SEARCH = SloReading(
    namespace="shop",
    name="search",
    state="Unknown",
    sli_percent=None,
    budget_remaining_percent=None,
    burn_rates={"5m": None, "1h": None},
)


def samples(telemetry: PrometheusTelemetry, prefix: str = "slogate_slo_") -> dict[tuple[str, ...], float]:
    return {
        (sample.name, *sorted(f"{key}={value}" for key, value in sample.labels.items())): sample.value
        for family in telemetry.registry.collect()
        for sample in family.samples
        if sample.name.startswith(prefix)
    }


def test_each_slo_exports_its_state_sli_budget_and_burn_per_window() -> None:
    telemetry = PrometheusTelemetry()
    telemetry.slos([CHECKOUT, SEARCH])
    exported = samples(telemetry)
    assert exported[("slogate_slo_state", "namespace=shop", "slo=checkout", "state=Burning")] == 1.0
    assert exported[("slogate_slo_state", "namespace=shop", "slo=checkout", "state=Healthy")] == 0.0
    assert exported[("slogate_slo_state", "namespace=shop", "slo=search", "state=Unknown")] == 1.0
    assert exported[("slogate_slo_sli_percent", "namespace=shop", "slo=checkout")] == 98.5
    assert exported[("slogate_slo_error_budget_remaining_percent", "namespace=shop", "slo=checkout")] == -50.0
    assert exported[("slogate_slo_burn_rate", "namespace=shop", "slo=checkout", "window=5m")] == 15.0
    assert exported[("slogate_slo_burn_rate", "namespace=shop", "slo=checkout", "window=1h")] == 1.5
    assert not [key for key in exported if "slo=search" in key and key[0] != "slogate_slo_state"], (
        "an SLO without data exports no numbers (never a 0 that reads as no errors)"
    )
    assert b'slogate_slo_state{namespace="shop",slo="checkout",state="Burning"} 1.0' in generate_latest(
        telemetry.registry
    )


def test_an_slo_that_is_gone_or_lost_its_data_stops_being_exported() -> None:
    telemetry = PrometheusTelemetry()
    telemetry.slos([CHECKOUT, SEARCH])
    no_data = SloReading("shop", "checkout", "Unknown", None, None, {"5m": None, "1h": None})
    telemetry.slos([no_data])
    exported = samples(telemetry)
    assert not [key for key in exported if "slo=search" in key]
    assert exported[("slogate_slo_state", "namespace=shop", "slo=checkout", "state=Unknown")] == 1.0
    assert ("slogate_slo_burn_rate", "namespace=shop", "slo=checkout", "window=5m") not in exported
    telemetry.slos(())
    assert samples(telemetry) == {}
