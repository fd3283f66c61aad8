"""The status slogate writes on ReleaseGates, ChangeFreezes and Incidents after a cycle.

Each is built from the World and the decisions of this cycle, so ``kubectl get`` shows what slogate
is doing and why: a gate lists its verdict per workload with every input value, a freeze its
windows and the workloads it holds, an incident its timeline and the recent deployments of what it
affects. Times that mark a transition are carried over from the previous status when nothing
changed, so they mean what they say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from slogate.api.base import WorkloadKind, WorkloadReference
from slogate.api.durations import format_duration
from slogate.api.freeze import ChangeFreeze, ChangeFreezeStatus, FreezeWindowStatus
from slogate.api.gate import CheckKind, ReleaseGate, ReleaseGateStatus, Verdict, WorkloadVerdict
from slogate.api.incident import Incident, IncidentStatus, RecentDeployment, TimelineEntry
from slogate.api.wire import format_time
from slogate.domain.calendar import FreezeWindow
from slogate.domain.verdict import Decision
from slogate.reconcile.conditions import as_merge_patch, previous_conditions, readiness, validity
from slogate.reconcile.snapshots import freeze_state_at
from slogate.reconcile.world import Tracked, WorkloadState

WorkloadKey = tuple[WorkloadKind, str, str]
_SEVERITY = {Verdict.PROCEED: 0, Verdict.RESUME: 0, Verdict.HOLD: 1, Verdict.ROLLBACK: 2}


def reference(state: WorkloadState, home_namespace: str) -> WorkloadReference:
    namespace = None if state.namespace == home_namespace else state.namespace
    return WorkloadReference(kind=state.kind, namespace=namespace, name=state.name)


def _dump(status: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = status.model_dump(by_alias=True, mode="json", exclude_none=True)
    return dumped


def _invalid_status(tracked: Tracked[Any], now: datetime) -> dict[str, Any]:
    previous = previous_conditions(tracked.body)
    return {
        "observedGeneration": tracked.generation,
        "lastEvaluationTime": format_time(now),
        "conditions": [
            _dump(
                validity(problems=tracked.problems, now=now, generation=tracked.generation, previous=previous)
            ),
            _dump(
                readiness(
                    ready=False,
                    reason="InvalidSpec",
                    message="not in force: the spec is invalid",
                    now=now,
                    generation=tracked.generation,
                    previous=previous,
                )
            ),
        ],
    }


def _valid_conditions(tracked: Tracked[Any], now: datetime, message: str) -> list[Any]:
    previous = previous_conditions(tracked.body)
    return [
        validity(problems=(), now=now, generation=tracked.generation, previous=previous),
        readiness(
            ready=True,
            reason="Evaluated",
            message=message,
            now=now,
            generation=tracked.generation,
            previous=previous,
        ),
    ]


def gate_status(
    tracked: Tracked[ReleaseGate],
    governed: Sequence[WorkloadState],
    decisions: Mapping[WorkloadKey, Decision],
    now: datetime,
) -> dict[str, Any]:
    if tracked.model is None:
        return _invalid_status(tracked, now)
    spec = tracked.model.spec
    earlier: dict[tuple[str, str | None, str], WorkloadVerdict] = {}
    if tracked.model.status is not None:
        for entry in tracked.model.status.workloads:
            earlier[(entry.workload.kind, entry.workload.namespace, entry.workload.name)] = entry
    verdicts = []
    for state in governed:
        decision = decisions.get(state.key)
        if decision is None:
            continue
        ref = reference(state, tracked.namespace)
        before = earlier.get((ref.kind, ref.namespace, ref.name))
        unchanged = before is not None and before.verdict is decision.action
        transition = before.last_transition_time if unchanged and before is not None else now
        verdicts.append(decision.to_status(ref, transition))
    override = spec.override
    status = ReleaseGateStatus(
        observed_generation=tracked.generation,
        mode=spec.mode,
        verdict=max(
            (v.verdict for v in verdicts), key=lambda verdict: _SEVERITY[verdict], default=Verdict.PROCEED
        ),
        held_count=sum(1 for v in verdicts if v.enforced_verdict in (Verdict.HOLD, Verdict.ROLLBACK)),
        override_active=override is not None and now < override.expires,
        workloads=verdicts,
        last_evaluation_time=now,
        conditions=_valid_conditions(tracked, now, f"governs {len(verdicts)} workload(s)"),
    )
    return as_merge_patch(_dump(status), tracked.body.get("status"))


def _window(window: FreezeWindow | None) -> FreezeWindowStatus | None:
    return None if window is None else FreezeWindowStatus(start=window.start, end=window.end)


def blocked_by(decision: Decision, check: CheckKind, source: str) -> bool:
    return any(reason.check is check and reason.source == source for reason in decision.blocking_reasons)


def freeze_status(
    tracked: Tracked[ChangeFreeze],
    selected: Sequence[WorkloadState],
    decisions: Mapping[WorkloadKey, Decision],
    now: datetime,
) -> dict[str, Any]:
    state = freeze_state_at(tracked, now)
    if tracked.model is None or state is None:
        return _invalid_status(tracked, now)
    source = f"ChangeFreeze/{tracked.name}"
    held = [
        reference(workload, tracked.namespace)
        for workload in selected
        if (decision := decisions.get(workload.key)) is not None
        and blocked_by(decision, CheckKind.FREEZE, source)
    ]
    status = ChangeFreezeStatus(
        observed_generation=tracked.generation,
        active=state.active,
        current_window=_window(state.current),
        next_window=_window(state.next),
        next_change=state.next_change,
        held_workloads=held,
        last_evaluation_time=now,
        conditions=_valid_conditions(tracked, now, "in force" if state.active else "not in force"),
    )
    return as_merge_patch(_dump(status), tracked.body.get("status"))


def _elapsed(start: datetime, end: datetime) -> str | None:
    seconds = int((end - start).total_seconds())
    return format_duration(timedelta(seconds=seconds)) if seconds > 0 else None


def incident_status(
    tracked: Tracked[Incident],
    affected: Sequence[WorkloadState],
    decisions: Mapping[WorkloadKey, Decision],
    recent: Mapping[WorkloadKey, Sequence[RecentDeployment]],
    now: datetime,
) -> dict[str, Any]:
    if tracked.model is None:
        return _invalid_status(tracked, now)
    spec = tracked.model.spec
    before = tracked.model.status
    timeline = list(before.timeline) if before is not None else []
    if not timeline or timeline[-1].state is not spec.state:
        timeline.append(
            TimelineEntry(time=now, state=spec.state, message=f"{spec.severity.value}: {spec.title}")
        )
    opened_at = spec.started_at or (before.opened_at if before is not None else None) or timeline[0].time
    resolved_at = None
    if not spec.state.is_open:
        resolved_at = (before.resolved_at if before is not None else None) or now
    source = f"Incident/{tracked.name}"
    holding = any(
        (decision := decisions.get(workload.key)) is not None
        and blocked_by(decision, CheckKind.INCIDENT, source)
        for workload in affected
    )
    deployments = sorted(
        (deployment for workload in affected for deployment in recent.get(workload.key, ())),
        key=lambda deployment: deployment.time,
        reverse=True,
    )
    status = IncidentStatus(
        observed_generation=tracked.generation,
        opened_at=opened_at,
        resolved_at=resolved_at,
        duration=_elapsed(opened_at, resolved_at or now),
        holding_promotions=holding,
        affected_workloads=[reference(workload, tracked.namespace) for workload in affected],
        timeline=timeline,
        recent_deployments=deployments,
        conditions=_valid_conditions(tracked, now, "open" if spec.state.is_open else "resolved"),
    )
    return as_merge_patch(_dump(status), tracked.body.get("status"))
