"""The fallback webhook's certificate: a given one (the chart's Secret, shared by every replica) is
served as it is, with its CA as the caBundle; otherwise a self-signed one is made for the hosts."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from slogate.adapters.admission import webhook_certificate
from slogate.handlers.admission import _server
from slogate.settings import AdmissionSettings

SERVICE_HOSTS = ["slogate-webhook.slogate-system.svc", "slogate-webhook.slogate-system.svc.cluster.local"]


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def issue(
    subject: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    issuer: str,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(host) for host in SERVICE_HOSTS]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def write_ca_signed(directory: Path) -> bytes:
    """A CA and a serving certificate it signed, laid out like a kubernetes.io/tls Secret; the CA."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = issue("slogate-webhook-ca", ca_key, ca_key, "slogate-webhook-ca", ca=True)
    leaf = issue(SERVICE_HOSTS[0], ca_key, key, "slogate-webhook-ca", ca=False)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.crt").write_bytes(pem(ca))
    (directory / "tls.crt").write_bytes(pem(leaf))
    (directory / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return pem(ca)


def test_a_given_certificate_is_served_as_it_is_with_its_ca_as_the_bundle(tmp_path: Path) -> None:
    ca = write_ca_signed(tmp_path)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    certificate = webhook_certificate(tmp_path, ["127.0.0.1"])
    assert (certificate.certfile, certificate.keyfile, certificate.cafile) == (
        tmp_path / "tls.crt",
        tmp_path / "tls.key",
        tmp_path / "ca.crt",
    )
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before, (
        "a given certificate is never rewritten"
    )

    settings = AdmissionSettings(webhook_service="slogate-system/slogate-webhook", webhook_cert_dir=tmp_path)
    server = _server(settings)
    cadata, context = server._build_ssl()
    assert cadata == ca, "the API server must be told to trust the CA every replica's certificate chains to"
    assert context is not None


def test_every_replica_given_the_same_secret_announces_the_same_bundle(tmp_path: Path) -> None:
    write_ca_signed(tmp_path)
    settings = AdmissionSettings(webhook_service="slogate-system/slogate-webhook", webhook_cert_dir=tmp_path)
    assert _server(settings)._build_ssl()[0] == _server(settings)._build_ssl()[0]


def test_an_empty_directory_gets_a_self_signed_certificate_for_the_hosts(tmp_path: Path) -> None:
    certificate = webhook_certificate(tmp_path / "webhook", ["127.0.0.1", "localhost"])
    assert certificate.cafile is None
    served = x509.load_pem_x509_certificate(certificate.certfile.read_bytes())
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert certificate.keyfile.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("present", ["tls.crt", "tls.key"])
def test_half_a_certificate_is_refused_naming_the_missing_file(tmp_path: Path, present: str) -> None:
    write_ca_signed(tmp_path)
    missing = ({"tls.crt", "tls.key"} - {present}).pop()
    (tmp_path / missing).unlink()
    with pytest.raises(ValueError, match=f"has no {missing}: give both tls.crt and tls.key"):
        webhook_certificate(tmp_path, ["127.0.0.1"])
