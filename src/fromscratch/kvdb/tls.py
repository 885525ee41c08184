"""TLS contexts, made from settings as Redis's `tls-*` directives give them.

The server holds a `TlsContexts`: the server-side context its TLS listener hands each
new connection (net/transport.py's TlsTransport does the rest), and the client-side one
for the connections it makes itself (a replica to its primary, MIGRATE to its target).
They are made together, all or nothing, as Redis's tlsConfigure makes its SSL_CTX: a
setting that does not work (a missing file, a key that does not match, a bad protocol
list) raises TlsError with Redis's words, and whatever was in use stays in use.

What Python's ssl module can't set is left at OpenSSL's defaults: the TLS 1.3 cipher
suites (`tls-ciphersuites`), and the server's session cache size, timeout and whether
it is on (`tls-session-caching`, `-cache-size`, `-cache-timeout`).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

PROTOCOL_VERSIONS = {"tlsv1": ssl.TLSVersion.TLSv1, "tlsv1.1": ssl.TLSVersion.TLSv1_1,
                     "tlsv1.2": ssl.TLSVersion.TLSv1_2, "tlsv1.3": ssl.TLSVersion.TLSv1_3}

# How a server checks its clients' certificates (tls-auth-clients).
CLIENT_AUTH = {"yes": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "no": ssl.CERT_NONE}


class TlsError(Exception):
    """TLS can't be configured; the message says why, as Redis logs it."""


@dataclass
class TlsSettings:
    cert_file: str = ""
    key_file: str = ""
    key_file_pass: str = ""
    client_cert_file: str = ""         # for the connections we make; else cert_file
    client_key_file: str = ""
    client_key_file_pass: str = ""
    ca_cert_file: str = ""
    ca_cert_dir: str = ""
    dh_params_file: str = ""
    protocols: str = ""                # e.g. "TLSv1.2 TLSv1.3"; empty: those two
    ciphers: str = ""                  # TLS 1.2 and below, in OpenSSL's syntax
    prefer_server_ciphers: bool = False
    auth_clients: str = "yes"          # yes | optional | no
    peers_checked: bool = False        # we connect out over TLS (replication, MIGRATE):
                                       # a CA is needed


@dataclass
class TlsContexts:
    server: ssl.SSLContext
    client: ssl.SSLContext


def make_contexts(settings: TlsSettings) -> TlsContexts:
    """The server and client contexts `settings` describe (TlsError if they can't be)."""
    if not settings.cert_file:
        raise TlsError("No tls-cert-file configured!")
    if not settings.key_file:
        raise TlsError("No tls-key-file configured!")
    if ((settings.auth_clients != "no" or settings.peers_checked)
            and not settings.ca_cert_file and not settings.ca_cert_dir):
        raise TlsError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when "
                       "tls-cluster, tls-replication or tls-auth-clients are enabled!")
    lowest, highest = _protocol_range(settings.protocols)
    server = _context(settings, ssl.PROTOCOL_TLS_SERVER, lowest, highest, settings.cert_file,
                      settings.key_file, settings.key_file_pass)
    server.verify_mode = CLIENT_AUTH[settings.auth_clients]
    server.options |= ssl.OP_NO_RENEGOTIATION
    if settings.prefer_server_ciphers:       # (Python's server contexts prefer their own)
        server.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    else:
        server.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    if settings.dh_params_file:
        try:
            server.load_dh_params(settings.dh_params_file)
        except OSError as exc:
            raise TlsError(f"Failed to load {settings.dh_params_file}: "
                           f"{exc.strerror or exc}") from None
        except ssl.SSLError as exc:
            raise TlsError(f"Failed to load DH params file: {settings.dh_params_file}: "
                           f"{exc}") from None
    # Outgoing connections present the client certificate if there is one, as Redis's.
    if settings.client_cert_file and settings.client_key_file:
        identity = (settings.client_cert_file, settings.client_key_file,
                    settings.client_key_file_pass)
    else:
        identity = (settings.cert_file, settings.key_file, settings.key_file_pass)
    client = _context(settings, ssl.PROTOCOL_TLS_CLIENT, lowest, highest, *identity)
    # Redis checks the peer's certificate against its CAs, not its name.
    client.check_hostname = False
    client.verify_mode = ssl.CERT_REQUIRED
    return TlsContexts(server, client)


def _protocol_range(text: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion]:
    """The lowest and highest version tls-protocols names (a gap between them, as in
    "TLSv1 TLSv1.3", is not kept: every version between is allowed)."""
    if not text.strip():
        return ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    versions = []
    for word in text.split():
        version = PROTOCOL_VERSIONS.get(word.lower())
        if version is None:
            raise TlsError("Invalid tls-protocols specified. Use a combination of 'TLSv1', "
                           "'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
        versions.append(version)
    return min(versions), max(versions)


def _context(settings: TlsSettings, protocol, lowest, highest, cert_file: str,
             key_file: str, key_pass: str) -> ssl.SSLContext:
    context = ssl.SSLContext(protocol)
    context.minimum_version, context.maximum_version = lowest, highest
    try:
        context.load_cert_chain(cert_file, key_file, password=key_pass or None)
    except (OSError, ssl.SSLError) as exc:
        # One call loads both: which one failed? (The certificate alone loads as a CA.)
        try:
            ssl.SSLContext(protocol).load_verify_locations(cert_file)
        except (OSError, ssl.SSLError) as cert_exc:
            raise TlsError(f"Failed to load certificate: {cert_file}: "
                           f"{_reason(cert_exc)}") from None
        raise TlsError(f"Failed to load private key: {key_file}: {_reason(exc)}") from None
    if settings.ca_cert_file or settings.ca_cert_dir:
        try:
            context.load_verify_locations(settings.ca_cert_file or None,
                                          settings.ca_cert_dir or None)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"Failed to configure CA certificate(s) file/directory: "
                           f"{_reason(exc)}") from None
    if settings.ciphers:
        try:
            context.set_ciphers(settings.ciphers)
        except ssl.SSLError:
            raise TlsError(f"Failed to configure ciphers: {settings.ciphers}") from None
    return context


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError):
        return exc.strerror or str(exc)
    return str(exc)
