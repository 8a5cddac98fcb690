"""TLS certificate facts: subject, issuer and SHA-256 fingerprint of the certificate a device shows.

Subject and issuer are written RFC 4514 style (most specific first, e.g.
`CN=www.hikvision.com,OU=DVRNVR,O=HIKVISION,L=HangZhou,ST=ZheJiang,C=CN`), as Recog matches them.
The fingerprint goes into the source: the same key on every unit is itself a firmware-family sign.
"""

from __future__ import annotations

import hashlib

from clearsite.core.models import Signal
from clearsite.discover.netio import HostContext


def certificate_names(der: bytes) -> tuple[str, str] | None:
    """(subject, issuer) of a DER certificate, or None when it does not parse."""
    # Loaded here: a scan that meets no TLS port (an agent's, often) needs none of it.
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
        return cert.subject.rfc4514_string(), cert.issuer.rfc4514_string()
    except (ValueError, TypeError):
        return None


def record_certificate(ctx: HostContext, der: bytes, where: str) -> None:
    digest = hashlib.sha256(der).hexdigest()
    names = certificate_names(der)
    if names is None:
        ctx.error(f"{where}: certificate does not parse (sha256 {digest})")
        return
    subject, issuer = names
    source = f"{where} certificate sha256={digest}"
    if subject:
        ctx.add(Signal.TLS_SUBJECT, subject, source)
    if issuer:
        ctx.add(Signal.TLS_ISSUER, issuer, source + (" self-signed" if issuer == subject else ""))
