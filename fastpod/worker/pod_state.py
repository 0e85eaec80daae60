"""What a worker keeps about its pods besides what runs: back-offs, log links, events.

One owner, made by the pod runner and handed to the container starter, which reads and
extends it, and to the teardown, which forgets a pod that is gone: neither reaches
through the other or into the pod loop for it.
"""

from __future__ import annotations

from fastpod.backoff import BackOff
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

    def forget(self, key: str, uid: str) -> None:
        """Drop what is kept of a pod that is gone: its log links and its back-offs."""
        namespace, _, name = key.partition("/")
        self.pod_logs.remove(namespace, name, uid)
        self.crash_backoff.forget(f"{uid}_")
        self.image_backoff.forget(f"{uid}_")
