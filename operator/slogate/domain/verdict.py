"""The release decision for one workload at one moment: Proceed, Hold, Rollback or Resume.

Modelled on Argo Rollouts' pure analysis evaluation: a function of snapshots, no I/O, ``now`` passed
in, so the same inputs always give the same verdict and the operator can recompute it after any
restart. Each governing gate contributes its reasons (``slogate.domain.checks``); the most severe
gate outcome wins (Rollback > Hold > Proceed). DryRun gates take part in the decision but not in
what is enforced, and the verdict says so. A workload slogate is holding gets Resume, not Proceed,
once nothing blocks it. With no gate governing a workload, a built-in policy still honours freezes
and incidents (the ReleaseGate defaults, without error-budget checks): creating a ChangeFreeze or a
P1 Incident is enough to stop releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slogate.api.base import ChangeType, LabelSelector, WorkloadReference
from slogate.api.gate import (
    DuringRolloutAction,
    Mode,
    ReleaseGateSpec,
    Verdict,
    VerdictReason,
    WorkloadVerdict,
)
from slogate.domain.checks import Reason, gate_reasons
from slogate.domain.inputs import DecisionInput, GateSnapshot

DEFAULT_POLICY = GateSnapshot(
    name=None,
    spec=ReleaseGateSpec(selector=LabelSelector(), max_budget_consumed_per_release=None),
)
"""Applied when no ReleaseGate governs a workload: freezes and P1/P2 incidents hold, nothing else."""

_SEVERITY = {Verdict.PROCEED: 0, Verdict.RESUME: 0, Verdict.HOLD: 1, Verdict.ROLLBACK: 2}


@dataclass(frozen=True)
class Decision:
    """A verdict with everything that explains it."""

    action: Verdict
    enforced_action: Verdict
    reasons: tuple[Reason, ...]
    expected_clear_at: datetime | None
    evaluated_at: datetime
    rollout_in_progress: bool
    change_type: ChangeType | None

    @property
    def enforced(self) -> bool:
        """False when the decision comes from DryRun gates only: computed, reported, not enforced."""
        return self.action == self.enforced_action

    @property
    def blocking_reasons(self) -> tuple[Reason, ...]:
        return tuple(reason for reason in self.reasons if reason.blocking)

    def to_status(
        self, workload: WorkloadReference, last_transition_time: datetime | None
    ) -> WorkloadVerdict:
        """The ReleaseGate status entry for this decision."""
        return WorkloadVerdict(
            workload=workload,
            verdict=self.action,
            enforced=self.enforced,
            enforced_verdict=self.enforced_action,
            change_type=self.change_type,
            rollout_in_progress=self.rollout_in_progress,
            reasons=[
                VerdictReason(
                    check=reason.check,
                    gate=reason.gate,
                    source=reason.source,
                    passed=reason.passed,
                    waived=reason.waived,
                    enforced=reason.enforced,
                    message=reason.message,
                    observed=reason.observed,
                    limit=reason.limit,
                    clears_at=reason.clears_at,
                )
                for reason in self.reasons
            ],
            expected_clear_time=self.expected_clear_at,
            last_transition_time=last_transition_time,
        )


def _gate_action(gate: GateSnapshot, reasons: list[Reason], rollout_in_progress: bool) -> Verdict:
    blocking = [reason for reason in reasons if reason.blocking]
    if not blocking:
        return Verdict.PROCEED
    rolls_back = gate.spec.on_violation.during_rollout is DuringRolloutAction.ROLLBACK
    if rollout_in_progress and rolls_back and any(reason.rollback_eligible for reason in blocking):
        return Verdict.ROLLBACK
    return Verdict.HOLD


def _most_severe(actions: list[Verdict]) -> Verdict:
    return max(actions, key=lambda action: _SEVERITY[action], default=Verdict.PROCEED)


def _resumed(action: Verdict, currently_held: bool) -> Verdict:
    return Verdict.RESUME if action is Verdict.PROCEED and currently_held else action


def _expected_clear(blocking: list[Reason]) -> datetime | None:
    """When every blocking reason clears; unknown (None) if any has no expected end."""
    if not blocking or any(reason.clears_at is None for reason in blocking):
        return None
    return max(reason.clears_at for reason in blocking if reason.clears_at is not None)


def decide(inputs: DecisionInput) -> Decision:
    """The verdict for ``inputs.workload`` at ``inputs.now``."""
    if inputs.now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    gates = sorted(inputs.gates, key=lambda gate: gate.name or "") or [DEFAULT_POLICY]
    reasons: list[Reason] = []
    actions: list[Verdict] = []
    enforced_actions: list[Verdict] = []
    for gate in gates:
        found = gate_reasons(gate, inputs)
        action = _gate_action(gate, found, inputs.rollout_in_progress)
        reasons.extend(found)
        actions.append(action)
        if gate.spec.mode is Mode.ENFORCE:
            enforced_actions.append(action)
    return Decision(
        action=_resumed(_most_severe(actions), inputs.currently_held),
        enforced_action=_resumed(_most_severe(enforced_actions), inputs.currently_held),
        reasons=tuple(reasons),
        expected_clear_at=_expected_clear([reason for reason in reasons if reason.blocking]),
        evaluated_at=inputs.now,
        rollout_in_progress=inputs.rollout_in_progress,
        change_type=inputs.change_type,
    )
