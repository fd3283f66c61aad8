"""What the operator does when the API server tells it something changed.

The watch handlers hand every event here. A workload event updates the World and reconciles that
workload at once (this is the path that catches a new rollout). A change to a gate, freeze or
incident spec reconciles every workload it can reach at once; an SLO spec change wakes the
evaluation cycle and a pass of the recording rules (as loading the World does). Status-only
changes (slogate's own writes among them) only update the World, so slogate's writes never feed
back into more work.

A replica that does not hold the leader Lease (``cycle.active`` false) only keeps its World
current, so that it can act the moment it takes over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from slogate.api.base import WorkloadKind
from slogate.api.slo import ServiceLevelObjective
from slogate.reconcile.cycle import EvaluationCycle
from slogate.reconcile.rules import RuleDelivery
from slogate.reconcile.world import World

DELETED = "DELETED"


class Controller:
    def __init__(
        self, world: World, cycle: EvaluationCycle, rules: RuleDelivery, clock: Callable[[], datetime]
    ) -> None:
        self.world = world
        self.cycle = cycle
        self.rules = rules
        self._clock = clock
        self.loaded = False

    def load(
        self,
        resources: Mapping[str, Iterable[Mapping[str, Any]]],
        workloads: Iterable[tuple[WorkloadKind, Mapping[str, Any]]],
        namespaces: Iterable[Mapping[str, Any]],
    ) -> None:
        """Fill the World from a full listing, before anything is decided."""
        for namespace in namespaces:
            self.world.observe_namespace(namespace, deleted=False)
        for plural, bodies in resources.items():
            for body in bodies:
                self.world.collection(plural).observe(body, deleted=False)
        for kind, body in workloads:
            self.world.observe_workload(kind, body, deleted=False)
        self.loaded = True
        self.rules.wake()

    async def workload_event(
        self, kind: WorkloadKind, event_type: str | None, body: Mapping[str, Any]
    ) -> None:
        metadata = body.get("metadata") or {}
        key = (kind, str(metadata.get("namespace", "")), str(metadata.get("name", "")))
        previous = self.world.workloads.get(key)
        state = self.world.observe_workload(kind, body, deleted=event_type == DELETED)
        if event_type == DELETED or not self.loaded:
            return
        if previous is None or previous.template_hash != state.template_hash:
            self.cycle.forget_history(key)
        if not self.cycle.active:
            return
        await self.cycle.reconcile([key], self._clock())

    async def resource_event(self, plural: str, event_type: str | None, body: Mapping[str, Any]) -> None:
        collection = self.world.collection(plural)
        metadata = body.get("metadata") or {}
        previous = collection.get(str(metadata.get("namespace", "")), str(metadata.get("name", "")))
        tracked = collection.observe(body, deleted=event_type == DELETED)
        spec_changed = event_type == DELETED or previous is None or previous.generation != tracked.generation
        if not spec_changed or not self.loaded or not self.cycle.active:
            return
        if plural == ServiceLevelObjective.names.plural:
            self.cycle.wake()
            self.rules.wake()
        else:
            await self.cycle.resource_changed(tracked.namespace)

    def namespace_event(self, event_type: str | None, body: Mapping[str, Any]) -> None:
        self.world.observe_namespace(body, deleted=event_type == DELETED)
