"""Servers on the host that the runtime probe tests point fastpod's probes at.

A hostNetwork pod's probes reach the node's own addresses, so a server the test starts on
the host is as good a target as one in the pod, and the test can change its answers at
will: a TLS certificate nobody trusts (:func:`self_signed_context`), a TLS front for a
plain HTTP server that cannot speak TLS itself (:class:`TlsProxy`, for busybox httpd), and
the standard gRPC health service (:class:`HealthServer`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import tempfile
import threading
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


class TlsProxy:
    """Terminates TLS on ``address:port`` and relays each connection's bytes, as they are,
    to the plain server at ``address:backend``; a backend that does not answer closes the
    client's connection, as a dead server would. Runs on its own thread until closed."""

    def __init__(self, address: str, port: int, backend: int) -> None:
        self.address = address
        self.port = port
        self.backend = backend
        self.connections = 0
        """Connections accepted so far (each TLS handshake that succeeded)."""
        self._context = self_signed_context(address)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._relay, self.address, self.port, ssl=self._context
        )

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                self.address, self.backend
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            _copy(reader, upstream_writer), _copy(upstream_reader, writer), return_exceptions=True
        )

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            relays = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in relays:
                task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def _copy(source: asyncio.StreamReader, destination: asyncio.StreamWriter) -> None:
    """Copy until ``source`` ends, then close ``destination``."""
    try:
        while data := await source.read(65536):
            destination.write(data)
            await destination.drain()
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            destination.close()


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
