"""Named and numbered probe ports, resolved as the kubelet's ResolveContainerPort."""

from __future__ import annotations

from fastpod.model import Container, ContainerPort
from fastpod.probes.ports import PortError, resolve_port

CONTAINER = Container(
    name="etcd",
    ports=[
        ContainerPort(name="metrics", container_port=2381),
        ContainerPort(name="broken", container_port=70000),
    ],
)


def test_a_number_is_the_port() -> None:
    assert resolve_port(8080, CONTAINER) == 8080


def test_a_name_is_looked_up_in_the_container_ports() -> None:
    assert resolve_port("metrics", CONTAINER) == 2381


def test_an_unknown_name_is_an_error_in_the_kubelet_words() -> None:
    assert resolve_port("probe", CONTAINER) == PortError('port "probe" not found')
    assert resolve_port("probe", Container(name="bare")) == PortError('port "probe" not found')


def test_a_number_outside_the_tcp_range_is_an_error() -> None:
    assert resolve_port(0, CONTAINER) == PortError("invalid port number: 0")
    assert resolve_port(65536, CONTAINER) == PortError("invalid port number: 65536")
    assert resolve_port("broken", CONTAINER) == PortError("invalid port number: 70000")
    assert resolve_port(None, CONTAINER) == PortError("invalid port number: 0")
