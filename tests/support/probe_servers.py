"""Servers on the host that the runtime probe tests point fastpod's probes at.

A hostNetwork pod's probes reach the node's own addresses, so a server the test starts on
the host is as good a target as one in the pod, and the test can change its answers at
will: a TLS certificate nobody trusts (:func:`self_signed_context`) and the standard gRPC
health service (:class:`HealthServer`).
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import tempfile
from concurrent import futures
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def self_signed_context(address: str) -> ssl.SSLContext:
    """A server's TLS context with a certificate for ``address`` that signs itself: no
    client trusts it, so only a client that verifies nothing (the kubelet's probes) talks
    to the server."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as directory:
        chain = Path(directory) / "server.pem"
        chain.write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context.load_cert_chain(chain)
    return context


def refuses_verification(address: str, port: int) -> bool:
    """Whether a client that verifies certificates, as curl or Go's default does, refuses
    the server at ``address:port``."""
    client = ssl.create_default_context()
    try:
        with (
            socket.create_connection((address, port), timeout=5) as connection,
            client.wrap_socket(connection, server_hostname=address),
        ):
            return False
    except ssl.SSLCertVerificationError:
        return True


class HealthServer:
    """A gRPC server with the standard health service (``grpc.health.v1``) and nothing
    else, on ``address`` and a free port; :meth:`set` changes what it says of a service."""

    def __init__(self, address: str) -> None:
        self._servicer = health.HealthServicer()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        health_pb2_grpc.add_HealthServicer_to_server(self._servicer, self._server)
        self.port = self._server.add_insecure_port(f"{address}:0")
        self._server.start()

    def set(self, service: str, status: int) -> None:
        """Answer ``status`` for ``service`` from now on (``""``: the server overall)."""
        self._servicer.set(service, status)

    def close(self) -> None:
        self._server.stop(None)
