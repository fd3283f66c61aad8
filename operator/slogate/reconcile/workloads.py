"""Enforcing a decision on one workload: level-triggered, idempotent, safe to repeat after a crash.

The same function runs when a workload changes, when a resource that reaches it changes, and on
every evaluation tick. It compares what the decision asks for with what the workload already shows
(``spec.paused``, slogate's ``held`` and ``rolled-back-to`` annotations, a Rollout's
``status.abort``) and writes only the difference, so repeating it changes nothing and a restarted
operator neither loses a hold nor repeats a rollback. It never lifts a pause it did not place.

Every recorded decision is reported as a Kubernetes Event and then handed to the optional
decision sinks (Grafana annotations, a webhook); a sink that fails is logged and skipped, since
the annotations on the workload are the durable record and the decision is already enforced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from slogate.api.base import WorkloadKind
from slogate.api.gate import CheckKind, NoDataPolicy, Verdict
from slogate.api.wire import (
    ACTION_REQUIRED_ANNOTATION,
    DECISION_ANNOTATION,
    HELD_BY_ADMISSION,
    HELD_BY_ANNOTATION,
    HELD_LATE_ANNOTATION,
    HELD_TEMPLATE_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
    format_time,
)
from slogate.domain.verdict import Decision, decide
from slogate.reconcile.admission import AdmissionHolds
from slogate.reconcile.markers import (
    deciding_gates,
    decision_annotations,
    differs,
    explanation,
    hold_annotations,
    release_annotations,
)
from slogate.reconcile.ports import (
    Annotations,
    DecisionMarker,
    DecisionSink,
    EventRecorder,
    EventType,
    InvolvedObject,
    RevisionPods,
    RollbackRefusedError,
    Telemetry,
    WorkloadRef,
    WorkloadWriter,
)
from slogate.reconcile.reach import InReach, reach_of_one
from slogate.reconcile.snapshots import CycleInputs, decision_input
from slogate.reconcile.world import WorkloadState, World

log = logging.getLogger(__name__)

NOTHING_MEASURED = CycleInputs()
"""The inputs before any cycle has measured: no check values, no release impacts."""

API_VERSIONS = {WorkloadKind.DEPLOYMENT: "apps/v1", WorkloadKind.ROLLOUT: "argoproj.io/v1alpha1"}


class Action(StrEnum):
    """What a reconcile writes, beyond the marker annotations."""

    NONE = "None"
    PAUSE = "Pause"
    UNPAUSE = "Unpause"
    ROLL_BACK = "RollBack"
    ABORT = "Abort"


@dataclass(frozen=True)
class Plan:
    action: Action
    note: str = ""
    markers: Mapping[str, str | None] = field(default_factory=dict)
    """Annotations the plan writes besides the decision's own markers."""


def _plan_hold(state: WorkloadState) -> Plan:
    if state.held_by_slogate:
        return Plan(Action.NONE)
    if state.aborted:
        # A paused Rollout is not reconciled by its controller, so pausing an aborted one could
        # leave its canary pods running; aborted, it stays on the stable revision anyway.
        return Plan(
            Action.NONE, "aborted: the Rollout stays on its stable revision until its template changes"
        )
    if state.paused:
        return Plan(Action.NONE, "already paused by someone else; slogate leaves that pause alone")
    return Plan(Action.PAUSE)


ROLLBACK_IN_GIT = (
    "managed by Argo CD, whose self-heal would revert a rollback: slogate holds it instead; "
    "roll back in Git (revert the commit) and the new revision is let through"
)


def _plan_rollback_in_git(state: WorkloadState) -> Plan:
    """A Deployment Argo CD syncs is held, never rolled back in the cluster: a rollback is drift
    that self-heal reverts within seconds, and slogate would roll back again, flapping between
    revisions. The template held is recorded, so the rollback made in Git can be recognised."""
    hold = _plan_hold(state)
    if hold.action is Action.NONE and not state.held_by_slogate:
        return hold
    return Plan(
        hold.action,
        ROLLBACK_IN_GIT,
        {
            HELD_TEMPLATE_ANNOTATION: state.annotations.get(HELD_TEMPLATE_ANNOTATION) or state.template_hash,
            ACTION_REQUIRED_ANNOTATION: ROLLBACK_IN_GIT,
        },
    )


