"""HQ behind TLS (`serve --tls-cert/--tls-key`): the client verifies the certificate against a pinned CA."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sync.client import SyncError, enrol, sync_once
from tests.fakes.demo_store import fill_demo
from tests.sync.conftest import DEPARTMENT


def _cert(subject, issuer_name, key, issuer_key, *, ca: bool):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pki(tmp_path):
    ca_key, srv_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "测试局端 CA")])
    ca = _cert(ca_name, ca_name, ca_key, ca_key, ca=True)
    srv = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name, srv_key, ca_key, ca=False)
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(srv.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(srv_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
    return paths


def test_sync_over_tls_with_a_pinned_ca_and_refusal_without_it(store, data_dir, hq_factory, tmp_path):
    pki = _pki(tmp_path)
    hq = hq_factory(extra=("--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"])))
    assert hq.url.startswith("https://127.0.0.1:")
    code = hq.admin("enrolment-code", "--department", DEPARTMENT).strip()
    with pytest.raises(SyncError) as caught:
        enrol(store, data_dir, hq.url, code)  # system trust store: our test CA is not in it
    assert "证书验证失败" in str(caught.value)
    enrol(store, data_dir, hq.url, code, ca_file=str(pki["ca"]))
    fill_demo(store, segments=1)
    result = sync_once(store, data_dir)
    assert result.ok, result.message
