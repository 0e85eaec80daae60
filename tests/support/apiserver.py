"""A Kubernetes API server for tests: kmock's ``KubernetesEmulator`` with the API server's
rules fastpod depends on (``tests/support/apiserver_rules.py``), served on loopback.

No kube-apiserver can be installed here, so the cluster side of fastpod is tested against
this emulator and read back with the real ``kubectl``. Over kmock's in-memory store it adds
what a real API server does and kmock 0.8 does not: system fields on create, 409 on a
taken name or a stale ``resourceVersion``, ``PUT``, merge and JSON patches, the ``status``
subresource, graceful deletion of pods, the mirror pod admission checks, the validation of
Events (``tests/support/apiserver_events.py``), the namespaces a
cluster has, and watches that resume from a ``resourceVersion`` (410 once it is compacted).
It mends kmock 0.8's two answers that stop ``kubectl``: ``/api/v1`` saying
``groupVersion: "/v1"``, and lists without ``kind``/``apiVersion`` and with a placeholder
``resourceVersion``.

Writes happen in the fallback handlers (not before the reactions, as kmock's emulator
does), so a test's kmock reaction or :meth:`ApiServer.refuse` answers instead of the store.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp.web
import attrs
import jsonpatch
import kmock
from kmock._internal import dsl, rendering
from typing_extensions import override

from tests.support.apiserver_events import validate_event
from tests.support.apiserver_rules import (
    MIRROR_ANNOTATION,
    ApiError,
    Object,
    admit_mirror_pod,
    already_exists,
    check_delete_preconditions,
    check_update_preconditions,
    merge_patch,
    not_found,
    now_rfc3339,
    pod_grace_period,
    prepare_pod_create,
    stamp_created,
    strategic_merge_patch,
    updated,
)
from tests.support.apiserver_tables import table, wants_table

_VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]

RESOURCES: dict[str, kmock.ResourceInfo] = {
    "v1/namespaces": kmock.ResourceInfo(
        kind="Namespace", singular="namespace", namespaced=False, verbs=_VERBS, shortnames={"ns"}
    ),
    "v1/nodes": kmock.ResourceInfo(
        kind="Node",
        singular="node",
        namespaced=False,
        verbs=_VERBS,
        shortnames={"no"},
        subresources={"status"},
    ),
    "v1/pods": kmock.ResourceInfo(
        kind="Pod",
        singular="pod",
        namespaced=True,
        verbs=_VERBS,
        shortnames={"po"},
        categories={"all"},
        subresources={"status"},
    ),
    "v1/events": kmock.ResourceInfo(
        kind="Event", singular="event", namespaced=True, verbs=_VERBS, shortnames={"ev"}
    ),
    "coordination.k8s.io/v1/leases": kmock.ResourceInfo(
        kind="Lease", singular="lease", namespaced=True, verbs=_VERBS
    ),
}
"""What the server serves, declared for discovery (``kubectl`` finds its types there)."""

NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""The namespaces every cluster has from the start (kube-apiserver's system namespaces)."""

WATCH_WINDOW = 1000
"""Changes a watch may resume after; older ``resourceVersion`` values are compacted (410)."""


@dataclass(frozen=True)
class Change:
    """One stored change, as watches send it."""

    revision: int
    resource: kmock.resource
    kind: str
    """``ADDED``, ``MODIFIED`` or ``DELETED``."""
    obj: Object


