"""A container's log links, made when it starts, and made again later when the host refused
them (a full disk): once the space returns, ``<pod-logs-dir>/.../<restartCount>.log`` and
the ``containers`` link point at the container's log again, so ``kubectl logs``, the log
rotation and log shippers find it.

The kubelet makes the links once and only logs a failure; a container would then have no
log under the pod logs directory for the rest of its life. fastpod keeps the refused ones
and tries them again at each sync of their pod, while the container is listed: the failure
is said once (an error event naming the path and the errno), its repair once.
"""

from __future__ import annotations

from typing import NamedTuple

from fastpod import logs
from fastpod.model import Pod
from fastpod.runtime.base import ContainerInfo
from fastpod.worker.pod_state import PodState


class _Refused(NamedTuple):
    pod: Pod
    container: str
    restart_count: int
    container_id: str
    log_path: str


class LogLinks:
    """The links of each pod's containers the host has refused so far, by pod key."""

    def __init__(self, state: PodState) -> None:
        self.state = state
        self._refused: dict[str, list[_Refused]] = {}

    def make(
        self,
        key: str,
        pod: Pod,
        name: str,
        restart_count: int,
        container_id: str,
        log_path: str | None,
    ) -> None:
        """Make a started container's links; a host that refuses them is an error event, the
        container running on without them until :meth:`repair` makes them."""
        try:
            self.state.pod_logs.link(pod, name, restart_count, container_id, log_path)
        except OSError as error:
            assert log_path is not None  # nothing is made, so nothing refused, without one
            self._refused.setdefault(key, []).append(
                _Refused(pod, name, restart_count, container_id, log_path)
            )
            message = f"Failed to create the log links of container {name}: {error}"
            self.state.events.emit(
                key,
                "log link not created",
                "Failed",
                message,
                "Warning",
                level="error",
                container=name,
                path=error.filename,
                errno=logs.errno_name(error),
                error=str(error),
            )

    def repair(self, key: str, containers: list[ContainerInfo]) -> None:
        """Try the pod's refused links again, for the containers still listed (a sync's
        listing, taken before it starts any: a link refused in this sync waits for the
        next)."""
        refused = self._refused.get(key)
        if not refused:
            return
        listed = {info.id for info in containers}
        left = []
        for entry in refused:
            if entry.container_id not in listed:
                continue
            try:
                self.state.pod_logs.link(
                    entry.pod,
                    entry.container,
                    entry.restart_count,
                    entry.container_id,
                    entry.log_path,
                )
            except OSError:
                left.append(entry)
                continue
            logs.emit("log link created", pod=key, container=entry.container, late=True)
        if left:
            self._refused[key] = left
        else:
            del self._refused[key]

    def forget(self, key: str) -> None:
        """The pod is gone: nothing of it to repair."""
        self._refused.pop(key, None)
