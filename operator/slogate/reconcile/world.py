"""The operator's view of the cluster: every slogate resource, workload and namespace it watches.

The watch handlers feed raw objects in; this module parses them once (through the api models, so an
invalid object is kept with its problems instead of being acted on) and answers the questions a
decision needs: which gates, SLOs, freezes and incidents reach a workload. It is a cache of what the
API server holds, rebuilt from the initial listing after every restart; slogate's own decisions
live in the cluster (annotations and status), never only here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from slogate.api.base import ChangeType, LabelSelector, Resource, WorkloadKind
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import ReleaseGate
from slogate.api.incident import Incident
from slogate.api.kinds import by_plural
from slogate.api.slo import ServiceLevelObjective
from slogate.api.validation import FieldProblem, InvalidResourceError, parse_resource
from slogate.api.wire import (
    CHANGE_TYPE_ANNOTATION,
    HELD_ANNOTATION,
    RELEASED_AT_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
    read_time,
)
from slogate.domain.scope import Workload, governs
from slogate.domain.templates import template_hash

ModelT = TypeVar("ModelT", bound=Resource)
# Argo CD's default (annotation) tracking method marks every resource it syncs with this.
ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id"
GITOPS_FIELD_MANAGERS = frozenset({"argocd-controller"})
"""Field managers of the GitOps controllers whose writes can echo slogate's pause (Argo CD's, in
both client-side and server-side apply)."""
ECHO_WINDOW = timedelta(minutes=5)
"""How long after slogate lifts its hold a GitOps write of ``spec.paused=true`` counts as the echo
of that hold: a sync computed while the hold stood and applied after it was lifted."""


@dataclass(frozen=True)
class ObjectKey:
    namespace: str
    name: str


@dataclass(frozen=True)
class Tracked(Generic[ModelT]):
    """A slogate resource as last seen: its model when valid, its problems when not."""

    namespace: str
    name: str
    generation: int
    created_at: datetime | None
    body: Mapping[str, Any]
    model: ModelT | None
    problems: tuple[FieldProblem, ...] = ()


@dataclass(frozen=True)
class WorkloadState:
    """A Deployment or Rollout as the reconciler needs it, derived from its latest body."""

    kind: WorkloadKind
    namespace: str
    name: str
    uid: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    paused: bool
    template_hash: str
    revision: str | None
    rollout_in_progress: bool
    aborted: bool
    change_type: ChangeType | None
    resource_version: str = ""
    selector_labels: Mapping[str, str] = field(default_factory=dict)
    gitops_managed: bool = False
    """Synced by Argo CD: a write that changes what Git declares is reverted by its self-heal."""
    paused_by: str | None = None
    """The field manager that last set ``spec.paused``, and when (from ``managedFields``)."""
    paused_at: datetime | None = None
    status_current: bool = True
    """The controller has observed the latest spec; until then ``rollout_in_progress`` is a guess."""

    @property
    def key(self) -> tuple[WorkloadKind, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def held_by_slogate(self) -> bool:
        """slogate placed the current pause; only such a pause is ever lifted by slogate."""
        return self.paused and (self.annotations.get(HELD_ANNOTATION) == "true" or self.pause_echoed)

    @property
    def pause_echoed(self) -> bool:
        """The pause is slogate's own, written back by Argo CD after slogate lifted it. With
        ``RespectIgnoreDifferences`` on ``/spec/paused``, a sync applies the live value it read when
        it began: a sync that began while slogate held the workload (the one that removes a freeze
        from Git, say) re-pauses it after the release, under Argo CD's name and without slogate's
        marks. Left alone, that pause would hold the workload for ever. Recognised once per
        release (releasing it again removes the release time) and only soon after it."""
        released = read_time(self.annotations.get(RELEASED_AT_ANNOTATION))
        return (
            self.paused
            and self.gitops_managed
            and self.annotations.get(HELD_ANNOTATION) != "true"
            and self.paused_by in GITOPS_FIELD_MANAGERS
            and released is not None
            and self.paused_at is not None
            and released <= self.paused_at <= released + ECHO_WINDOW
        )

    @property
    def is_rollback_target(self) -> bool:
        """The template is the one slogate rolled back to: rolling back again would undo the fix."""
        return self.annotations.get(ROLLED_BACK_TO_ANNOTATION) == self.template_hash


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else 0


def _change_type(template: Mapping[str, Any]) -> ChangeType | None:
    declared = ((template.get("metadata") or {}).get("annotations") or {}).get(CHANGE_TYPE_ANNOTATION)
    try:
        return ChangeType(declared) if declared else None
    except ValueError:
        return None


def deployment_status_current(body: Mapping[str, Any]) -> bool:
    """The Deployment controller has observed the latest generation. A Deployment's generation
    grows with every change of its annotations too, slogate's own marks included."""
    observed = _int((body.get("status") or {}).get("observedGeneration"))
    return observed >= _int((body.get("metadata") or {}).get("generation"))


