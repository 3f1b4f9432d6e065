"""The server's TLS certificate: self-signed, for ``localhost``, written once and reused.

The Azure SDK sends a bearer token only over TLS, so the server speaks HTTPS with a
certificate of its own (``cert.pem``, and its key ``key.pem``, readable by the owner
only) that clients are told to trust: ``connection_verify=CERT`` in the Python SDK,
``curl --cacert CERT``, ``REQUESTS_CA_BUNDLE=CERT`` for the az CLI. It names ``localhost``,
``127.0.0.1`` and the address the server listens on (when that is an IP), is valid for a
year, and is made again only when it is missing, unreadable, about to expire or does not
name that address.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_FILE, KEY_FILE = "cert.pem", "key.pem"
VALID_FOR = timedelta(days=365)
RENEW_WITHIN = timedelta(days=1)
Name = x509.DNSName | x509.IPAddress


def default_dir() -> Path:
    """Where the certificate lives unless ``--cert-dir`` says: ``$XDG_DATA_HOME/fakecloud``
    (default ``~/.local/share/fakecloud``), the same file from run to run so that clients
    keep trusting it."""
    data_home = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data_home) / "fakecloud"


def names_for(host: str) -> list[Name]:
    """What the certificate must name for a server listening on ``host``."""
    names: list[Name] = [x509.DNSName("localhost"),
                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host.lower() != "localhost":
            names.append(x509.DNSName(host))
        return names
    if address.is_unspecified or x509.IPAddress(address) in names:
        return names
    return [*names, x509.IPAddress(address)]


def ensure(directory: Path, host: str) -> tuple[Path, Path]:
    """The certificate and key files in ``directory`` for ``host``, made if need be."""
    cert, key = directory / CERT_FILE, directory / KEY_FILE
    if not _usable(cert, key, names_for(host)):
        _write(cert, key, names_for(host))
    return cert, key


def _usable(cert: Path, key: Path, names: list[Name]) -> bool:
    """An existing certificate that names ``names``, stays valid a while, matches its key."""
    try:
        found = x509.load_pem_x509_certificate(cert.read_bytes())
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
        named = found.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    return (found.not_valid_after_utc - RENEW_WITHIN > datetime.now(UTC)
            and all(name in named for name in names)
            and found.public_key() == private.public_key())


def _write(cert: Path, key: Path, names: list[Name]) -> None:
    cert.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fakecloud")])
    now = datetime.now(UTC)
    public = private.public_key()
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(public).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False,
                                     decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(private, hashes.SHA256()))
    key_bytes = private.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    _replace(key, key_bytes, 0o600)
    _replace(cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` at once (a temporary file renamed over it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    os.replace(temporary, path)
