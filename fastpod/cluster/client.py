"""The API server, as the cluster process calls it: lightkube's asynchronous client under
the kubelet's rate limit, every answer a plain JSON object and every failure an
:class:`ApiFailure` that says what kind it is.

lightkube reads the kubeconfig as client-go does (client certificate and key files or
embedded data, bearer tokens and token files, exec plugins, the server's CA). Calls wait
their turn in the token bucket (``kubeAPIQPS``/``kubeAPIBurst``; Events in one of their
own, ``eventRecordQPS``/``eventBurst``, as the kubelet makes a separate client for them in
``makeEventRecorder``, so a burst of events never delays a mirror pod) and are counted as
client-go counts them (``rest_client_requests_total{code,method,host}``). Nothing here
retries: the callers decide when to try again (``cluster/retry.py``).
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx2
from lightkube import ApiError, AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError
from lightkube.resources.coordination_v1 import Lease
from lightkube.resources.core_v1 import Event, Node, NodeStatus, Pod, PodStatus
from lightkube.types import PatchType

from fastpod.cluster.ratelimit import TokenBucket
from fastpod.metrics import recorder

Object = dict[str, Any]

REQUEST_TIMEOUT = 10.0
"""Seconds one request may take: client-go's default for the kubelet's heartbeat client is
the same order (its lease client times out at the renew interval, 10 s)."""


class ApiFailure(Exception):
    """A call that failed: ``kind`` is ``unreachable`` (no answer: network, timeout, TLS),
    ``not-found``, ``exists``, ``conflict``, ``expired`` (410: a watch's version compacted
    away), ``refused`` (401, 403), ``server`` (5xx, 429), or ``invalid`` (another 4xx);
    ``code`` the HTTP status, when there was one."""

    def __init__(self, kind: str, code: int | None, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = code
        self.message = message


class ApiClient:
    """The calls the cluster side makes, one method each."""

    def __init__(
        self,
        kubeconfig: str,
        qps: float,
        burst: int,
        *,
        event_qps: float = 50,
        event_burst: int = 100,
    ) -> None:
        try:
            config = KubeConfig.from_file(kubeconfig).get()
            if config is None:
                raise ValueError("no current context")
            self._client = AsyncClient(
                config, timeout=httpx2.Timeout(REQUEST_TIMEOUT), trust_env=False
            )
            server = config.cluster.server
        except (ConfigError, OSError, ValueError, KeyError) as error:
            raise ApiFailure("invalid", None, f"kubeconfig {kubeconfig}: {error}") from None
        self.host = urllib.parse.urlsplit(server).netloc
        now = asyncio.get_running_loop().time()
        self._bucket = TokenBucket(qps, burst, now)
        self._event_bucket = TokenBucket(event_qps, event_burst, now)

    async def close(self) -> None:
        await self._client.close()

    async def get_node(self, name: str) -> Object | None:
        """The Node ``name``, None if there is none."""
        try:
            return await self._call("GET", self._client.get(Node, name))
        except ApiFailure as failure:
            if failure.kind == "not-found":
                return None
            raise

    async def create_node(self, node: Object) -> Object:
        return await self._call("POST", self._client.create(Node.from_dict(node)))

    async def patch_node_status(self, name: str, patch: Object) -> Object:
        """A strategic merge patch of the Node's status (and labels), as ``PatchNodeStatus``:
        its conditions and addresses merge by type, so other writers' are kept."""
        call = self._client.patch(NodeStatus, name, patch, patch_type=PatchType.STRATEGIC)
        return await self._call("PATCH", call)

    async def get_lease(self, name: str, namespace: str) -> Object | None:
        try:
            return await self._call("GET", self._client.get(Lease, name, namespace=namespace))
        except ApiFailure as failure:
            if failure.kind == "not-found":
                return None
            raise

    async def create_lease(self, lease: Object) -> Object:
        return await self._call("POST", self._client.create(Lease.from_dict(lease)))

    async def replace_lease(self, lease: Object) -> Object:
        return await self._call("PUT", self._client.replace(Lease.from_dict(lease)))

    async def create_pod(self, pod: Object) -> Object:
        return await self._call("POST", self._client.create(Pod.from_dict(pod)))

    async def delete_pod(self, name: str, namespace: str, uid: str) -> None:
        """Delete the pod ``namespace/name`` at once (grace 0) if it still has ``uid``, as the
        kubelet's ``DeleteMirrorPod`` does: a pod made again since under the same name is
        left alone (409). A pod already gone is no failure."""
        generic = self._client._client
        request = generic.prepare_request("delete", res=Pod, name=name, namespace=namespace)
        request.data = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "gracePeriodSeconds": 0,
            "preconditions": {"uid": uid},
        }

        async def call() -> Any:
            sent = generic.build_adapter_request(request)
            response = await generic.send(sent)  # type: ignore[no-untyped-call]
            answer = generic.handle_response("delete", response, request)
            return Pod.from_dict({}) if answer is None else answer

        try:
            await self._call("DELETE", call())
        except ApiFailure as failure:
            if failure.kind != "not-found":
                raise

    async def patch_pod_status(self, name: str, namespace: str, uid: str, status: Object) -> Object:
        """Merge ``status`` into the status subresource of the pod ``uid`` (the kubelet's
        status manager patches it the same way): the pod's spec and metadata are never
        written. The UID in the patch is a precondition (``PatchPodStatus``): a pod of the
        same name made since is refused as a conflict, not given the status."""
        body = {"metadata": {"uid": uid}, "status": status}
        call = self._client.patch(
            PodStatus, name, body, namespace=namespace, patch_type=PatchType.MERGE
        )
        return await self._call("PATCH", call)

    async def list_node_pods(self, node_name: str) -> tuple[list[Object], str]:
        """The pods bound to ``node_name`` in every namespace, and the list's resource
        version (where a watch resumes)."""
        listing = self._client.list(
            Pod, namespace="*", fields={"spec.nodeName": node_name}, chunk_size=500
        )
        pods: list[Object] = []

        async def collect() -> Any:
            async for pod in listing:
                pods.append(pod.to_dict())
            return Pod.from_dict({"metadata": {"resourceVersion": listing.resourceVersion}})

        answer = await self._call("GET", collect())
        return pods, str(answer["metadata"]["resourceVersion"] or "")

    async def create_event(self, event: Object) -> Object:
        """Write a new Event in its namespace (``EventSinkImpl.Create``)."""
        call = self._client.create(cast(Event, Event.from_dict(event)))
        return await self._call("POST", call, self._event_bucket)

    async def patch_event(self, name: str, namespace: str, patch: Object) -> Object:
        """Apply a strategic merge patch to the Event ``namespace/name``
        (``EventSinkImpl.Patch``): its count, last timestamp and message."""
        call = self._client.patch(
            Event, name, patch, namespace=namespace, patch_type=PatchType.STRATEGIC
        )
        return await self._call("PATCH", call, self._event_bucket)

    async def watch_node_pods(
        self, node_name: str, resource_version: str
    ) -> AsyncIterator[tuple[str, Object]]:
        """The changes (``ADDED``, ``MODIFIED``, ``DELETED``) of the pods bound to
        ``node_name`` after ``resource_version``, as they come. A watch the server ends
        cleanly is resumed from the last change seen; anything else (no answer, 410 for a
        version compacted away, an ``ERROR`` event) is an :class:`ApiFailure`: list again."""
        wait = self._bucket.reserve(asyncio.get_running_loop().time())
        if wait:
            await asyncio.sleep(wait)
        self._count("WATCH", "200")
        changes = self._client.watch(
            Pod,
            namespace="*",
            fields={"spec.nodeName": node_name},
            resource_version=resource_version,
        )
        try:
            async for kind, pod in changes:
                yield kind, pod.to_dict()
        except ApiError as error:
            code = error.status.code or 500
            self._count("WATCH", str(code))
            raise ApiFailure(_kind(code, error.status.reason), code, _message(error)) from None
        except httpx2.HTTPError as error:
            self._count("WATCH", "<error>")
            raise ApiFailure(
                "unreachable", None, f"WATCH: {error or type(error).__name__}"
            ) from None

    async def _call(self, method: str, call: Any, bucket: TokenBucket | None = None) -> Object:
        """Run ``call`` (an unawaited lightkube coroutine) once the rate limit (``bucket``,
        the client's own by default) allows."""
        wait = (bucket or self._bucket).reserve(asyncio.get_running_loop().time())
        try:
            if wait:
                await asyncio.sleep(wait)
            answer = await call
        except ApiError as error:
            code = error.status.code or error.response.status_code
            self._count(method, str(code))
            raise ApiFailure(_kind(code, error.status.reason), code, _message(error)) from None
        except httpx2.HTTPError as error:
            self._count(method, "<error>")
            raise ApiFailure(
                "unreachable", None, f"{method}: {error or type(error).__name__}"
            ) from None
        finally:
            if asyncio.iscoroutine(call):
                call.close()  # never awaited when the wait was cancelled
        self._count(method, "201" if method == "POST" else "200")
        result: Object = answer.to_dict()
        return result

    def _count(self, method: str, code: str) -> None:
        recorder.count("rest_client_requests_total", code=code, method=method, host=self.host)


def _kind(code: int, reason: str | None) -> str:
    if code == 404:
        return "not-found"
    if code == 410:
        return "expired"
    if code == 409:
        return "exists" if reason == "AlreadyExists" else "conflict"
    if code in (401, 403):
        return "refused"
    if code == 429 or code >= 500:
        return "server"
    return "invalid"


def _message(error: ApiError) -> str:
    status = error.status
    return f"{status.code} {status.reason}: {status.message}"
