"""The hold applied at admission: which writes are deploys, and which holds catch them.

A deploy that arrives while promotions are held must be paused in the write itself: a pause that
follows even 150 ms later lets a Deployment roll all its pods. This module is the decision the
fallback webhook runs, and the reference the MutatingAdmissionPolicy's CEL
(``slogate.api.admission``) mirrors expression for expression; the unit tests hold the two to the
same table. It reads the holds the operator published for the namespace (``HoldSet``), never the
cluster.

A write is held when it is a deploy (a new workload, or a changed pod template) or lifts slogate's
hold while keeping slogate's ``held`` annotation (``kubectl rollout resume``, or a GitOps sync of
``paused: false``: either would roll the queued revision during the hold), is not slogate's own
rollback, is not already paused (a person's pause is theirs), and the workload matches a hold
whose exemptions do not cover its change type. slogate releases its hold by removing ``held`` in
the same write that unpauses, so that write always passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from slogate.api.holdset import HoldRule
from slogate.api.wire import (
    CHANGE_TYPE_ANNOTATION,
    HELD_ANNOTATION,
    HELD_BY_ADMISSION,
    HELD_BY_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    REASON_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
)
from slogate.domain.scope import selector_matches

CREATE = "CREATE"
UPDATE = "UPDATE"


def _annotations(body: Mapping[str, Any] | None) -> Mapping[str, str]:
    return ((body or {}).get("metadata") or {}).get("annotations") or {}


def _template(body: Mapping[str, Any] | None) -> Any:
    return ((body or {}).get("spec") or {}).get("template")


def change_type_of(body: Mapping[str, Any]) -> str:
    """The change type the pod template declares; empty when it declares none."""
    metadata = (_template(body) or {}).get("metadata") or {}
    return str((metadata.get("annotations") or {}).get(CHANGE_TYPE_ANNOTATION, ""))


def is_deploy(operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """A new workload, or a change of its pod template: what makes pods of a new revision."""
    return operation == CREATE or (operation == UPDATE and _template(new) != _template(old))


def _paused(body: Mapping[str, Any] | None) -> bool:
    return ((body or {}).get("spec") or {}).get("paused") is True


def lifts_hold(operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """An unpause of slogate's hold by a write that leaves slogate's ``held`` annotation in place."""
    return (
        operation == UPDATE
        and _paused(old)
        and _annotations(old).get(HELD_ANNOTATION) == "true"
        and _annotations(new).get(HELD_ANNOTATION) == "true"
    )


def is_slogate_rollback(operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    """slogate's own rollback writes the template it restores together with a new
    ``rolled-back-to`` value; holding it would keep the bad revision running."""
    target = _annotations(new).get(ROLLED_BACK_TO_ANNOTATION, "")
    return operation == UPDATE and target != "" and target != _annotations(old).get(ROLLED_BACK_TO_ANNOTATION)


def matching_holds(holds: Sequence[HoldRule], labels: Mapping[str, str], change_type: str) -> list[HoldRule]:
    """The holds that catch a workload with these labels and this declared change type."""
    return [
        hold
        for hold in holds
        if change_type not in hold.exempt_change_types
        and all(selector_matches(selector.as_label_selector(), labels) for selector in hold.match)
        and not any(selector_matches(selector.as_label_selector(), labels) for selector in hold.unless)
    ]


@dataclass(frozen=True)
class AdmissionHold:
    """The holds that caught a deploy, and what the admission write adds to it."""

    holds: tuple[HoldRule, ...]

    @property
    def annotations(self) -> dict[str, str]:
        return {
            HELD_ANNOTATION: "true",
            # The time exactly as the HoldSet carries it: the CEL policy copies that string.
            HELD_SINCE_ANNOTATION: self.holds[0].model_dump(mode="json")["since"],
            HELD_BY_ANNOTATION: HELD_BY_ADMISSION,
            REASON_ANNOTATION: "; ".join(hold.message for hold in self.holds),
        }


def hold_at_admission(
    operation: str, old: Mapping[str, Any] | None, new: Mapping[str, Any], holds: Sequence[HoldRule]
) -> AdmissionHold | None:
    """The hold to apply in this write, or None to let it through unchanged. ``holds`` are in the
    HoldSet's order (oldest first), so the first match says since when the workload is held."""
    if not (is_deploy(operation, old, new) or lifts_hold(operation, old, new)):
        return None
    if is_slogate_rollback(operation, old, new) or _paused(new):
        return None
    labels = (new.get("metadata") or {}).get("labels") or {}
    caught = matching_holds(holds, labels, change_type_of(new))
    return AdmissionHold(tuple(caught)) if caught else None
