"""TLS to the centre: the agent accepts the centre's certificate through a CA file or a pinned SHA-256, and
refuses any other at once, in one line, before the token is sent (exit 2; a retry would not mend it)."""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_agent import BASE, Centre, agent, run_args

pytestmark = [pytest.mark.network, pytest.mark.slow]


def _certificate(folder: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1: (certificate file, key file, SHA-256 of its DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "clearsite centre (test)")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "centre.pem", folder / "centre.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


@pytest.fixture(scope="module")
def tls_centre(tmp_path_factory: pytest.TempPathFactory, packaged_kb: Any) -> Iterator[tuple[Centre, Path, str]]:
    folder = tmp_path_factory.mktemp("tls-centre")
    cert_file, key_file, pin = _certificate(folder)
    centre = Centre(folder, packaged_kb, tls=(cert_file, key_file))
    yield centre, cert_file, pin
    centre.stop()


def test_a_pinned_certificate_or_a_ca_file_lets_the_agent_push(tls_centre: tuple[Centre, Path, str],
                                                               tmp_path: Path) -> None:
    centre, cert_file, pin = tls_centre
    assert centre.url.startswith("https://")
    _, token_file, _ = centre.new_agent(tmp_path)
    target = f"{BASE}/32"  # nothing need answer: what matters is that the centre is reached
    pinned = agent(*run_args(centre.url, token_file, tmp_path / "a", "--once", "--target", target,
                             "--pin-sha256", ":".join(pin[i:i + 2] for i in range(0, 64, 2)).upper()))
    assert pinned.returncode == 0, pinned.stderr
    with_ca = agent(*run_args(centre.url, token_file, tmp_path / "b", "--once", "--target", target,
                              "--ca-file", str(cert_file)))
    assert with_ca.returncode == 0, with_ca.stderr


@pytest.mark.parametrize("how", ["wrong pin", "no CA"])
def test_any_other_certificate_is_refused_at_once_in_one_line(tls_centre: tuple[Centre, Path, str], tmp_path: Path,
                                                              how: str) -> None:
    centre = tls_centre[0]
    _, token_file, _ = centre.new_agent(tmp_path)
    extra = ["--pin-sha256", "0" * 64] if how == "wrong pin" else []
    refused = agent(*run_args(centre.url, token_file, tmp_path / "spool", "--once", "--target", f"{BASE}/32",
                              "--push-for", "10m", *extra))  # a retry loop would outlast the test's deadline
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "TLS certificate was not accepted" in lines[0], lines
    assert ("not the pinned one" if how == "wrong pin" else "CERTIFICATE_VERIFY_FAILED") in lines[0]
    assert token_file.read_text().strip() not in refused.stderr
