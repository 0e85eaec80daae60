"""What a worker keeps about its pods besides what runs: back-offs, log links, events.

One owner, made by the pod runner and handed to the container starter, which reads and
extends it, and to the teardown, which forgets a pod that is gone: neither reaches
through the other or into the pod loop for it.
"""

from __future__ import annotations

from fastpod.backoff import BackOff
from fastpod.model import Pod
from fastpod.runtime import addresses
from fastpod.runtime.podlogs import PodLogs
from fastpod.worker.events import PodEvents
from fastpod.worker.settings import WorkerSettings

IMAGE_PULL_BACKOFF = (10.0, 300.0, 600.0)
"""The image-pull back-off's first delay, cap and reset, in seconds: the kubelet's, which
no setting changes (``--restart-backoff`` and the profiles tune the crash-loop back-off)."""


class PodState:
    """The per-pod state shared by the pod loops of one worker, keyed by pod UID or key."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.crash_backoff = BackOff(
            settings.backoff_initial, settings.backoff_max, settings.backoff_reset
        )
        """When each crashed container may start again (keys from ``backoff_key``)."""
        self.image_backoff = BackOff(*IMAGE_PULL_BACKOFF)
        """When each failed image may be pulled again (keys from ``image_backoff_key``)."""
        self.pod_logs = PodLogs(settings.pod_logs_dir)
        self.events = PodEvents()
        self.host_ip = settings.host_ip
        self.addresses: dict[str, tuple[str, tuple[str, ...]]] = {}
        """Pod UID → the sandbox whose addresses were read last, and the pod's IPs from
        them: read once per sandbox by the pod loop, kept after it stops (a pod that ended
        still shows the address it had)."""

    def pod_ips(self, pod: Pod) -> tuple[str, ...]:
        """The pod's addresses (its ``podIPs``): as its sandbox reported them, the node's
        under ``hostNetwork``, none before its sandbox's were read."""
        held = self.addresses.get(pod.metadata.uid or "")
        if held is not None:
            return held[1]
        return addresses.pod_ips(bool(pod.spec.host_network), (), self.host_ip)

    def pod_address(self, pod: Pod) -> str:
        """Where probes and hooks reach the pod: its first address, else its loopback
        (:func:`~fastpod.runtime.addresses.dial_address`)."""
        return addresses.dial_address(self.pod_ips(pod))

    def addresses_read(self, pod: Pod, sandbox_id: str) -> bool:
        """Whether the pod's addresses need not be asked of this sandbox: they were, or the
        pod has the node's (the runtime is not responsible for a hostNetwork pod's)."""
        held = self.addresses.get(pod.metadata.uid or "")
        return bool(pod.spec.host_network) or (held is not None and held[0] == sandbox_id)

    def take_addresses(self, pod: Pod, sandbox_id: str, reported: tuple[str, ...]) -> None:
        """Hold what the pod's sandbox ``sandbox_id`` reported as its addresses."""
        ips = addresses.pod_ips(bool(pod.spec.host_network), reported, self.host_ip)
        self.addresses[pod.metadata.uid or ""] = (sandbox_id, ips)

    def forget(self, key: str, uid: str) -> None:
        """Drop what is kept of a pod that is gone: its log links, back-offs, addresses."""
        namespace, _, name = key.partition("/")
        self.addresses.pop(uid, None)
        self.pod_logs.remove(namespace, name, uid)
        self.crash_backoff.forget(f"{uid}_")
        self.image_backoff.forget(f"{uid}_")
