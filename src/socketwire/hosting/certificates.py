"""Certificates for the HTTP/3 host: loading one, or making a self-signed one that browsers
trust for WebTransport by its SHA-256 hash (``serverCertificateHashes``: ECDSA, valid for at
most 14 days)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["CERTIFICATE_DAYS", "Certificate", "self_signed_certificate"]

CERTIFICATE_DAYS = 10
"""Validity of :func:`self_signed_certificate` (browsers take at most 14 days by hash)."""


@dataclass(frozen=True, slots=True)
class Certificate:
    """A certificate and its private key, for the HTTP/3 host."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey

    @property
    def sha256(self) -> bytes:
        """SHA-256 of the DER certificate: the ``value`` of a browser's
        ``serverCertificateHashes`` entry (``{algorithm: "sha-256", value}``)."""
        return self.certificate.fingerprint(hashes.SHA256())

    def certificate_pem(self) -> bytes:
        """The certificate, PEM-encoded."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def private_key_pem(self) -> bytes:
        """The private key, PEM-encoded (PKCS #8, unencrypted)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def load(cls, certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str]) -> Certificate:
        """Read a PEM certificate (the first of a chain) and its ECDSA key."""
        with open(certfile, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(keyfile, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{keyfile}: the HTTP/3 host takes an ECDSA private key")
        return cls(cert, key)


def self_signed_certificate(
    hosts: Iterable[str] = ("localhost", "127.0.0.1", "::1"),
    days: float = CERTIFICATE_DAYS,
) -> Certificate:
    """A fresh self-signed ECDSA P-256 certificate for ``hosts`` (names or IP addresses),
    valid from a minute ago for ``days`` (at most 14, what browsers accept by hash)."""
    if not 0 < days <= 14:
        raise ValueError("a certificate trusted by its hash may be valid for 14 days at most")
    hosts = list(hosts)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    common_name = hosts[0] if hosts else "socketwire"
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Certificate(cert, key)