def deployment_rolling(body: Mapping[str, Any]) -> bool:
    """New pods of a changed template have started and the rollout has not completed."""
    spec, status = body.get("spec") or {}, body.get("status") or {}
    if not deployment_status_current(body):
        return False
    replicas = _int(spec.get("replicas", 1))
    updated = _int(status.get("updatedReplicas"))
    total = _int(status.get("replicas"))
    available = _int(status.get("availableReplicas"))
    return updated > 0 and (updated < replicas or total > updated or available < replicas)


def rollout_rolling(body: Mapping[str, Any]) -> bool:
    """A canary or blue-green of a new revision has pods and is neither promoted nor aborted."""
    status = body.get("status") or {}
    if status.get("abort"):
        return False
    current, stable = status.get("currentPodHash"), status.get("stableRS")
    return bool(current and stable and current != stable and _int(status.get("updatedReplicas")) > 0)


def pause_writer(metadata: Mapping[str, Any]) -> tuple[str | None, datetime | None]:
    """Who last set ``spec.paused``, and when: the newest ``managedFields`` entry that owns it."""
    owners = [
        (when, str(entry.get("manager", "")))
        for entry in metadata.get("managedFields") or ()
        if "f:paused" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
        and (when := read_time(entry.get("time"))) is not None
    ]
    if not owners:
        return None, None
    when, manager = max(owners)
    return manager, when


def gitops_managed(metadata: Mapping[str, Any], tracking_label: str | None) -> bool:
    """Whether Argo CD tracks the object: its tracking annotation, or, when Argo CD tracks by label,
    that label. The label is only a sign when configured: Helm sets app.kubernetes.io/instance too."""
    if ARGOCD_TRACKING_ANNOTATION in (metadata.get("annotations") or {}):
        return True
    return tracking_label is not None and tracking_label in (metadata.get("labels") or {})


def workload_state(
    kind: WorkloadKind, body: Mapping[str, Any], tracking_label: str | None = None
) -> WorkloadState:
    metadata = body.get("metadata") or {}
    spec = body.get("spec") or {}
    template = spec.get("template") or {}
    annotations = metadata.get("annotations") or {}
    if kind is WorkloadKind.DEPLOYMENT:
        revision = annotations.get("deployment.kubernetes.io/revision")
        rolling = deployment_rolling(body)
        aborted = False
        status_current = deployment_status_current(body)
    else:
        revision = annotations.get("rollout.argoproj.io/revision")
        rolling = rollout_rolling(body)
        aborted = bool((body.get("status") or {}).get("abort"))
        status_current = True
    paused_by, paused_at = pause_writer(metadata)
    return WorkloadState(
        kind=kind,
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        uid=str(metadata.get("uid", "")),
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(annotations),
        paused=bool(spec.get("paused")),
        template_hash=template_hash(template),
        revision=revision,
        rollout_in_progress=rolling,
        aborted=aborted,
        change_type=_change_type(template),
        resource_version=str(metadata.get("resourceVersion", "")),
        selector_labels=dict((spec.get("selector") or {}).get("matchLabels") or {}),
        gitops_managed=gitops_managed(metadata, tracking_label),
        paused_by=paused_by,
        paused_at=paused_at,
        status_current=status_current,
    )


def is_older(version: str, than: str) -> bool:
    """Whether resourceVersion ``version`` predates ``than``. The API server's versions are etcd
    revisions, integers that only grow; anything else is never called older."""
    return version.isdigit() and than.isdigit() and int(version) < int(than)


def _created_at(metadata: Mapping[str, Any]) -> datetime | None:
    stamp = metadata.get("creationTimestamp")
    return stamp if isinstance(stamp, datetime) else read_time(stamp)


def track(model_type: type[ModelT], body: Mapping[str, Any]) -> Tracked[ModelT]:
    metadata = body.get("metadata") or {}
    model: ModelT | None = None
    problems: tuple[FieldProblem, ...] = ()
    try:
        parsed = parse_resource(body)
    except InvalidResourceError as error:
        problems = error.problems
    else:
        if isinstance(parsed, model_type):
            model = parsed
    return Tracked(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        generation=_int(metadata.get("generation")),
        created_at=_created_at(metadata),
        body=body,
        model=model,
        problems=problems,
    )


