"""Validation of a container's probes and lifecycle hooks, as the API server's pod creation
checks them (``validateProbe``, ``validateLifecycle``, ``validateHandler``): one handler
each, its port, scheme and headers, non-negative timings, a single success where only one
counts."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from fastpod.manifest import names
from fastpod.manifest.field_errors import forbidden, invalid, invalid_each, required, unsupported
from fastpod.manifest.paths import FieldPath
from fastpod.manifest.problems import Problem
from fastpod.model import (
    Container,
    ExecAction,
    GRPCAction,
    HTTPGetAction,
    IntOrString,
    LifecycleHandler,
    Probe,
    TCPSocketAction,
)

HTTP_SCHEMES = ("HTTP", "HTTPS")

_HTTP_TOKEN = re.compile(r"^[-!#$%&'*+.^_`|~0-9A-Za-z]+$")


def validate_probes_and_hooks(
    container: Container, path: FieldPath, *, is_init: bool
) -> Iterator[Problem]:
    """Every problem with the container's probes and lifecycle hooks; an init container
    without ``restartPolicy: Always`` may have none."""
    probes = (
        ("livenessProbe", container.liveness_probe),
        ("readinessProbe", container.readiness_probe),
        ("startupProbe", container.startup_probe),
    )
    if is_init and container.restart_policy != "Always":
        for name, value in (*probes, ("lifecycle", container.lifecycle)):
            if value is not None:
                yield forbidden(
                    (*path, name), "may not be set for init containers without restartPolicy=Always"
                )
        return
    for name, probe in probes:
        if probe is not None:
            yield from _probe(probe, (*path, name), single_success=name != "readinessProbe")
    lifecycle = container.lifecycle
    if lifecycle is not None:
        for name, hook in (("postStart", lifecycle.post_start), ("preStop", lifecycle.pre_stop)):
            if hook is not None:
                yield from _hook(hook, (*path, "lifecycle", name))


def _probe(probe: Probe, path: FieldPath, *, single_success: bool) -> Iterator[Problem]:
    handlers = [
        (name, value)
        for name, value in (
            ("exec", probe.exec),
            ("httpGet", probe.http_get),
            ("tcpSocket", probe.tcp_socket),
            ("grpc", probe.grpc),
        )
        if value is not None
    ]
    yield from _one_handler(handlers, path)
    for name, value in (
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ):
        if value is not None and value < 0:
            yield invalid((*path, name), value, "must be greater than or equal to 0")
    if single_success and probe.success_threshold not in (None, 1):
        yield invalid((*path, "successThreshold"), probe.success_threshold, "must be 1")
    if (
        probe.termination_grace_period_seconds is not None
        and probe.termination_grace_period_seconds <= 0
    ):
        yield invalid(
            (*path, "terminationGracePeriodSeconds"),
            probe.termination_grace_period_seconds,
            "must be greater than 0",
        )


def _hook(hook: LifecycleHandler, path: FieldPath) -> Iterator[Problem]:
    handlers = [
        (name, value)
        for name, value in (
            ("exec", hook.exec),
            ("httpGet", hook.http_get),
            ("tcpSocket", hook.tcp_socket),
            ("sleep", hook.sleep),
        )
        if value is not None
    ]
    yield from _one_handler(handlers, path)
    if hook.sleep is not None and (hook.sleep.seconds is None or hook.sleep.seconds <= 0):
        yield invalid((*path, "sleep", "seconds"), hook.sleep.seconds, "must be greater than 0")


def _one_handler(handlers: Sequence[tuple[str, object]], path: FieldPath) -> Iterator[Problem]:
    if not handlers:
        yield required(path, "must specify a handler type")
        return
    for name, _ in handlers[1:]:
        yield forbidden((*path, name), "may not specify more than 1 handler type")
    name, handler = handlers[0]
    here = (*path, name)
    if isinstance(handler, HTTPGetAction):
        yield from _port(handler.port, (*here, "port"))
        if handler.scheme not in HTTP_SCHEMES:
            yield unsupported((*here, "scheme"), handler.scheme, HTTP_SCHEMES)
        for index, header in enumerate(handler.http_headers or ()):
            if not header.name or not _HTTP_TOKEN.match(header.name):
                yield invalid(
                    (*here, "httpHeaders", index, "name"),
                    header.name or "",
                    "a valid HTTP header must consist of alphanumeric characters or '-'",
                )
    elif isinstance(handler, TCPSocketAction):
        yield from _port(handler.port, (*here, "port"))
    elif isinstance(handler, GRPCAction):
        if handler.port is None:
            yield required((*here, "port"))
        else:
            if errors := names.port_number(handler.port):
                yield from invalid_each((*here, "port"), handler.port, errors)
    elif isinstance(handler, ExecAction) and not handler.command:
        yield required((*here, "command"))


def _port(port: IntOrString | None, path: FieldPath) -> Iterator[Problem]:
    if port is None or port == "":
        yield required(path)
    elif isinstance(port, int):
        if errors := names.port_number(port):
            yield from invalid_each(path, port, errors)
    else:
        if errors := names.iana_service_name(port):
            yield from invalid_each(path, port, errors)
