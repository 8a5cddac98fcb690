"""Self-signed certificates for personas that serve TLS, made once per process per persona.

One certificate (and key) per persona on purpose: shared keys across every unit of a model are
what real firmware ships, and a fingerprint can rely on them.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from functools import cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from clearsite.sim.replies import Cert

_OIDS = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}


def _name(attributes: tuple[tuple[str, str], ...]) -> x509.Name:
    return x509.Name([x509.NameAttribute(_OIDS[k], v) for k, v in attributes])


def make_certificate(spec: Cert) -> tuple[bytes, bytes]:
    """(certificate PEM, key PEM). EC P-256 keeps handshakes cheap for a 4,096-host fleet."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(spec.subject)
    issuer = _name(spec.issuer) if spec.issuer else subject
    start = datetime.datetime(2019, 12, 17, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(datetime.datetime(2037, 12, 31, tzinfo=datetime.UTC))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@cache
def server_context(spec: Cert) -> ssl.SSLContext:
    cert_pem, key_pem = make_certificate(spec)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:  # ssl only loads certificates from files
        cert_path, key_path = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx
