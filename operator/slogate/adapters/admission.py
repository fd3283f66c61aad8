"""Admission through the API server: the HoldSets it reads, and which mechanism it offers.

The HoldSet of a namespace is created on its first hold and deleted when the last one ends, always
under the name the policy binding looks up. At start-up the operator asks the API server (API
discovery) whether it serves MutatingAdmissionPolicy; where it does and slogate's policy is not
installed yet, the operator installs it when it may (``make run``, tests), and otherwise says what
to apply. What it installs is marked for adoption by a Helm release, so the chart installed later
takes it over; what it finds installed, by the chart or anyone, it leaves as it is.

The fallback webhook's certificate is found or made here too: one given in its directory (the
chart's Secret, shared by every replica so the API server trusts whichever the Service picks),
else a self-signed one (kopf's own certificate maker needs oscrypto, which cannot load OpenSSL 3).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.api.admission import (
    ADMISSION_API_VERSION,
    POLICY_NAME,
    POLICY_PLURAL,
    adoptable_by_helm,
    mutating_admission_policy,
    mutating_admission_policy_binding,
)
from slogate.api.base import GROUP, VERSION
from slogate.api.holdset import HOLDSET_NAME, AdmissionMode, HoldSet, HoldSetSpec
from slogate.api.wire import format_time

log = logging.getLogger(__name__)

HOLDSETS = HoldSet.names.plural
ADMISSION_GROUP, ADMISSION_VERSION = ADMISSION_API_VERSION.split("/")


class KubernetesHoldSets:
    def __init__(self, api: client.ApiClient, field_manager: str, namespaces: tuple[str, ...] = ()) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._field_manager = field_manager
        self._namespaces = namespaces

    def list_holdsets(self) -> dict[str, HoldSetSpec]:
        """The HoldSets of the watched namespaces (listed one by one when the operator is restricted
        to some, as its Roles allow)."""
        if self._namespaces:
            listings = [
                self._custom.list_namespaced_custom_object(GROUP, VERSION, namespace, HOLDSETS)
                for namespace in self._namespaces
            ]
        else:
            listings = [self._custom.list_cluster_custom_object(GROUP, VERSION, HOLDSETS)]
        items: list[dict[str, Any]] = [item for listing in listings for item in listing["items"]]  # type: ignore[index]
        return {
            item["metadata"]["namespace"]: HoldSetSpec.model_validate(item.get("spec") or {})
            for item in items
            if item["metadata"]["name"] == HOLDSET_NAME
        }

    def put_holdset(self, namespace: str, spec: HoldSetSpec, enforced_by: str) -> None:
        body: dict[str, Any] = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": HoldSet.names.kind,
            "metadata": {"name": HOLDSET_NAME, "namespace": namespace},
            "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            HOLDSETS,
            HOLDSET_NAME,
            body,
            field_manager=self._field_manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )
        now = format_time(dt.datetime.now(dt.UTC))
        status = {
            "enforcedBy": enforced_by,
            "conditions": [
                {
                    "type": "Enforced",
                    "status": "True" if enforced_by != AdmissionMode.RECONCILE.value else "False",
                    "reason": enforced_by,
                    "message": f"deploys caught by these holds are paused by {enforced_by}",
                    "lastTransitionTime": now,
                }
            ],
        }
        self._custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, HOLDSETS, HOLDSET_NAME, {"status": status}
        )

    def delete_holdset(self, namespace: str) -> None:
        try:
            self._custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, HOLDSETS, HOLDSET_NAME)
        except ApiException as error:
            if error.status != 404:
                raise


def serves_admission_policies(api: client.ApiClient) -> bool:
    """Whether the API server serves MutatingAdmissionPolicy (API discovery)."""
    resources = client.AdmissionregistrationV1Api(api).get_api_resources().resources
    return any(resource.name == POLICY_PLURAL for resource in resources)


def ensure_admission_policy(
    api: client.ApiClient,
    failure_policy: str,
    field_manager: str,
    helm_release: tuple[str, str] | None,
) -> bool:
    """Whether slogate's policy and binding are installed, installing them when missing and
    permitted. Installed by someone else (the chart), they are left as they are. ``helm_release``
    (NAMESPACE, NAME) is the release whose ``helm install`` may adopt what is installed here."""
    custom = client.CustomObjectsApi(api)
    try:
        custom.get_cluster_custom_object(ADMISSION_GROUP, ADMISSION_VERSION, POLICY_PLURAL, POLICY_NAME)
        return True
    except ApiException as error:
        if error.status not in (403, 404):
            raise
    try:
        for manifest, plural in (
            (mutating_admission_policy(failure_policy), POLICY_PLURAL),
            (mutating_admission_policy_binding(), "mutatingadmissionpolicybindings"),
        ):
            custom.patch_cluster_custom_object(
                ADMISSION_GROUP,
                ADMISSION_VERSION,
                plural,
                POLICY_NAME,
                adoptable_by_helm(manifest, *helm_release) if helm_release else manifest,
                field_manager=field_manager,
                force=True,
                _content_type="application/apply-patch+yaml",
            )
    except ApiException as error:
        if error.status == 403:
            log.warning(
                "MutatingAdmissionPolicy %s is not installed and slogate may not install it: deploys are "
                "held after the fact only. Install it with the chart (admission.installPolicy) or "
                "kubectl apply -f deploy/admission/",
                POLICY_NAME,
            )
            return False
        raise
    if helm_release:
        log.info(
            "installed MutatingAdmissionPolicy %s and its binding, to be adopted by "
            "'helm install %s --namespace %s'",
            POLICY_NAME,
            helm_release[1],
            helm_release[0],
        )
    else:
        log.info("installed MutatingAdmissionPolicy %s and its binding", POLICY_NAME)
    return True


@dataclass(frozen=True)
class WebhookCertificate:
    certfile: Path
    keyfile: Path
    cafile: Path | None
    """The CA the API server is to trust (the webhook configuration's caBundle); None when the
    certificate is self-signed and is its own CA."""


def webhook_certificate(directory: Path, hosts: list[str]) -> WebhookCertificate:
    """The webhook's serving certificate: ``tls.crt`` and ``tls.key`` (and ``ca.crt``, when present)
    already in ``directory`` are used as they are, e.g. a mounted Secret; otherwise a self-signed
    one for ``hosts`` is written there."""
    certfile, keyfile, cafile = directory / "tls.crt", directory / "tls.key", directory / "ca.crt"
    if certfile.is_file() or keyfile.is_file():
        if not (certfile.is_file() and keyfile.is_file()):
            missing = keyfile if certfile.is_file() else certfile
            raise ValueError(
                f"the webhook certificate directory {directory} has no {missing.name}: give both "
                "tls.crt and tls.key (and ca.crt for a CA-signed certificate), or an empty directory "
                "for a self-signed one"
            )
        log.info("the admission webhook serves the certificate in %s", directory)
        return WebhookCertificate(certfile, keyfile, cafile if cafile.is_file() else None)
    certfile, keyfile = write_self_signed_certificate(directory, hosts)
    return WebhookCertificate(certfile, keyfile, None)


def write_self_signed_certificate(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A self-signed serving certificate for the webhook, valid for ``hosts`` (names or IPs)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = directory / "tls.crt", directory / "tls.key"
    certfile.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    keyfile.chmod(0o600)
    return certfile, keyfile