@dataclass
class Refusal:
    """Requests matching ``method`` and ``path`` answered with ``code`` instead (fault
    injection); ``remaining`` None: until lifted."""

    method: str
    path: re.Pattern[str]
    code: int
    remaining: int | None = None


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    """kmock's emulator with the API server's rules; see the module's docstring."""

    revision: int = attrs.field(default=1, init=False)
    changes: list[Change] = attrs.field(factory=list, init=False)
    refusals: list[Refusal] = attrs.field(factory=list, init=False)
    watches_opened: int = attrs.field(default=0, init=False)
    compacted: int = attrs.field(default=0, init=False)
    """The revision up to which changes are forgotten: a watch may resume after it only."""
    _changed: asyncio.Event = attrs.field(factory=asyncio.Event, init=False)
    _watch_epoch: int = attrs.field(default=0, init=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        for key, info in RESOURCES.items():
            self.resources[key] = info
        self.fallback[kmock.method.PUT] << self._serve_replace
        now = datetime.datetime.now(datetime.UTC)
        for name in NAMESPACES:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            stored = stamp_created(namespace, self._next_revision(), now)
            stored["status"] = {"phase": "Active"}
            self.objects[kmock.resource("v1/namespaces"), None, name] = stored

    # -- what tests use ---------------------------------------------------------------------

    def stored(self, resource: str, namespace: str | None, name: str) -> Object | None:
        """The object as stored now, None if there is none."""
        return self._get(kmock.resource(resource), namespace, name)

    def stored_all(self, resource: str) -> list[Object]:
        """Every object of ``resource`` stored now."""
        wanted = kmock.resource(resource)
        return [
            copy.deepcopy(obj.raw)
            for (kind, _, _), obj in self.objects.items()
            if kind == wanted and not obj.deleted
        ]

    def refuse(self, method: str, path: str, code: int, times: int | None = None) -> None:
        """Answer ``method`` requests whose path matches the regular expression ``path``
        with ``code`` (``times`` times, or until :meth:`lift`)."""
        self.refusals.append(Refusal(method.upper(), re.compile(path), code, times))

    def lift(self) -> None:
        """Stop refusing."""
        self.refusals.clear()

    def close_watches(self) -> None:
        """End every open watch, as an API server closes them (a client must watch again)."""
        self._watch_epoch += 1
        self._wake()

    def compact(self) -> None:
        """Forget every change so far: a watch resuming from before now gets 410 Gone."""
        self.changes.clear()
        self.compacted = self.revision
        self._wake()

    # -- dispatch ---------------------------------------------------------------------------

    @override
    async def _handle(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        for refusal in self.refusals:
            if refusal.method == request.method.value and refusal.path.search(request.url.path):
                if refusal.remaining is not None:
                    refusal.remaining -= 1
                    if refusal.remaining <= 0:
                        self.refusals.remove(refusal)
                return _error_response(_refused(refusal.code))
        try:
            # kmock's emulator writes before the reactions run; here the fallbacks write
            return await self._react(request)
        except ApiError as error:
            return _error_response(error)

    async def _react(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """kmock's ``RawHandler._handle`` (the first reaction by priority that sees the
        request answers it), testing whether a reaction sees the request by its filters'
        criteria alone where its chain is plain filters: kmock tests it by walking every
        request so far, which makes a server that took thousands of requests take tens of
        milliseconds for each (the mirror pods' benchmark makes some thousands)."""
        payloads = sorted(self._payloads, key=_priority_key(self._payloads))
        for payload in payloads:
            seen = _sees(payload._source, request, self)
            if seen is None:
                seen = request in payload._source
            if seen and not payload._disabled.is_set():
                try:
                    return await payload(request)
                except rendering.ReactionMismatchError:  # mismatched or depleted
                    payload._disabled.set()
                except NotImplementedError:  # matched, nothing to answer with
                    pass
        raise NotImplementedError("no reaction matches the request")

    @override
    async def _serve_version(self, request: rendering.Request) -> rendering.Payload:
        answer = await super()._serve_version(request)
        assert isinstance(answer, dict)
        if answer.get("groupVersion") == "/v1":  # kmock 0.8: the core group has no prefix
            answer["groupVersion"] = "v1"
        return answer

    # -- reads --------------------------------------------------------------------------------

    @override
    async def _serve_fetch(self, request: rendering.Request) -> rendering.Payload:
        resource, name = _resource_of(request), _name_of(request)
        obj = self._get(resource, request.namespace, name)
        if obj is None:
            raise not_found(_plural_name(resource), name)
        if wants_table(request.headers.get("Accept", "")):
            return self._table(resource, [obj])
        return obj

    @override
    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        resource = _resource_of(request)
        info = self.resources[resource]
        items = self._matching(request)
        if wants_table(request.headers.get("Accept", "")):
            return self._table(resource, items)
        return {
            "kind": f"{info.kind}List",
            "apiVersion": _api_version(resource),
            "metadata": {"resourceVersion": str(self.revision)},
            "items": items,
        }

    @override
    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # the headers go at once, as the API server's
        self.watches_opened += 1
        resource = _resource_of(request)
        epoch = self._watch_epoch
        since = request.params.get("resourceVersion", "")
        timeout = float(request.params.get("timeoutSeconds", 1800))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if since in ("", "0"):
            for obj in self._matching(request):
                yield {"type": "ADDED", "object": obj}
            position = self.revision
        else:
            position = int(since)
            if position < self.compacted:
                yield {"type": "ERROR", "object": _expired(position, self.compacted).status()}
                return
        while epoch == self._watch_epoch and loop.time() < deadline:
            for change in [c for c in self.changes if c.revision > position]:
                position = change.revision
                if change.resource == resource and _selected(request, change.obj):
                    yield {"type": change.kind, "object": change.obj}
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), max(deadline - loop.time(), 0))
            except TimeoutError:
                return

    # -- writes -------------------------------------------------------------------------------

    @override
    async def _serve_create(self, request: rendering.Request) -> rendering.Payload:
        resource = _resource_of(request)
        info = self.resources[resource]
        body = _body_object(request)
        meta = body.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        name = meta.get("name")
        if not name:
            raise ApiError(422, "Invalid", f"{info.kind} is invalid: metadata.name: Required value")
        namespace = self._namespace_for(request, info, body)
        key = (resource, namespace, name)
        if self._get(*key) is not None:
            raise already_exists(_plural_name(resource), name)
        body["apiVersion"] = _api_version(resource)
        body["kind"] = info.kind
        if resource == "v1/events":
            validate_event(body)
        if resource == "v1/pods":
            if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
                nodes = {obj["metadata"]["name"]: obj for obj in self.stored_all("v1/nodes")}
                admit_mirror_pod(body, nodes)
            prepare_pod_create(body)
        stored = stamp_created(body, self._next_revision(), datetime.datetime.now(datetime.UTC))
        self._store(key, stored, "ADDED")
        return rendering.Response(status=201, payload=stored)

    async def _serve_replace(self, request: rendering.Request) -> rendering.Payload:
        resource, name = _resource_of(request), _name_of(request)
        old = self._existing(resource, request.namespace, name)
        new = _body_object(request)
        if new.get("metadata", {}).get("name") != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the URL")
        return self._update(resource, request, old, new)

    @override
    async def _serve_update(self, request: rendering.Request) -> rendering.Payload:
        resource, name = _resource_of(request), _name_of(request)
        old = self._existing(resource, request.namespace, name)
        kind = request.headers.get("Content-Type", "").split(";")[0].strip()
        patch = request.data
        if kind == "application/json-patch+json":
            if not isinstance(patch, list):
                raise ApiError(400, "BadRequest", "a JSON patch is a list of operations")
            try:
                new = jsonpatch.apply_patch(old, patch)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
                raise ApiError(422, "Invalid", f"the patch cannot be applied: {error}") from None
        elif kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a merge patch is a JSON object")
            strategic = kind == "application/strategic-merge-patch+json"
            new = strategic_merge_patch(old, patch) if strategic else merge_patch(old, patch)
        else:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format: {kind}",
            )
        return self._update(resource, request, old, new)

    @override
    async def _serve_delete(self, request: rendering.Request) -> rendering.Payload:
        resource, name = _resource_of(request), _name_of(request)
        key = (resource, request.namespace, name)
        obj = self._existing(*key)
        options = request.data if isinstance(request.data, dict) else {}
        if "gracePeriodSeconds" in request.params:
            options = {**options, "gracePeriodSeconds": int(request.params["gracePeriodSeconds"])}
        check_delete_preconditions(obj, options, _plural_name(resource), name)
        meta = obj["metadata"]
        grace = pod_grace_period(obj, options) if resource == "v1/pods" else 0
        now = datetime.datetime.now(datetime.UTC)
        if grace > 0 and meta.get("deletionGracePeriodSeconds", grace + 1) > grace:
            # graceful deletion: marked now, gone when its node deletes it with grace 0
            meta["deletionTimestamp"] = now_rfc3339(now + datetime.timedelta(seconds=grace))
            meta["deletionGracePeriodSeconds"] = grace
            meta["resourceVersion"] = str(self._next_revision())
            self._store(key, obj, "MODIFIED")
            return obj
        if grace > 0:
            return obj  # already being deleted, with a shorter grace period
        if meta.get("finalizers"):
            meta.setdefault("deletionTimestamp", now_rfc3339(now))
            meta["deletionGracePeriodSeconds"] = 0
            meta["resourceVersion"] = str(self._next_revision())
            self._store(key, obj, "MODIFIED")
            return obj
        meta["resourceVersion"] = str(self._next_revision())
        self._remove(key, obj)
        return obj

    def _table(self, resource: kmock.resource, objects: list[Object]) -> Object:
        kind = self.resources[resource].kind or ""
        return table(kind, objects, self.revision, datetime.datetime.now(datetime.UTC))

    # -- the store ----------------------------------------------------------------------------

    def _update(
        self, resource: kmock.resource, request: rendering.Request, old: Object, new: Object
    ) -> Object:
        name = _name_of(request)
        check_update_preconditions(old, new, _plural_name(resource), name)
        new["apiVersion"] = _api_version(resource)
        new["kind"] = self.resources[resource].kind
        if resource == "v1/events":
            validate_event(new)
        stored = updated(old, new, self._next_revision(), subresource=request.subresource)
        key = (resource, request.namespace, name)
        meta = stored["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and resource != "v1/pods":
            self._remove(key, stored)  # its last finalizer gone
        else:
            self._store(key, stored, "MODIFIED")
        return stored

    def _get(self, resource: kmock.resource, namespace: str | None, name: str) -> Object | None:
        key = (resource, namespace, name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)

    def _existing(self, resource: kmock.resource, namespace: str | None, name: str) -> Object:
        obj = self._get(resource, namespace, name)
        if obj is None:
            raise not_found(_plural_name(resource), name)
        return obj

    def _matching(self, request: rendering.Request) -> list[Object]:
        resource = _resource_of(request)
        return [
            copy.deepcopy(obj.raw)
            for (kind, namespace, name), obj in self.objects.items()
            if kind == resource
            and not obj.deleted
            and (request.namespace is None or namespace == request.namespace)
            and (request.name is None or name == request.name)
            and _selected(request, obj.raw)
        ]

    def _namespace_for(
        self, request: rendering.Request, info: kmock.ResourceInfo, body: Object
    ) -> str | None:
        if not info.namespaced:
            body["metadata"].pop("namespace", None)
            return None
        namespace = request.namespace
        given = body["metadata"].get("namespace")
        if given and given != namespace:
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the provided object does not match the namespace sent on "
                "the request",
            )
        assert namespace is not None
        if self._get(kmock.resource("v1/namespaces"), None, namespace) is None:
            raise not_found("namespaces", namespace)
        body["metadata"]["namespace"] = namespace
        return namespace

    def _store(self, key: tuple[kmock.resource, str | None, str], obj: Object, kind: str) -> None:
        if key in self.objects and not self.objects[key].deleted:
            self.objects[key].create(obj)  # a new version in kmock's history
        elif key in self.objects:
            self.objects[key].create(obj)
        else:
            self.objects[key] = obj
        self._record(key[0], kind, obj)

    def _remove(self, key: tuple[kmock.resource, str | None, str], obj: Object) -> None:
        self.objects[key].delete()
        self._record(key[0], "DELETED", obj)

    def _record(self, resource: kmock.resource, kind: str, obj: Object) -> None:
        revision = int(obj["metadata"]["resourceVersion"])
        self.changes.append(Change(revision, resource, kind, copy.deepcopy(obj)))
        if len(self.changes) > WATCH_WINDOW:
            self.compacted = self.changes[-WATCH_WINDOW - 1].revision
            del self.changes[:-WATCH_WINDOW]
        self._wake()

    def _next_revision(self) -> int:
        self.revision += 1
        return self.revision

    def _wake(self) -> None:
        self._changed.set()


