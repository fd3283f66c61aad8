"""Keeping admission's holds current, answering the fallback webhook, and spotting what slipped past.

One HoldSet per namespace where something holds (``slogate.reconcile.holds``), rewritten only when
a hold starts, ends or changes its reason; a namespace where nothing holds has none, and admission
lets everything through there. Holds are published before the workloads are reconciled, so a
freeze holds new deploys from the moment slogate knows of it.

Which mechanism enforces them is picked at start-up (``AdmissionMode``) and recorded on every
HoldSet. Failure behaviour, by mechanism:

- MutatingAdmissionPolicy: the API server evaluates the HoldSets itself. With the operator down,
  the holds last published stay in force (a freeze that ends meanwhile keeps holding until the
  operator returns and lifts it; a freeze created meanwhile holds only from then). Held deploys
  are queued, never lost: the operator releases them as it does its own holds.
- Webhook: the operator answers from the holds it last published. With it down, the API server
  applies the webhook's failure policy: Ignore (the default) lets deploys through, and the
  reconcile below holds them late and reports the leak; Fail refuses them until it is back.
- Reconcile (no admission): holds are placed after the fact, as the backstop does.

Only the replica holding the leader Lease publishes; every replica follows the HoldSets through a
watch (``observe``), so a standby's webhook answers from the same holds as the leader's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from slogate.api.gate import NoDataPolicy
from slogate.api.holdset import HOLDSET_NAME, AdmissionMode, HoldRule, HoldSetSpec
from slogate.domain.admission import AdmissionHold, hold_at_admission, matching_holds
from slogate.reconcile.holds import hold_rules
from slogate.reconcile.markers import without_measurements
from slogate.reconcile.ports import HoldSetStore
from slogate.reconcile.snapshots import CheckValues
from slogate.reconcile.world import WorkloadState, World

log = logging.getLogger(__name__)


def _comparable(spec: HoldSetSpec) -> list[dict[str, Any]]:
    """A HoldSet as compared for a rewrite: a burn rate that moves from 28 to 27 is the same hold."""
    return [
        {**rule.model_dump(mode="json", exclude={"message"}), "message": without_measurements(rule.message)}
        for rule in spec.holds
    ]


class AdmissionHolds:
    """The HoldSets the operator keeps, as last published."""

    def __init__(
        self, world: World, store: HoldSetStore, mode: AdmissionMode, namespaces: Iterable[str] = ()
    ) -> None:
        self._world = world
        self._store = store
        self.mode = mode
        self._namespaces = tuple(namespaces)
        self._published: dict[str, HoldSetSpec] = {}

    def load(self, existing: Mapping[str, HoldSetSpec]) -> None:
        """What an earlier run published: kept holds keep their start time."""
        self._published = {
            namespace: spec
            for namespace, spec in existing.items()
            if not self._namespaces or namespace in self._namespaces
        }

    def observe(self, namespace: str, spec: HoldSetSpec | None) -> None:
        """A HoldSet as the API server now has it (None: deleted), whoever wrote it."""
        if self._namespaces and namespace not in self._namespaces:
            return
        if spec is None:
            self._published.pop(namespace, None)
        else:
            self._published[namespace] = spec

    def holdset_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        """A watch event of a HoldSet; only the one under the name admission reads counts."""
        metadata = body.get("metadata") or {}
        if metadata.get("name") != HOLDSET_NAME:
            return
        namespace = str(metadata.get("namespace", ""))
        if event_type == "DELETED":
            self.observe(namespace, None)
            return
        try:
            self.observe(namespace, HoldSetSpec.model_validate(body.get("spec") or {}))
        except ValidationError as error:
            log.warning("ignoring the HoldSet of namespace %s, which is not valid: %s", namespace, error)

    def holds_in(self, namespace: str) -> list[HoldRule]:
        spec = self._published.get(namespace)
        return list(spec.holds) if spec is not None else []

    def _candidate_namespaces(self) -> set[str]:
        if self._namespaces:
            return set(self._namespaces)
        world = self._world
        found = set(world.namespace_labels) | set(self._published)
        found |= {state.namespace for state in world.workloads.values()}
        for collection in world.collections():
            found |= {tracked.namespace for tracked in collection.valid()}
        return found

    async def refresh(
        self, now: datetime, check_values: CheckValues, no_data_policy: NoDataPolicy | None
    ) -> None:
        """Publish the holds in force at ``now``; a namespace whose write fails is retried at the next
        refresh (its last published holds stay in force meanwhile)."""
        for namespace in sorted(self._candidate_namespaces()):
            previous = self._published.get(namespace)
            rules = hold_rules(
                self._world,
                namespace,
                now=now,
                check_values=check_values,
                no_data_policy=no_data_policy,
                previous=previous.holds if previous is not None else (),
            )
            try:
                if not rules:
                    if previous is not None:
                        await asyncio.to_thread(self._store.delete_holdset, namespace)
                        del self._published[namespace]
                    continue
                spec = HoldSetSpec(holds=rules)
                if previous is None or _comparable(previous) != _comparable(spec):
                    await asyncio.to_thread(self._store.put_holdset, namespace, spec, self.mode.value)
                    self._published[namespace] = spec
            except Exception as error:
                log.warning("publishing the holds of namespace %s failed: %s", namespace, error)

    def review(
        self, operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]
    ) -> AdmissionHold | None:
        """The webhook's answer: the same decision the policy makes, from the same holds."""
        namespace = str((new.get("metadata") or {}).get("namespace", ""))
        return hold_at_admission(operation, old, new, self.holds_in(namespace))

    def caught(self, state: WorkloadState) -> list[HoldRule]:
        """The published holds that admission would have applied to this workload's last deploy."""
        change_type = state.change_type.value if state.change_type is not None else ""
        return matching_holds(self.holds_in(state.namespace), state.labels, change_type)