@dataclass(frozen=True)
class SelectorIndex:
    """Resources by namespace and by one label their selector requires, so what can reach one
    workload costs the resources that carry a matching label, not every resource of the kind.

    A resource whose selector requires labels is filed under the smallest (key, value) it requires;
    one that requires none (no selector, or only ``matchExpressions``) is a candidate for every
    workload of its namespace. Candidates are a superset of the matches: ``governs`` decides."""

    unkeyed: Mapping[str, tuple[int, ...]]
    by_label: Mapping[tuple[str, str, str], tuple[int, ...]]
    keys: tuple[ObjectKey, ...]

    @classmethod
    def of(cls, entries: Iterable[tuple[ObjectKey, LabelSelector | None]]) -> SelectorIndex:
        unkeyed: dict[str, list[int]] = {}
        by_label: dict[tuple[str, str, str], list[int]] = {}
        keys: list[ObjectKey] = []
        for position, (key, selector) in enumerate(entries):
            keys.append(key)
            required = (selector.match_labels or {}) if selector is not None else {}
            if required:
                label, value = min(required.items())
                by_label.setdefault((key.namespace, label, value), []).append(position)
            else:
                unkeyed.setdefault(key.namespace, []).append(position)
        return cls(
            unkeyed={namespace: tuple(found) for namespace, found in unkeyed.items()},
            by_label={label: tuple(found) for label, found in by_label.items()},
            keys=tuple(keys),
        )

    def candidates(self, namespace: str, labels: Mapping[str, str]) -> list[ObjectKey]:
        """In the order the entries were given, so an answer does not depend on the index."""
        positions = list(self.unkeyed.get(namespace, ()))
        for label, value in labels.items():
            positions += self.by_label.get((namespace, label, value), ())
        return [self.keys[position] for position in sorted(positions)]