def _plan_rolled_back_in_git(state: WorkloadState) -> Plan | None:
    """The rollback made in Git, let through. While slogate holds a synced Deployment in place of
    a rollback, a different template can only come from a new Git revision: the revert (or a fix).
    Holding it would keep the bad revision's pods running, and the burn they cause would never
    clear; so it is released and remembered as the rollback target, which no Hold or Rollback
    verdict holds again. None when this does not apply."""
    if state.kind is not WorkloadKind.DEPLOYMENT or not state.gitops_managed:
        return None
    if state.is_rollback_target:
        note = "rolled back in Git to this template; slogate does not hold it again"
        return Plan(Action.UNPAUSE if state.held_by_slogate else Action.NONE, note)
    held_template = state.annotations.get(HELD_TEMPLATE_ANNOTATION)
    if state.held_by_slogate and held_template is not None and held_template != state.template_hash:
        return Plan(
            Action.UNPAUSE,
            "a new revision from Git replaced the one held in place of a rollback; slogate lets it roll out",
            {ROLLED_BACK_TO_ANNOTATION: state.template_hash},
        )
    return None


def _plan_rollback(state: WorkloadState) -> Plan:
    if state.kind is WorkloadKind.DEPLOYMENT and state.gitops_managed:
        return _plan_rollback_in_git(state)
    if state.kind is WorkloadKind.ROLLOUT:
        return Plan(Action.NONE, "already aborted") if state.aborted else Plan(Action.ABORT)
    if state.is_rollback_target:
        return Plan(Action.NONE, "already rolled back to this template")
    if state.paused and not state.held_by_slogate:
        return Plan(Action.NONE, "paused by someone else; kubectl rollout undo refuses a paused Deployment")
    return Plan(Action.ROLL_BACK)


ROLLBACK_ROLLING_OUT = (
    "the rollback slogate made is rolling out; pausing it would keep the bad revision's pods, so "
    "slogate holds once it completes"
)

PAUSE_ECHOED = (
    "Argo CD wrote back the pause slogate had lifted (a sync that began during the hold applied the "
    "spec.paused it read then)"
)


def plan(state: WorkloadState, decision: Decision) -> Plan:
    """The write that brings the workload in line with the enforced decision."""
    wanted = decision.enforced_action
    if wanted in (Verdict.HOLD, Verdict.ROLLBACK) and (in_git := _plan_rolled_back_in_git(state)):
        return in_git
    if wanted is Verdict.HOLD:
        if state.is_rollback_target and (state.rollout_in_progress or not state.status_current):
            return Plan(Action.NONE, ROLLBACK_ROLLING_OUT)
        return _plan_hold(state)
    if wanted is Verdict.ROLLBACK:
        return _plan_rollback(state)
    if state.pause_echoed:
        return Plan(Action.UNPAUSE, f"{PAUSE_ECHOED}; released again")
    return Plan(Action.UNPAUSE) if state.held_by_slogate else Plan(Action.NONE)


def _released(state: WorkloadState, now: datetime) -> dict[str, str | None]:
    """The marks of a lifted hold. The release time is kept on a workload Argo CD syncs, to know
    its echo by; releasing an echo drops it, so the same write-back is never released twice."""
    return release_annotations(now if state.gitops_managed and not state.pause_echoed else None)


def _untouched_and_free(state: WorkloadState, decision: Decision) -> bool:
    """A workload slogate never marked, free to proceed with nothing waived or overridden: nothing to
    explain or audit, so nothing is written (thousands of healthy workloads would otherwise each get
    an annotation and an Event)."""
    return (
        decision.action is Verdict.PROCEED
        and DECISION_ANNOTATION not in state.annotations
        and not any(reason.waived or reason.check is CheckKind.OVERRIDE for reason in decision.reasons)
    )


@dataclass(frozen=True)
class Outcome:
    ref: WorkloadRef
    decision: Decision
    action: Action
    recorded: bool
    note: str = ""


def _held_at_admission(state: WorkloadState, decision: Decision) -> bool:
    """Admission held this deploy and the operator has not recorded the hold yet."""
    return (
        decision.enforced_action is Verdict.HOLD
        and state.held_by_slogate
        and state.annotations.get(HELD_BY_ANNOTATION) == HELD_BY_ADMISSION
        and state.annotations.get(DECISION_ANNOTATION) != Verdict.HOLD.value
    )