def _priority_key(payloads: list[Any]) -> Any:
    """kmock's order of reactions: by priority, highest first, shorter ones padded."""
    length = max((len(payload.priorities) for payload in payloads), default=0)

    def key(payload: Any) -> tuple[float, ...]:
        negated = tuple(-p for p in payload.priorities)
        return negated + (0,) * (length - len(negated))

    return key


def _sees(view: dsl.View, request: rendering.Request, root: dsl.Root) -> bool | None:
    """Whether ``view`` sees ``request`` (just taken by ``root``), from its filters'
    criteria; None when the chain holds more than filters (slices, groups, exclusions),
    whose answer depends on the requests before."""
    node: dsl.View = view
    while node is not root:
        if type(node) is dsl.Filter:
            if not node.criteria(request):
                return False
        elif type(node) not in (dsl.Priority, dsl.Chained):
            return None
        node = node._source  # type: ignore[attr-defined]
    return True


def _resource_of(request: rendering.Request) -> kmock.resource:
    assert request.resource is not None
    return request.resource


def _name_of(request: rendering.Request) -> str:
    assert request.name is not None
    return request.name


def _api_version(resource: kmock.resource) -> str:
    return f"{resource.group}/{resource.version}" if resource.group else str(resource.version)


def _plural_name(resource: kmock.resource) -> str:
    """How errors name a resource: ``pods``, ``leases.coordination.k8s.io``."""
    return f"{resource.plural}.{resource.group}" if resource.group else str(resource.plural)


