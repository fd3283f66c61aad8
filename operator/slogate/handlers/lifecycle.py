"""Operator start, stop and health: build the runtime, start the admission webhooks the settings
ask for, load the World, start the evaluation loop."""

from __future__ import annotations

from typing import Any

import kopf

from slogate.adapters.intake import IntakeListenError
from slogate.handlers.admission import serve_admission
from slogate.runtime import build_runtime


@kopf.on.startup(id="start-runtime")
async def start_runtime(memo: kopf.Memo, settings: kopf.OperatorSettings, **_: Any) -> None:
    settings.posting.level = 100  # kopf's own per-handler Events are noise on users' objects
    memo.runtime = build_runtime(memo.settings)
    serve_admission(settings, memo.settings.admission, memo.runtime.admission.mode)
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