def _event_for(
    action: Action, decision: Decision, state: WorkloadState, late: str | None
) -> tuple[EventType, str]:
    if action is Action.PAUSE and late is not None:
        return EventType.WARNING, "HeldLate"
    if action is Action.NONE and _held_at_admission(state, decision):
        return EventType.WARNING, "HeldAtAdmission"
    if action in (Action.PAUSE, Action.ROLL_BACK, Action.ABORT):
        return EventType.WARNING, {
            Action.PAUSE: "Held",
            Action.ROLL_BACK: "RolledBack",
            Action.ABORT: "Aborted",
        }[action]
    if action is Action.UNPAUSE:
        return EventType.NORMAL, "Released"
    if not decision.enforced:
        return EventType.NORMAL, f"DryRun{decision.action.value}"
    return EventType.NORMAL, f"Decision{decision.enforced_action.value}"


class WorkloadReconciler:
    """Decides and enforces for one workload at a time; one lock per workload serialises triggers."""

    def __init__(
        self,
        world: World,
        workloads: WorkloadWriter,
        events: EventRecorder,
        *,
        outage_policy: NoDataPolicy = NoDataPolicy.HOLD,
        sinks: Sequence[DecisionSink] = (),
        admission: AdmissionHolds | None = None,
        revisions: RevisionPods | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self._world = world
        self._admission = admission
        self._revisions = revisions
        self._telemetry = telemetry
        self._workloads = workloads
        self._events = events
        self._sinks = tuple(sinks)
        self._outage_policy = outage_policy
        self._locks: dict[tuple[WorkloadKind, str, str], asyncio.Lock] = {}

    def _no_data_policy(self, inputs: CycleInputs) -> NoDataPolicy | None:
        return self._outage_policy if inputs.prometheus_outage else None

    async def refresh_holds(self, now: datetime, inputs: CycleInputs) -> None:
        """Publish the holds admission applies, from the same inputs the decisions use."""
        if self._admission is not None:
            await self._admission.refresh(now, inputs.check_values, self._no_data_policy(inputs))

    def decide(self, state: WorkloadState, reach: InReach, now: datetime, inputs: CycleInputs) -> Decision:
        return decide(
            decision_input(
                world=self._world,
                state=state,
                reach=reach,
                check_values=inputs.check_values,
                now=now,
                no_data_policy=self._no_data_policy(inputs),
                release=inputs.release_impacts.get(state.key),
            )
        )

    async def reconcile(
        self,
        key: tuple[WorkloadKind, str, str],
        now: datetime,
        inputs: CycleInputs = NOTHING_MEASURED,
        reach: InReach | None = None,
    ) -> Outcome | None:
        """Bring one workload in line with its decision at ``now`` on the cycle's ``inputs``; None
        when it is gone. ``reach`` comes from the cycle's index; a lone reconcile looks it up."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            state = self._world.workloads.get(key)
            if state is None:
                self._locks.pop(key, None)
                return None
            return await self._enforce(state, reach or reach_of_one(self._world, state), now, inputs)

    async def _enforce(
        self, state: WorkloadState, reach: InReach, now: datetime, inputs: CycleInputs
    ) -> Outcome:
        decision = self.decide(state, reach, now, inputs)
        intended = plan(state, decision)
        ref = WorkloadRef(state.kind, state.namespace, state.name)
        slo_states = {
            tracked.name: (
                tracked.model.status.state.value
                if tracked.model and tracked.model.status and tracked.model.status.state
                else "Unknown"
            )
            for tracked in reach.slos
        }
        markers: dict[str, str | None] = dict(decision_annotations(decision, state.revision, slo_states, now))
        markers.update(intended.markers)
        action, note = intended.action, intended.note
        if state.pause_echoed and action is Action.NONE:
            # Still to hold: the pause Argo CD wrote back is slogate's hold again, marked as such.
            markers.update(hold_annotations(now))
            note = "; ".join(part for part in (note, f"{PAUSE_ECHOED}; kept as slogate's hold") if part)
        recorded = action is not Action.NONE or (
            differs(state.annotations, markers) and not _untouched_and_free(state, decision)
        )
        if not recorded:
            return Outcome(ref=ref, decision=decision, action=action, recorded=False, note=note)
        try:
            await self._write(state, ref, action, markers, now)
        except RollbackRefusedError as refused:
            action, note = Action.NONE, str(refused)
            await self._write(state, ref, action, markers, now)
        # Held first: finding out whether admission missed this deploy lists its ReplicaSets, a
        # round trip the hold itself must not wait for.
        late = await self._late(state, now) if action is Action.PAUSE else None
        if late is not None:
            await self._write(state, ref, Action.NONE, {HELD_LATE_ANNOTATION: late}, now)
        explained = "; ".join(part for part in (late, note) if part)
        await self._report(state, decision, action, explained, now, late=late)
        return Outcome(ref=ref, decision=decision, action=action, recorded=recorded, note=note)

    async def _write(
        self,
        state: WorkloadState,
        ref: WorkloadRef,
        action: Action,
        markers: dict[str, str | None],
        now: datetime,
    ) -> None:
        """Write the action with its markers, then apply the write to the World at once, so a
        reconcile that runs before the watch event of this write does not repeat it."""
        paused: bool | None = None
        rolled_back_to: str | None = None
        aborted: bool | None = None
        written: dict[str, str | None] = dict(markers)
        if action is Action.PAUSE:
            paused, written = True, {**markers, **hold_annotations(now)}
            version = await asyncio.to_thread(self._workloads.set_paused, ref, True, written)
        elif action is Action.UNPAUSE:
            paused, written = False, {**markers, **_released(state, now)}
            version = await asyncio.to_thread(self._workloads.set_paused, ref, False, written)
        elif action is Action.ROLL_BACK:
            lifted: Annotations = _released(state, now) if state.held_by_slogate else {}
            outcome = await asyncio.to_thread(
                self._workloads.roll_back_deployment,
                ref,
                {**markers, **lifted},
                state.held_by_slogate,
                ROLLED_BACK_TO_ANNOTATION,
            )
            paused = False if state.held_by_slogate else None
            written = {**markers, **lifted, ROLLED_BACK_TO_ANNOTATION: outcome.target_template_hash}
            rolled_back_to = outcome.target_template_hash
            version = outcome.resource_version
        elif action is Action.ABORT:
            version = await asyncio.to_thread(self._workloads.abort_rollout, ref, markers)
            aborted = True
            if state.held_by_slogate:
                lifted = _released(state, now)
                paused, written = False, {**markers, **lifted}
                version = await asyncio.to_thread(self._workloads.set_paused, ref, False, lifted)
        else:
            version = await asyncio.to_thread(self._workloads.annotate, ref, markers)
        self._world.record_write(
            state.key, paused, written, version, rolled_back_to=rolled_back_to, aborted=aborted
        )

    async def _late(self, state: WorkloadState, now: datetime) -> str | None:
        """When admission should have held this deploy and did not (the policy was removed, the
        webhook was down): what had already started. None when admission is off, when nothing it
        publishes catches the workload, or when its newest revision is not younger than the hold
        (a rollout already under way when the hold began). Both times have whole seconds: within
        the same second, the deploy is given the benefit of the doubt. A template no ReplicaSet
        has yet is a deploy that has just arrived unpaused: late, with no pod started."""
        if self._admission is None or self._revisions is None:
            return None
        caught = self._admission.caught(state)
        if not caught:
            return None
        since = min(hold.since for hold in caught)
        ref = WorkloadRef(state.kind, state.namespace, state.name)
        start = await asyncio.to_thread(
            self._revisions.revision_start, ref, state.uid, state.template_hash, since
        )
        if start.template_deployed and (start.created_at is None or start.created_at <= since):
            return None
        if self._telemetry is not None:
            self._telemetry.held_late(state.kind.value, state.namespace, start.pods_started)
        return (
            f"held late: admission did not hold this deploy; {start.pods_started} pod(s) of the new "
            f"revision started after the hold began at {format_time(since)}"
        )

    async def _report(
        self,
        state: WorkloadState,
        decision: Decision,
        action: Action,
        note: str,
        now: datetime,
        *,
        late: str | None = None,
    ) -> None:
        event_type, reason = _event_for(action, decision, state, late)
        message = explanation(decision) + (f" ({note})" if note else "")
        await asyncio.to_thread(
            self._events.post,
            InvolvedObject(
                API_VERSIONS[state.kind], state.kind.value, state.namespace, state.name, state.uid
            ),
            event_type=event_type,
            reason=reason,
            action=action.value,
            message=message,
            now=now,
        )
        marker = DecisionMarker(
            workload=WorkloadRef(state.kind, state.namespace, state.name),
            decision=decision.enforced_action.value,
            action=action.value,
            event_reason=reason,
            reason=message,
            gates=deciding_gates(decision),
            revision=state.revision,
            time=now,
        )
        await asyncio.gather(*(self._record(sink, marker) for sink in self._sinks))

    @staticmethod
    async def _record(sink: DecisionSink, marker: DecisionMarker) -> None:
        """One sink, in a thread; whatever it raises is logged, never passed on to the reconcile."""
        try:
            await asyncio.to_thread(sink.record, marker)
        except Exception:
            log.exception(
                "decision sink %s failed to record %s for %s", sink, marker.decision, marker.workload
            )
