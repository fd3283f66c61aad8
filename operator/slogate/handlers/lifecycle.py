"""Operator start, stop and health: build the runtime, start the admission webhook when it is the
mechanism chosen, load the World, start the evaluation loop."""

from __future__ import annotations

from typing import Any

import kopf

from slogate.adapters.intake import IntakeListenError
from slogate.api.holdset import AdmissionMode
from slogate.handlers.admission import serve_webhook
from slogate.runtime import build_runtime


@kopf.on.startup(id="start-runtime")
async def start_runtime(memo: kopf.Memo, settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.level = 100  # kopf's own per-handler Events are noise on users' objects
    memo.runtime = build_runtime(memo.settings)
    if memo.runtime.admission.mode is AdmissionMode.WEBHOOK:
        serve_webhook(settings, memo.settings.admission)
    if memo.settings.metrics_port:
        memo.runtime.telemetry.serve(memo.settings.metrics_port)
    try:
        await memo.runtime.start()
    except IntakeListenError as error:
        raise kopf.PermanentError(str(error)) from None


@kopf.on.cleanup(id="stop-runtime")
async def stop_runtime(memo: kopf.Memo, **_: Any) -> None:
    if "runtime" in memo:
        await memo.runtime.stop()


@kopf.on.probe(id="world-loaded")
def world_loaded(memo: kopf.Memo, **_: Any) -> bool:
    return "runtime" in memo and bool(memo.runtime.controller.loaded)