def _body_object(request: rendering.Request) -> Object:
    if not isinstance(request.data, dict):
        raise ApiError(400, "BadRequest", "the request body is not a JSON object")
    return copy.deepcopy(request.data)


def _selected(request: rendering.Request, obj: Object) -> bool:
    """Whether ``obj`` passes the request's ``fieldSelector`` and ``labelSelector`` (the
    forms fastpod and kubectl use: ``a=b``, ``a==b``, ``a!=b``; ``key`` and ``!key`` for
    labels)."""
    for term in filter(None, request.params.get("fieldSelector", "").split(",")):
        field, negated, value = _term(term)
        actual = _field(obj, field)
        if (actual == value) == negated:
            return False
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, request.params.get("labelSelector", "").split(",")):
        if "=" not in term:
            if (term.startswith("!") and term[1:] in labels) or (
                not term.startswith("!") and term not in labels
            ):
                return False
            continue
        key, negated, value = _term(term)
        if (labels.get(key) == value) == negated:
            return False
    return True


def _term(term: str) -> tuple[str, bool, str]:
    if "!=" in term:
        key, value = term.split("!=", 1)
        return key, True, value
    key, value = term.replace("==", "=").split("=", 1)
    return key, False, value


def _field(obj: Object, path: str) -> str:
    value: Any = obj
    for part in path.split("."):
        value = value.get(part, "") if isinstance(value, dict) else ""
    return str(value)


def _refused(code: int) -> ApiError:
    reasons = {
        401: ("Unauthorized", "Unauthorized"),
        403: ("Forbidden", "forbidden: refused by the test"),
        409: ("Conflict", "conflict: refused by the test"),
        429: ("TooManyRequests", "too many requests"),
        500: ("InternalError", "Internal error occurred: refused by the test"),
        503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    }
    reason, message = reasons.get(code, ("InternalError", f"refused by the test with {code}"))
    return ApiError(code, reason, message)


def _expired(position: int, compacted: int) -> ApiError:
    """The watch cache's answer to a ``resourceVersion`` it no longer has (410 Expired)."""
    return ApiError(410, "Expired", f"too old resource version: {position} ({compacted})")


def _error_response(error: ApiError) -> aiohttp.web.Response:
    return aiohttp.web.Response(
        body=json.dumps(error.status()), status=error.code, content_type="application/json"
    )
