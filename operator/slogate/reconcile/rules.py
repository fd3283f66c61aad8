"""Keeping the SLOs' recording rules in the cluster: a PrometheusRule per SLO, and one ConfigMap.

Level-triggered: every pass compares what the World's SLOs want with what is known to be in the
cluster and writes only what differs, so a pass after nothing changed costs no API call. A pass
runs when an SLO's spec changes (created, updated, deleted), after the initial listing (resume),
when this replica takes the leader Lease, and every few minutes; only the acting replica writes.

What is in the cluster is learnt when a replica starts acting and at every periodic pass (one
listing of slogate's PrometheusRules, one read of the ConfigMap), and in between remembered as
written. An SLO whose spec became invalid keeps the rules it last had: its PrometheusRule is left
alone, and the ConfigMap keeps its group (learnt from the ConfigMap itself after a restart). A
deleted SLO's PrometheusRule is removed by the garbage collector (the SLO owns it); its group
leaves the ConfigMap at the next pass.

With ``prometheus_rules`` None (the default ``auto``), PrometheusRules are written while the API
server serves the CRD, asked at the first pass and again at every periodic one, so installing
prometheus-operator later needs no restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slogate.domain.recording import rule_group
from slogate.domain.rulefiles import (
    SloKey,
    config_map_data,
    groups_in_config_map,
    prometheus_rule,
    prometheus_rule_differs,
)
from slogate.reconcile.ports import RuleStore, Telemetry
from slogate.reconcile.world import World

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleDeliverySettings:
    prometheus_rules: bool | None = None
    """True: always write PrometheusRules; False: never; None: while the CRD is served."""
    prometheus_rule_labels: Mapping[str, str] = field(default_factory=dict)
    """Labels on every PrometheusRule besides managed-by, for a prometheus-operator ruleSelector."""
    config_map: tuple[str, str] | None = None
    """NAMESPACE, NAME of the ConfigMap holding every SLO's rules; none when None."""
    resync: timedelta = timedelta(minutes=5)
    retry: timedelta = timedelta(seconds=30)
    """How soon a pass with a failed write is repeated."""


class RuleDelivery:
    def __init__(
        self,
        world: World,
        store: RuleStore,
        settings: RuleDeliverySettings,
        telemetry: Telemetry,
        active: Callable[[], bool],
    ) -> None:
        self._world = world
        self._store = store
        self._settings = settings
        self._telemetry = telemetry
        self._active = active
        self._serving: bool | None = settings.prometheus_rules
        self._rules: dict[SloKey, Mapping[str, Any]] | None = None
        """The PrometheusRules known to be in the cluster, by SLO; None until listed."""
        self._config_map: Mapping[str, str] | None = None
        """The ConfigMap's data known to be in the cluster; None until read."""
        self._groups: dict[SloKey, dict[str, Any]] = {}
        """The ConfigMap's group of every SLO, kept for an SLO whose spec became invalid."""
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Run a pass now (an SLO's spec changed, or the World was loaded)."""
        self._wake.set()

    def activate(self) -> None:
        """This replica acts from now: another may have written meanwhile, so learn the cluster
        again, and run a pass at once."""
        self._rules = None
        self._config_map = None
        self.wake()

    async def run_forever(self) -> None:
        periodic = False
        while True:
            # Cleared before the pass, so an SLO change during it runs another one straight after.
            self._wake.clear()
            delay = self._settings.resync
            if self._active():
                try:
                    failures = await self.sync(periodic=periodic)
                except Exception:
                    log.exception("delivering recording rules failed; retrying")
                    failures = 1
                if failures:
                    self._telemetry.reconcile_error("recording-rules")
                    delay = self._settings.retry
            periodic = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay.total_seconds())
                periodic = False

    async def sync(self, periodic: bool = False) -> int:
        """One pass; the number of writes that failed (each is logged and retried soon). A periodic
        pass learns the cluster again (a PrometheusRule or ConfigMap edited or deleted by hand is
        repaired) and asks again whether the CRD is served."""
        if periodic:
            self._rules = None
            self._config_map = None
        if self._settings.prometheus_rules is None and (self._serving is None or periodic):
            serving = await asyncio.to_thread(self._store.serves_prometheus_rules)
            if serving != self._serving:
                log.info(
                    "the API server %s PrometheusRule (monitoring.coreos.com/v1): "
                    "recording rules %s written as PrometheusRules",
                    "serves" if serving else "does not serve",
                    "are" if serving else "are not",
                )
            self._serving = serving
        failures = await self._sync_prometheus_rules() if self._serving else 0
        if self._settings.config_map is not None:
            failures += await self._sync_config_map(*self._settings.config_map)
        return failures

    async def _sync_prometheus_rules(self) -> int:
        if self._rules is None:
            listed = await asyncio.to_thread(self._store.list_prometheus_rules)
            owners = {
                (str(body["metadata"].get("namespace")), str(owner.get("name"))): body
                for body in listed
                for owner in body["metadata"].get("ownerReferences") or []
                if owner.get("controller")
            }
            self._rules = owners
        known = self._rules
        failures = 0
        for tracked in list(self._world.slos.items.values()):
            if not self._active():
                break
            if tracked.model is None:
                continue  # an invalid spec: its PrometheusRule keeps the rules it last had
            key = (tracked.namespace, tracked.name)
            uid = str((tracked.body.get("metadata") or {}).get("uid", ""))
            group = rule_group(tracked.namespace, tracked.name, tracked.model.spec.indicator).as_dict()
            desired = prometheus_rule(
                tracked.namespace, tracked.name, uid, group, self._settings.prometheus_rule_labels
            )
            existing = known.get(key)
            if existing is not None and not prometheus_rule_differs(existing, desired):
                continue
            try:
                await asyncio.to_thread(self._store.apply_prometheus_rule, desired)
            except Exception as error:
                log.warning("writing PrometheusRule of %s/%s failed: %s", *key, error)
                known.pop(key, None)
                failures += 1
            else:
                known[key] = desired
        for key in set(known) - {(t.namespace, t.name) for t in list(self._world.slos.items.values())}:
            del known[key]  # the SLO is gone; the garbage collector removes its PrometheusRule
        return failures

    async def _sync_config_map(self, namespace: str, name: str) -> int:
        if self._config_map is None:
            existing = await asyncio.to_thread(self._store.config_map_data, namespace, name)
            self._config_map = dict(existing or {})
            for key, group in groups_in_config_map(self._config_map).items():
                self._groups.setdefault(key, group)
        present = {(t.namespace, t.name): t for t in list(self._world.slos.items.values())}
        for key, tracked in present.items():
            if tracked.model is not None:
                self._groups[key] = rule_group(*key, tracked.model.spec.indicator).as_dict()
        # Only SLOs that still exist; an invalid one keeps the group it last had.
        self._groups = {key: group for key, group in self._groups.items() if key in present}
        data = config_map_data(self._groups)
        if data == self._config_map or not self._active():
            return 0
        try:
            await asyncio.to_thread(self._store.apply_config_map, namespace, name, data)
        except Exception as error:
            log.warning("writing the recording rules into ConfigMap %s/%s failed: %s", namespace, name, error)
            self._config_map = None
            return 1
        self._config_map = data
        log.info("ConfigMap %s/%s holds the recording rules of %d SLOs", namespace, name, len(self._groups))
        return 0
