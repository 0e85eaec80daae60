"""A probe's port: a number, or the name of one of the container's ports."""

from __future__ import annotations

import msgspec

from fastpod.model import Container


class PortError(msgspec.Struct, frozen=True):
    """Why a probe's port does not resolve, in the kubelet's words."""

    message: str


def resolve_port(port: int | str | None, container: Container) -> int | PortError:
    """The port number ``port`` means for ``container``, as the kubelet's ResolveContainerPort.

    A string is always a port name, looked up in the container's ``ports``; the number must
    then be a valid TCP port.
    """
    if isinstance(port, str):
        named = next((p for p in container.ports or () if p.name == port), None)
        if named is None:
            return PortError(f'port "{port}" not found')
        number = named.container_port or 0
    else:
        number = port or 0
    if 0 < number < 65536:
        return number
    return PortError(f"invalid port number: {number}")
