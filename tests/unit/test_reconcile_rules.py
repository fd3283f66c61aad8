"""Keeping recording rules in the cluster: PrometheusRules and the ConfigMap written only when
their content differs, only by the acting replica, and an invalid SLO keeping its last rules."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from slogate.domain.rulefiles import RULES_KEY
from slogate.reconcile.ports import SloReading
from slogate.reconcile.rules import RuleDelivery, RuleDeliverySettings
from slogate.reconcile.world import World

ERRORS = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[$window]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[$window]))'
CONFIG_MAP = ("monitoring", "slogate-rules")


def slo(namespace: str, name: str, errors: str = ERRORS, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}", "generation": 1},
        "spec": {
            "objective": 99.9,
            "selector": {},
            "indicator": {"ratio": {"errors": errors, "total": TOTAL}},
            **spec,
        },
    }


@dataclass
class FakeRuleStore:
    """The cluster's PrometheusRules and ConfigMaps, and every write made to them."""

    serves: bool = True
    rules: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    config_maps: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)
    failing: bool = False
    after_write: Callable[[], None] = lambda: None
    """Called after each write, as the API server's watch would deliver something meanwhile."""

    def serves_prometheus_rules(self) -> bool:
        return self.serves

    def list_prometheus_rules(self) -> list[Mapping[str, Any]]:
        return [copy.deepcopy(body) for body in self.rules.values()]

    def apply_prometheus_rule(self, manifest: Mapping[str, Any]) -> None:
        if self.failing:
            raise RuntimeError("the API server said no")
        metadata = manifest["metadata"]
        self.rules[(metadata["namespace"], metadata["name"])] = copy.deepcopy(dict(manifest))
        self.writes.append(f"rule {metadata['namespace']}/{metadata['name']}")
        self.after_write()

    def config_map_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self.config_maps.get((namespace, name))

    def apply_config_map(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        if self.failing:
            raise RuntimeError("the API server said no")
        self.config_maps[(namespace, name)] = dict(data)
        self.writes.append(f"configmap {namespace}/{name}")

    def config_map_groups(self) -> list[str]:
        document = yaml.safe_load(self.config_maps[CONFIG_MAP][RULES_KEY])
        return [group["name"] for group in document["groups"]]


@dataclass
class FakeTelemetry:
    errors: list[str] = field(default_factory=list)

    def decision(self, workload_kind: str, action: str, reason: str) -> None: ...

    def evaluation(self, seconds: float, slo_count: int) -> None: ...

    def prometheus_error(self) -> None: ...

    def reconcile_error(self, what: str) -> None:
        self.errors.append(what)

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None: ...

    def slos(self, readings: Iterable[SloReading]) -> None: ...


@dataclass
class Setup:
    world: World
    store: FakeRuleStore
    delivery: RuleDelivery
    acting: list[bool]

    def observe(self, body: Mapping[str, Any], deleted: bool = False) -> None:
        self.world.slos.observe(body, deleted=deleted)

    def sync(self, periodic: bool = False) -> int:
        return asyncio.run(self.delivery.sync(periodic=periodic))


def setup(
    *bodies: Mapping[str, Any],
    store: FakeRuleStore | None = None,
    prometheus_rules: bool | None = None,
    config_map: tuple[str, str] | None = None,
) -> Setup:
    world = World()
    for body in bodies:
        world.slos.observe(body, deleted=False)
    store = store or FakeRuleStore()
    acting = [True]
    settings = RuleDeliverySettings(
        prometheus_rules=prometheus_rules, prometheus_rule_labels={"release": "prom"}, config_map=config_map
    )
    delivery = RuleDelivery(world, store, settings, FakeTelemetry(), active=lambda: acting[0])
    return Setup(world, store, delivery, acting)


def test_each_slo_gets_its_prometheus_rule_once() -> None:
    s = setup(slo("shop", "checkout"), slo("pay", "api"))
    assert s.sync() == 0
    assert sorted(s.store.writes) == ["rule pay/slogate-api", "rule shop/slogate-checkout"]
    rule = s.store.rules[("shop", "slogate-checkout")]
    assert rule["metadata"]["labels"] == {"release": "prom", "app.kubernetes.io/managed-by": "slogate"}
    assert rule["metadata"]["ownerReferences"][0]["uid"] == "uid-shop-checkout"
    assert rule["spec"]["groups"][0]["name"] == "slogate/shop/checkout"
    s.store.writes.clear()
    s.sync()
    s.sync(periodic=True)
    assert s.store.writes == [], "nothing changed, nothing is written"


def test_a_changed_indicator_rewrites_only_that_rule() -> None:
    s = setup(slo("shop", "checkout"), slo("pay", "api"))
    s.sync()
    s.store.writes.clear()
    s.observe(slo("shop", "checkout", errors=ERRORS.replace("5..", "50.")))
    s.sync()
    assert s.store.writes == ["rule shop/slogate-checkout"]
    expr = s.store.rules[("shop", "slogate-checkout")]["spec"]["groups"][0]["rules"][0]["expr"]
    assert '"50."' in expr


def test_an_slo_that_became_invalid_keeps_its_last_rules() -> None:
    s = setup(slo("shop", "checkout"))
    s.sync()
    before = copy.deepcopy(s.store.rules)
    s.store.writes.clear()
    s.observe(slo("shop", "checkout", objective=150))
    assert s.sync() == 0
    assert s.store.writes == []
    assert s.store.rules == before


def test_a_restarted_operator_rewrites_nothing_that_is_already_right() -> None:
    first = setup(slo("shop", "checkout"))
    first.sync()
    first.store.writes.clear()
    again = setup(slo("shop", "checkout"), store=first.store)
    again.sync()
    assert again.store.writes == []


def test_a_rule_edited_by_hand_is_repaired_at_the_periodic_pass() -> None:
    s = setup(slo("shop", "checkout"))
    s.sync()
    s.store.rules[("shop", "slogate-checkout")]["spec"] = {"groups": []}
    s.store.writes.clear()
    s.sync()
    assert s.store.writes == [], "between periodic passes the rule is remembered as written"
    s.sync(periodic=True)
    assert s.store.writes == ["rule shop/slogate-checkout"]


def test_a_standby_replica_writes_nothing_until_it_acts() -> None:
    s = setup(slo("shop", "checkout"), config_map=CONFIG_MAP)
    s.acting[0] = False
    s.sync()
    assert s.store.writes == []
    s.acting[0] = True
    s.delivery.activate()
    s.sync()
    assert sorted(s.store.writes) == ["configmap monitoring/slogate-rules", "rule shop/slogate-checkout"]


@pytest.mark.parametrize(
    ("choice", "serves", "written"),
    [(None, False, False), (None, True, True), (True, False, True), (False, True, False)],
    ids=["auto-not-served", "auto-served", "on", "off"],
)
def test_prometheus_rules_follow_the_choice(choice: bool | None, serves: bool, written: bool) -> None:
    s = setup(slo("shop", "checkout"), store=FakeRuleStore(serves=serves), prometheus_rules=choice)
    s.sync()
    assert bool(s.store.writes) is written


def test_auto_notices_the_crd_installed_later_at_a_periodic_pass() -> None:
    s = setup(slo("shop", "checkout"), store=FakeRuleStore(serves=False))
    s.sync()
    s.store.serves = True
    s.sync()
    assert s.store.writes == [], "the CRD is asked again only at a periodic pass"
    s.sync(periodic=True)
    assert s.store.writes == ["rule shop/slogate-checkout"]


def test_a_failed_write_is_counted_and_made_at_the_next_pass() -> None:
    s = setup(slo("shop", "checkout"), store=FakeRuleStore(failing=True), config_map=CONFIG_MAP)
    assert s.sync() == 2
    s.store.failing = False
    assert s.sync() == 0
    assert sorted(s.store.writes) == ["configmap monitoring/slogate-rules", "rule shop/slogate-checkout"]


def test_the_config_map_holds_every_group_sorted_and_changes_only_with_them() -> None:
    s = setup(slo("shop", "checkout"), slo("pay", "api"), prometheus_rules=False, config_map=CONFIG_MAP)
    s.sync()
    assert s.store.writes == ["configmap monitoring/slogate-rules"]
    assert s.store.config_map_groups() == ["slogate/pay/api", "slogate/shop/checkout"]
    s.store.writes.clear()
    s.observe({**slo("shop", "checkout"), "status": {"state": "Healthy"}})
    s.sync()
    assert s.store.writes == []
    s.observe(slo("pay", "api"), deleted=True)
    s.sync()
    assert s.store.writes == ["configmap monitoring/slogate-rules"]
    assert s.store.config_map_groups() == ["slogate/shop/checkout"]


def test_the_config_map_keeps_an_invalid_slos_group_across_a_restart() -> None:
    first = setup(slo("shop", "checkout"), slo("pay", "api"), prometheus_rules=False, config_map=CONFIG_MAP)
    first.sync()
    written = first.store.config_maps[CONFIG_MAP]
    first.store.writes.clear()
    again = setup(
        slo("shop", "checkout"),
        slo("pay", "api", objective=150),
        store=first.store,
        prometheus_rules=False,
        config_map=CONFIG_MAP,
    )
    again.sync()
    assert again.store.writes == []
    assert again.store.config_maps[CONFIG_MAP] == written


def test_the_wake_of_an_slo_change_runs_a_pass_at_once() -> None:
    s = setup(slo("shop", "checkout"))

    async def scenario() -> list[str]:
        task = asyncio.create_task(s.delivery.run_forever())
        await asyncio.sleep(0.05)  # the first pass: the initial listing woke it
        s.observe(slo("pay", "api"))
        s.delivery.wake()
        await asyncio.sleep(0.05)
        task.cancel()
        return list(s.store.writes)

    s.delivery.wake()
    assert asyncio.run(scenario()) == ["rule shop/slogate-checkout", "rule pay/slogate-api"]


def test_an_slo_change_during_a_pass_gets_a_pass_of_its_own() -> None:
    s = setup(slo("shop", "checkout"))

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()

        def slo_created_meanwhile() -> None:  # in the write's thread, as the first pass writes
            if len(s.store.writes) == 1:
                s.observe(slo("pay", "api"))
                loop.call_soon_threadsafe(s.delivery.wake)

        s.store.after_write = slo_created_meanwhile
        task = asyncio.create_task(s.delivery.run_forever())
        await asyncio.sleep(0.1)
        task.cancel()
        return list(s.store.writes)

    s.delivery.wake()
    assert asyncio.run(scenario()) == ["rule shop/slogate-checkout", "rule pay/slogate-api"]
