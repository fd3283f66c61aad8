"""The fallback admission webhook: where the API server does not serve MutatingAdmissionPolicy.

Registered at start-up only when the runtime chose the webhook, so an operator that uses the
policy opens no port. The handler asks the same decision the policy makes
(``Runtime.admission.review``) and writes its answer into kopf's patch. kopf keeps the
MutatingWebhookConfiguration named ``WEBHOOK_CONFIGURATION`` pointed at this server.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import kopf

from slogate.adapters.admission import webhook_certificate
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


def serve_webhook(settings: kopf.OperatorSettings, admission: AdmissionSettings) -> None:
    """Start the webhook with the operator: register the handlers and kopf's server."""
    ignore_failures = admission.failure_policy == "Ignore"
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
            ignore_failures=ignore_failures,
        )(hold_deploy)
    settings.admission.server = _server(admission)
    settings.admission.managed = WEBHOOK_CONFIGURATION