@dataclass
class Collection(Generic[ModelT]):
    """The tracked objects of one kind, by namespace and name."""

    model_type: type[ModelT]
    selector_of: Callable[[ModelT], LabelSelector | None] | None = None
    """The selector of a kind that reaches workloads of its own namespace only, which
    ``candidates`` indexes; without it, every object of a namespace is a candidate there."""
    items: dict[ObjectKey, Tracked[ModelT]] = field(default_factory=dict)
    _index: SelectorIndex | None = field(default=None, init=False, repr=False, compare=False)

    def observe(self, body: Mapping[str, Any], deleted: bool) -> Tracked[ModelT]:
        tracked = track(self.model_type, body)
        key = ObjectKey(tracked.namespace, tracked.name)
        previous = self.items.get(key)
        if deleted:
            self.items.pop(key, None)
        else:
            self.items[key] = tracked
        # A status write (the cycle's own, many per cycle) leaves every selector as it was.
        if deleted or previous is None or previous.body.get("spec") != body.get("spec"):
            self._index = None
        return tracked

    @property
    def plural(self) -> str:
        return self.model_type.names.plural

    def get(self, namespace: str, name: str) -> Tracked[ModelT] | None:
        return self.items.get(ObjectKey(namespace, name))

    def valid(self) -> Iterator[Tracked[ModelT]]:
        return (tracked for tracked in self.items.values() if tracked.model is not None)

    def candidates(self, namespace: str, labels: Mapping[str, str]) -> list[Tracked[ModelT]]:
        """The valid objects of ``namespace`` whose selector can match ``labels``, as last seen."""
        if self._index is None:
            selector_of = self.selector_of
            self._index = SelectorIndex.of(
                (key, selector_of(tracked.model) if selector_of is not None else None)
                for key, tracked in self.items.items()
                if tracked.model is not None
            )
        return [self.items[key] for key in self._index.candidates(namespace, labels)]

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class World:
    """Everything slogate watches, as last seen."""

    platform_namespace: str | None = None
    gitops_tracking_label: str | None = None
    """The label Argo CD tracks resources by, when it tracks by label instead of annotation."""
    slos: Collection[ServiceLevelObjective] = field(
        default_factory=lambda: Collection(ServiceLevelObjective, selector_of=lambda slo: slo.spec.selector)
    )
    gates: Collection[ReleaseGate] = field(
        default_factory=lambda: Collection(ReleaseGate, selector_of=lambda gate: gate.spec.selector)
    )
    freezes: Collection[ChangeFreeze] = field(default_factory=lambda: Collection(ChangeFreeze))
    incidents: Collection[Incident] = field(default_factory=lambda: Collection(Incident))
    workloads: dict[tuple[WorkloadKind, str, str], WorkloadState] = field(default_factory=dict)
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def collections(self) -> tuple[Collection[Any], ...]:
        """One collection per kind of the registry (``slogate.api.kinds.RESOURCE_TYPES``)."""
        return (self.slos, self.gates, self.freezes, self.incidents)

    def collection(self, plural: str) -> Collection[Any]:
        """The collection of the kind the API server serves as ``plural``; KeyError for another."""
        model = by_plural(plural)
        return next(collection for collection in self.collections() if collection.model_type is model)

    def observe_workload(self, kind: WorkloadKind, body: Mapping[str, Any], deleted: bool) -> WorkloadState:
        """Take in a watched body, unless it is older than what slogate itself has written since."""
        state = workload_state(kind, body, self.gitops_tracking_label)
        if deleted:
            self.workloads.pop(state.key, None)
            return state
        known = self.workloads.get(state.key)
        if known is not None and is_older(state.resource_version, known.resource_version):
            return known
        if known is not None and not state.status_current and known.template_hash == state.template_hash:
            # Same template, status not caught up (an annotation write, a pause): the rollout is
            # where it was. Read as "not rolling", slogate's own mark would turn a Rollback into a
            # Hold and the next mark back again, each write bumping the generation once more.
            state = replace(state, rollout_in_progress=known.rollout_in_progress)
        self.workloads[state.key] = state
        return state

    def record_write(
        self,
        key: tuple[WorkloadKind, str, str],
        paused: bool | None,
        annotations: Mapping[str, str | None],
        resource_version: str,
        *,
        rolled_back_to: str | None = None,
        aborted: bool | None = None,
    ) -> None:
        """Apply slogate's own write to the cached state at once. The next reconcile may run before
        the watch event of that write arrives; it must see the write, not repeat it: a rollback
        replaced the template (``rolled_back_to``, its hash), an abort set ``status.abort``."""
        state = self.workloads.get(key)
        if state is None:
            return
        merged = {k: v for k, v in {**state.annotations, **annotations}.items() if v is not None}
        self.workloads[key] = replace(
            state,
            annotations=merged,
            paused=state.paused if paused is None else paused,
            template_hash=state.template_hash if rolled_back_to is None else rolled_back_to,
            # A rollback starts the rollout of the template it restores: in progress until the
            # controller's status says otherwise.
            rollout_in_progress=state.rollout_in_progress or rolled_back_to is not None,
            aborted=state.aborted if aborted is None else aborted,
            resource_version=resource_version,
        )

    def observe_namespace(self, body: Mapping[str, Any], deleted: bool) -> None:
        metadata = body.get("metadata") or {}
        name = str(metadata.get("name", ""))
        if deleted:
            self.namespace_labels.pop(name, None)
        else:
            self.namespace_labels[name] = dict(metadata.get("labels") or {})

    def as_workload(self, state: WorkloadState) -> Workload:
        return Workload(
            kind=state.kind,
            namespace=state.namespace,
            name=state.name,
            labels=state.labels,
            namespace_labels=self.namespace_labels.get(state.namespace, {}),
        )

    def gates_for(self, workload: Workload) -> list[Tracked[ReleaseGate]]:
        return [
            gate
            for gate in self.gates.candidates(workload.namespace, workload.labels)
            if gate.model is not None
            and governs(gate.namespace, gate.model.spec.selector, None, workload, self.platform_namespace)
        ]

    def slos_for(self, workload: Workload) -> list[Tracked[ServiceLevelObjective]]:
        return [
            slo
            for slo in self.slos.candidates(workload.namespace, workload.labels)
            if slo.model is not None
            and governs(slo.namespace, slo.model.spec.selector, None, workload, self.platform_namespace)
        ]

    def freezes_for(self, workload: Workload) -> list[Tracked[ChangeFreeze]]:
        return [
            freeze
            for freeze in self.freezes.valid()
            if freeze.model is not None
            and governs(
                freeze.namespace,
                freeze.model.spec.selector,
                freeze.model.spec.namespace_selector,
                workload,
                self.platform_namespace,
            )
        ]

    def incidents_for(self, workload: Workload) -> list[Tracked[Incident]]:
        return [
            incident
            for incident in self.incidents.valid()
            if incident.model is not None
            and governs(
                incident.namespace,
                incident.model.spec.affected_selector,
                incident.model.spec.namespace_selector,
                workload,
                self.platform_namespace,
            )
        ]

    def workloads_in_reach_of(self, namespace: str) -> list[WorkloadState]:
        """Every workload a resource in ``namespace`` could reach, before or after a change to it."""
        if namespace == self.platform_namespace:
            return list(self.workloads.values())
        return [state for state in self.workloads.values() if state.namespace == namespace]
