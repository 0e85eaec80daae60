"""The API server's rules for a pod's security annotations and their fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.manifest.test_validation import C0, errors, with_changes

POD_KEY = "seccomp.security.alpha.kubernetes.io/pod"
WEB_KEY = "container.seccomp.security.alpha.kubernetes.io/web"
RUNTIME = {"seccompProfile": {"type": "RuntimeDefault"}}
LOCAL = {"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}}
ABSOLUTE = {"seccompProfile": {"type": "Localhost", "localhostProfile": "/etc/x.json"}}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"metadata__annotations": {POD_KEY: "default"}},
            f'metadata.annotations[{POD_KEY}]: Invalid value: "default": '
            "must be a valid seccomp profile",
            id="unknown-profile-name",
        ),
        pytest.param(
            {"metadata__annotations": {WEB_KEY: "localhost/../etc/x.json"}},
            f'metadata.annotations[{WEB_KEY}]: Invalid value: "../etc/x.json": '
            "must not contain '..'",
            id="localhost-climbing-out",
        ),
        pytest.param(
            {
                C0 + "securityContext": {
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "/etc/x.json"}
                }
            },
            "spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "
            '"/etc/x.json": must be a relative path',
            id="field-localhost-absolute",
        ),
        pytest.param(
            {"metadata__annotations": {POD_KEY: "unconfined"}, "spec__securityContext": RUNTIME},
            "spec.securityContext.seccompProfile.type: Forbidden: "
            "seccomp type in annotation and field must match",
            id="pod-annotation-and-field-differ",
        ),
        pytest.param(
            {"metadata__annotations": {WEB_KEY: "localhost/b.json"}, C0 + "securityContext": LOCAL},
            "spec.containers[0].securityContext.seccompProfile.localhostProfile: Forbidden: "
            "seccomp profile in annotation and field must match",
            id="container-localhost-files-differ",
        ),
    ],
)
def test_a_seccomp_annotation_the_api_server_refuses_is_refused(
    changes: dict[str, Any], expected: str
) -> None:
    assert errors(with_changes(**changes)) == [expected]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            {
                "metadata__annotations": {POD_KEY: "docker/default"},
                "spec__securityContext": RUNTIME,
            },
            id="docker-default-is-runtime-default",
        ),
        pytest.param(
            {"metadata__annotations": {WEB_KEY: "localhost/a.json"}, C0 + "securityContext": LOCAL},
            id="same-localhost-file",
        ),
        pytest.param(
            {"metadata__annotations": {WEB_KEY: "unconfined", POD_KEY: "runtime/default"}},
            id="annotations-alone",
        ),
    ],
)
def test_seccomp_annotations_that_agree_with_the_fields_are_accepted(
    changes: dict[str, Any],
) -> None:
    assert errors(with_changes(**changes)) == []
