"""The operator's admission webhooks, on kopf's webhook server.

Two webhooks, each registered at start-up only when asked for, so an operator that needs neither
opens no port:

- the fallback hold, where the API server does not serve MutatingAdmissionPolicy: it asks the same
  decision the policy makes (``Runtime.admission.review``) and writes its answer into kopf's patch;
- validation of slogate's own kinds (``--validation-webhook``): it refuses what the models reject
  and the CRD schema cannot (an unknown time zone, an unparsable RRULE or cron, a PromQL syntax
  error), naming the field. It always fails open: an operator that is down never blocks an apply,
  and the status check (Invalid) stays the backstop.

kopf keeps the Mutating- and ValidatingWebhookConfiguration named ``WEBHOOK_CONFIGURATION`` pointed
at this server.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kopf

from slogate.adapters.admission import webhook_certificate
from slogate.api.base import GROUP, VERSION
from slogate.api.holdset import AdmissionMode
from slogate.api.kinds import RESOURCE_TYPES
from slogate.api.validation import InvalidResourceError, admission_problems
from slogate.settings import AdmissionSettings

WEBHOOK_CONFIGURATION = "slogate-hold.slogate.dev"


class ServiceWebhookServer(kopf.WebhookServer):
    """kopf's server, announced to the API server as a Service (in a cluster) rather than a URL."""

    def __init__(self, *, service: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._service_namespace, self._service_name = service.split("/", 1)

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        async for config in super().__call__(fn):
            path = urllib.parse.urlsplit(config.get("url") or "").path
            yield kopf.WebhookClientConfig(
                caBundle=config.get("caBundle"),
                service=kopf.WebhookClientConfigService(
                    namespace=self._service_namespace, name=self._service_name, port=self.port, path=path
                ),
            )


def _server(admission: AdmissionSettings) -> kopf.WebhookServer:
    host = admission.webhook_host or "127.0.0.1"
    hosts = [host, "localhost"]
    if admission.webhook_service:
        namespace, name = admission.webhook_service.split("/", 1)
        hosts = [f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local", *hosts]
    directory = admission.webhook_cert_dir or Path(tempfile.mkdtemp(prefix="slogate-webhook-"))
    try:
        certificate = webhook_certificate(directory, hosts)
    except ValueError as error:
        raise kopf.PermanentError(str(error)) from None  # a retry cannot find the missing file
    options: dict[str, Any] = {
        "addr": admission.webhook_address,
        "port": admission.webhook_port,
        "certfile": str(certificate.certfile),
        "pkeyfile": str(certificate.keyfile),
        "cafile": str(certificate.cafile) if certificate.cafile else None,
    }
    if admission.webhook_service:
        return ServiceWebhookServer(service=admission.webhook_service, **options)
    return kopf.WebhookServer(host=host, **options)


async def hold_deploy(*, body: kopf.Body, patch: kopf.Patch, memo: Any, **kwargs: Any) -> None:
    old = kwargs.get("old")
    operation = str(kwargs.get("operation") or "")
    hold = memo.runtime.admission.review(operation, dict(old) if old else None, body)
    memo.runtime.telemetry.admission_review(str(body.get("kind", "")), held=hold is not None)
    if hold is None:
        return
    patch.spec["paused"] = True
    patch.metadata.setdefault("annotations", {}).update(hold.annotations)


async def refuse_invalid(*, body: kopf.Body, **kwargs: Any) -> None:
    kind = str(body.get("kind", ""))
    old = kwargs.get("old")
    problems = admission_problems(str(kwargs.get("operation") or ""), dict(old) if old else None, body)
    if problems:
        raise kopf.AdmissionError(str(InvalidResourceError(kind, problems)), code=422)


def serve_admission(
    settings: kopf.OperatorSettings, admission: AdmissionSettings, mode: AdmissionMode
) -> None:
    """Register the webhooks the settings ask for and, when there is one, start kopf's server."""
    hold = mode is AdmissionMode.WEBHOOK
    if hold:
        for group, version, plural, kind in (
            ("apps", "v1", "deployments", "deployment"),
            ("argoproj.io", "v1alpha1", "rollouts", "rollout"),
        ):
            kopf.on.mutate(
                group,
                version,
                plural,
                id=f"hold-{kind}-at-admission",
                operations=["CREATE", "UPDATE"],
                side_effects=False,
                ignore_failures=admission.failure_policy == "Ignore",
            )(hold_deploy)
    if admission.validation_webhook:
        for model in RESOURCE_TYPES:
            names = model.names
            kopf.on.validate(
                GROUP,
                VERSION,
                names.plural,
                id=f"validate-{names.singular}",
                operations=["CREATE", "UPDATE"],
                side_effects=False,
                ignore_failures=True,
                # Kept when a replica stops, so the other replicas' webhook is not unregistered with it.
                persistent=True,
            )(refuse_invalid)
    if hold or admission.validation_webhook:
        settings.admission.server = _server(admission)
        settings.admission.managed = WEBHOOK_CONFIGURATION
