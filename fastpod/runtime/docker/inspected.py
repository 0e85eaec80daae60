"""The part of a container's ``docker inspect`` answer fastpod reads."""

from __future__ import annotations

import msgspec


class _State(msgspec.Struct):
    Status: str = ""
    Pid: int = 0
    ExitCode: int = 0
    StartedAt: str = ""
    FinishedAt: str = ""
    OOMKilled: bool = False
    Error: str = ""


class _Config(msgspec.Struct):
    Labels: dict[str, str] | None = None
    Image: str = ""


class _Mount(msgspec.Struct):
    Source: str = ""
    Destination: str = ""


class _Network(msgspec.Struct):
    IPAddress: str = ""
    GlobalIPv6Address: str = ""


class _NetworkSettings(_Network):
    Networks: dict[str, _Network] | None = None


class _HostConfig(msgspec.Struct):
    NetworkMode: str = ""


class Inspected(msgspec.Struct):
    """The part of a container's ``docker inspect`` fastpod reads."""

    Id: str
    Created: str = ""
    Image: str = ""
    State: _State = msgspec.field(default_factory=_State)
    Config: _Config = msgspec.field(default_factory=_Config)
    LogPath: str = ""
    ResolvConfPath: str = ""
    Mounts: list[_Mount] | None = None
    HostConfig: _HostConfig = msgspec.field(default_factory=_HostConfig)
    NetworkSettings: _NetworkSettings = msgspec.field(default_factory=_NetworkSettings)


_inspected = msgspec.json.Decoder(Inspected)


def inspected(payload: bytes) -> Inspected:
    """A container's ``docker inspect`` answer."""
    return _inspected.decode(payload)
