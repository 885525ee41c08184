"""The TLS contexts kvdb makes from Redis's tls-* settings, and their errors in
Redis's words."""

import ssl

import pytest

from compat_tests.servers import make_certificates
from fromscratch.kvdb.tls import TlsError, TlsSettings, make_contexts


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("certs")
    make_certificates(directory)
    return directory


def settings(certs, **changes) -> TlsSettings:
    values = dict(cert_file=str(certs / "server.crt"), key_file=str(certs / "server.key"),
                  ca_cert_file=str(certs / "ca.crt"))
    values.update(changes)
    return TlsSettings(**values)


@pytest.mark.parametrize("changes, message", [
    ({"cert_file": ""}, "No tls-cert-file configured!"),
    ({"key_file": ""}, "No tls-key-file configured!"),
    ({"ca_cert_file": ""}, "Either tls-ca-cert-file or tls-ca-cert-dir must be specified"),
    ({"protocols": "TLSv1.2 SSLv3"}, "Invalid tls-protocols specified."),
    ({"cert_file": "/nonexistent.crt"}, "Failed to load certificate: /nonexistent.crt: "),
    ({"key_file": "KEY_OF_ANOTHER"}, "Failed to load private key: "),
    ({"key_file_pass": "secret"}, None),               # an unencrypted key ignores it
    ({"ciphers": "NO-SUCH-CIPHER"}, "Failed to configure ciphers: NO-SUCH-CIPHER"),
    ({"dh_params_file": "/nonexistent.dh"}, "Failed to load /nonexistent.dh: "),
])
def test_settings_that_do_not_work_say_why(certs, changes, message):
    if changes.get("key_file") == "KEY_OF_ANOTHER":
        changes["key_file"] = str(certs / "client.key")
    if message is None:
        make_contexts(settings(certs, **changes))
        return
    with pytest.raises(TlsError) as caught:
        make_contexts(settings(certs, **changes))
    assert str(caught.value).startswith(message)


def test_without_client_authentication_no_ca_is_needed(certs):
    contexts = make_contexts(settings(certs, ca_cert_file="", auth_clients="no"))
    assert contexts.server.verify_mode == ssl.CERT_NONE
    with pytest.raises(TlsError, match="Either tls-ca-cert-file"):
        make_contexts(settings(certs, ca_cert_file="", auth_clients="no", peers_checked=True))


def test_protocols_and_client_checks_as_configured(certs):
    contexts = make_contexts(settings(certs, protocols="tlsv1.2", auth_clients="optional"))
    assert contexts.server.minimum_version == contexts.server.maximum_version == \
        ssl.TLSVersion.TLSv1_2
    assert contexts.server.verify_mode == ssl.CERT_OPTIONAL
    assert contexts.client.verify_mode == ssl.CERT_REQUIRED
    assert not contexts.client.check_hostname
    default = make_contexts(settings(certs))
    assert (default.server.minimum_version, default.server.maximum_version) == \
        (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)
    assert default.server.verify_mode == ssl.CERT_REQUIRED
