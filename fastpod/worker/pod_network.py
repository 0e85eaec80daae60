"""A pod's names on the node: its sandbox's hostname and resolver configuration, and the
``/etc/hosts`` its containers get.

The decisions are pure (:mod:`fastpod.runtime.dns`, :mod:`fastpod.runtime.hosts`,
:mod:`fastpod.runtime.sandbox`); this reads the node's files they start from, writes the
pod's hosts file, and says the kubelet's warnings as the pod's events.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from fastpod.model import Pod
from fastpod.runtime.addresses import LOOPBACK
from fastpod.runtime.dns import (
    MAX_RESOLV_CONF_BYTES,
    DnsConfig,
    NodeDns,
    ResolvConfError,
    parse_resolv_conf,
    pod_dns,
)
from fastpod.runtime.hosts import ETC_HOSTS, managed_hosts, node_hosts
from fastpod.runtime.sandbox import (
    SandboxError,
    SandboxSpec,
    pod_hostname_and_domain,
    sandbox_spec,
)
from fastpod.worker.events import PodEvents
from fastpod.worker.settings import WorkerSettings

HOSTS_FILE_MODE = 0o644


class HostsFileError(Exception):
    """The pod's hosts file cannot be made; the message says why, as Go would."""


def _failed(action: str, path: str, error: OSError) -> str:
    """``open /etc/hosts: permission denied``: an OS error as the kubelet reports one."""
    return f"{action} {path}: {(error.strerror or str(error)).lower()}"


class PodNetwork:
    """Works out each pod's sandbox names and writes its hosts file, for one worker."""

    def __init__(self, settings: WorkerSettings, events: PodEvents) -> None:
        self.settings = settings
        self.events = events

    def sandbox(self, key: str, pod: Pod) -> SandboxSpec:
        """The sandbox ``pod`` is to get now, from the node's resolver file as it is now
        (the kubelet reads it again for every sandbox). Raises :class:`SandboxError` when
        the file cannot be used or the hostname cannot be made, which fails the sandbox's
        creation as on the kubelet."""
        settings = self.settings
        node = NodeDns(
            settings.cluster_dns,
            settings.cluster_domain,
            self._resolver(),
            settings.host_ip,
        )
        formed = pod_dns(pod, node)
        for reason, message in formed.warnings:
            self.events.emit(
                key, "pod DNS config warning", reason, message, "Warning", reason=reason
            )
        return sandbox_spec(pod, formed.config, settings.cluster_domain)

    def _resolver(self) -> DnsConfig | None:
        path = self.settings.resolv_conf
        if not path:
            return None
        try:
            with open(path, "rb") as file:
                data = file.read(MAX_RESOLV_CONF_BYTES + 1)
        except OSError as error:
            raise SandboxError(_failed("open", path, error)) from None
        if len(data) > MAX_RESOLV_CONF_BYTES:
            raise SandboxError(f"{path}: the read limit is reached")
        try:
            return parse_resolv_conf(data.decode(errors="replace"))
        except ResolvConfError as error:
            raise SandboxError(f"{path}: {error}") from None

    def write_hosts_file(self, pod: Pod, pod_ips: Sequence[str]) -> str:
        """Write the pod's ``/etc/hosts`` for a container about to be created, and say
        where it is. Written in place, as the kubelet writes it: the running containers see
        the new content. A pod-network pod without an address (every one on Docker, whose
        sandboxes are on its ``none`` network) is named on its loopback, where it is
        reached (:func:`~fastpod.runtime.addresses.dial_address`); the kubelet, which always
        has an address from its network plugin, mounts no file before it has one. Raises
        :class:`HostsFileError` when the file cannot be written or the node's read."""
        spec = pod.spec
        aliases = spec.host_aliases or ()
        if spec.host_network:
            try:
                with open(ETC_HOSTS, "rb") as file:
                    content = node_hosts(file.read(), aliases)
            except OSError as error:
                raise HostsFileError(_failed("open", ETC_HOSTS, error)) from None
        else:
            hostname, domain = pod_hostname_and_domain(pod, self.settings.cluster_domain)
            content = managed_hosts(pod_ips or (LOOPBACK,), hostname, domain, aliases)
        path = self.settings.hosts_file(pod.metadata.uid or "")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as file:
                file.write(content)
            os.chmod(path, HOSTS_FILE_MODE)
        except OSError as error:
            raise HostsFileError(_failed("open", path, error)) from None
        return path
