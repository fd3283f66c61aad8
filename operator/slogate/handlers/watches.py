"""Watch handlers: every event of a workload, a slogate resource or a namespace goes to the controller;
every event of a HoldSet goes to admission, so each replica answers from the holds in force."""

from __future__ import annotations

from typing import Any

import kopf

from slogate.api.base import GROUP, WorkloadKind
from slogate.api.holdset import HoldSet
from slogate.api.kinds import RESOURCE_TYPES


@kopf.on.event("apps", "v1", "deployments", id="deployment-changed")
async def deployment_changed(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await memo.runtime.controller.workload_event(WorkloadKind.DEPLOYMENT, event.get("type"), body)


@kopf.on.event("argoproj.io", "v1alpha1", "rollouts", id="rollout-changed")
async def rollout_changed(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    await memo.runtime.controller.workload_event(WorkloadKind.ROLLOUT, event.get("type"), body)


async def resource_changed(
    event: kopf.RawEvent, body: kopf.Body, resource: kopf.Resource, memo: kopf.Memo, **_: Any
) -> None:
    await memo.runtime.controller.resource_event(resource.plural, event.get("type"), body)


# One handler for the four kinds of the registry; an event handler keeps no progress in the object,
# so its id only names the kind in kopf's log lines.
for _model in RESOURCE_TYPES:
    kopf.on.event(GROUP, _model.names.plural, id=f"{_model.names.singular}-changed")(resource_changed)


@kopf.on.event("", "v1", "namespaces", id="namespace-changed")
def namespace_changed(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.controller.namespace_event(event.get("type"), body)


@kopf.on.event(GROUP, HoldSet.names.plural, id="holdset-changed")
def holdset_changed(event: kopf.RawEvent, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    memo.runtime.admission.holdset_event(event.get("type"), body)
