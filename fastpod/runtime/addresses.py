"""PURE: a pod's addresses, from what the runtime reports for its sandbox.

The kubelet takes a pod's IPs from the status of its sandbox (``determinePodSandboxIPs``:
the CRI's ``network.ip`` then ``additional_ips``; cri-dockerd's from the pause container's
``NetworkSettings``), keeps at most one per family with the node's family first
(``sortPodIPs``), and gives a ``hostNetwork`` pod the node's address when the runtime
reports none (``generateAPIPodStatus``, and ``SyncPod`` for the downward API since
kubernetes#79693). A pod-network sandbox without an address (Docker's ``none`` network, as
fastpod makes it) has none: its status shows no ``podIP``, as the kubelet's would.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

LOOPBACK = "127.0.0.1"
"""Where a pod without an address is reached from inside its own network namespace."""


def _version(text: str) -> int | None:
    try:
        return ipaddress.ip_address(text).version
    except ValueError:
        return None


def reported_ips(primary: str, additional: Sequence[str]) -> tuple[str, ...]:
    """The sandbox's addresses as a CRI ``PodSandboxStatus`` gives them: the primary one
    first (``""`` when the runtime is not responsible for it, as under ``hostNetwork``),
    then the others. Nothing when any of them is not an address, as the kubelet then
    reports none rather than a part."""
    ips = [ip for ip in (primary, *additional) if ip]
    if any(_version(ip) is None for ip in ips):
        return ()
    return tuple(ips)


def pod_ips(host_network: bool, sandbox_ips: Sequence[str], host_ip: str) -> tuple[str, ...]:
    """The pod's ``podIPs``: of ``sandbox_ips``, the first of the node's family (``host_ip``'s;
    IPv4 when unknown) then the first of the other; a ``hostNetwork`` pod without any gets
    ``host_ip``."""
    preferred = 6 if _version(host_ip) == 6 else 4
    ips = [
        next((ip for ip in sandbox_ips if _version(ip) == family), None)
        for family in (preferred, 10 - preferred)
    ]
    chosen = tuple(ip for ip in ips if ip is not None)
    if not chosen and host_network and host_ip:
        return (host_ip,)
    return chosen


def dial_address(ips: Sequence[str]) -> str:
    """Where probes and hooks reach the pod from inside its network namespace: its first
    address, or its loopback when it has none (where Go's dialer, given the kubelet's empty
    host, would go too)."""
    return ips[0] if ips else LOOPBACK
