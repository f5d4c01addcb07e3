"""A local certificate authority and a server certificate, so the emulator can serve HTTPS.

msal and azure-identity accept only ``https`` authorities (client-recipes.md §0, §2), so
``calhub emulate graph --tls`` serves the identity platform and Graph over TLS with a certificate
for ``127.0.0.1``, ``::1`` and ``localhost`` (plus any other host asked for), issued by a CA made
here with ``cryptography``. Clients trust ``ca.pem``; the CA is kept across runs, and the server
certificate is re-issued when it is near expiry or does not cover a requested name.

Files in the directory: ``ca.pem``, ``ca-key.pem``, ``server.pem`` (the certificate followed by the
CA's, a full chain), ``server-key.pem``; keys are written with mode 0600.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("127.0.0.1", "::1", "localhost")
CA_LIFETIME = timedelta(days=3650)
SERVER_LIFETIME = timedelta(days=365)
RENEW_BEFORE = timedelta(days=7)
CA_NAME = "calhub emulator local CA"

GeneralName = x509.DNSName | x509.IPAddress


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """Where the CA certificate and the server's certificate chain and key are."""

    ca_certificate: Path
    server_certificate: Path
    server_key: Path


def ensure_certificates(directory: Path, extra_names: Iterable[str] = ()) -> TlsFiles:
    """Certificates in ``directory``, made or renewed as needed, for the default names and
    ``extra_names`` (host names or IP addresses)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    ca_key_path = directory / "ca-key.pem"
    now = datetime.now(UTC)  # certificate validity is wall time, not the emulator's clock
    names = _general_names([*DEFAULT_NAMES, *extra_names])
    ca = _load_ca(files.ca_certificate, ca_key_path, now)
    if ca is None:
        ca = _issue_ca(now)
        _write(files.ca_certificate, ca[0].public_bytes(serialization.Encoding.PEM))
        _write(ca_key_path, _private_pem(ca[1]), secret=True)
    elif _server_is_usable(files, ca[0], names, now):
        return files
    certificate, key = _issue_server(ca, names, now)
    chain = certificate.public_bytes(serialization.Encoding.PEM) + ca[0].public_bytes(
        serialization.Encoding.PEM
    )
    _write(files.server_key, _private_pem(key), secret=True)
    _write(files.server_certificate, chain)
    return files


def _general_names(names: Iterable[str]) -> list[GeneralName]:
    result: list[GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result


def _issue_ca(now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signing_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


def _issue_server(
    ca: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
    names: list[GeneralName],
    now: datetime,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_certificate, ca_key = ca
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calhub emulator")]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return certificate, key


def _key_usage(*, signing_certificates: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signing_certificates,
        crl_sign=signing_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def _load_ca(
    certificate_path: Path, key_path: Path, now: datetime
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or certificate.not_valid_after_utc < now:
        return None
    return certificate, key


def _server_is_usable(
    files: TlsFiles, ca: x509.Certificate, names: list[GeneralName], now: datetime
) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(files.server_certificate.read_bytes())
        key = serialization.load_pem_private_key(files.server_key.read_bytes(), password=None)
        covered = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        certificate.verify_directly_issued_by(ca)
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    return (
        key.public_key() == certificate.public_key()
        and certificate.not_valid_after_utc - RENEW_BEFORE > now
        and all(name in covered.value for name in names)
    )


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, data: bytes, *, secret: bool = False) -> None:
    mode = 0o600 if secret else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(descriptor, mode)  # an existing file keeps its old mode otherwise
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
