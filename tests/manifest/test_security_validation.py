"""The API server's rules for a pod's security annotations and their fields."""

from __future__ import annotations

from typing import Any

import pytest

from tests.manifest.test_validation import C0, errors, with_changes

POD_KEY = "seccomp.security.alpha.kubernetes.io/pod"
WEB_KEY = "container.seccomp.security.alpha.kubernetes.io/web"
RUNTIME = {"seccompProfile": {"type": "RuntimeDefault"}}
LOCAL = {"seccompProfile": {"type": "Localhost", "localhostProfile": "a.json"}}
APPARMOR = "container.apparmor.security.beta.kubernetes.io/"
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


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {
                "metadata__annotations": {
                    "container.apparmor.security.beta.kubernetes.io/db": "unconfined"
                }
            },
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/db]: "
            'Invalid value: "db": container not found',
            id="apparmor-annotation-of-no-container",
        ),
        pytest.param(
            {
                "metadata__annotations": {
                    "container.apparmor.security.beta.kubernetes.io/web": "default"
                }
            },
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/web]: "
            'Invalid value: "default": invalid AppArmor profile name: "default"',
            id="apparmor-annotation-unknown-profile",
        ),
        pytest.param(
            {"spec__securityContext": {"appArmorProfile": {"type": "Localhost"}}},
            "spec.securityContext.appArmorProfile.localhostProfile: Required value: "
            "must be set when AppArmor type is Localhost",
            id="apparmor-localhost-without-name",
        ),
        pytest.param(
            {
                "metadata__annotations": {
                    "container.apparmor.security.beta.kubernetes.io/web": "runtime/default"
                },
                "spec__securityContext": {"appArmorProfile": {"type": "Unconfined"}},
            },
            "spec.containers[0].securityContext.appArmorProfile.type: Forbidden: "
            "apparmor type in annotation and field must match",
            id="apparmor-annotation-and-pod-field-differ",
        ),
        pytest.param(
            {"spec__securityContext": {"sysctls": [{"name": "Kernel.SHM", "value": "1"}]}},
            'spec.securityContext.sysctls[0].name: Invalid value: "Kernel.SHM": must have at '
            "most 253 characters and match regex",
            id="sysctl-name",
        ),
        pytest.param(
            {
                "spec__securityContext": {
                    "sysctls": [{"name": "kernel.sem", "value": "1"}, {"name": "kernel.sem"}]
                }
            },
            'spec.securityContext.sysctls[1].name: Duplicate value: "kernel.sem"',
            id="sysctl-twice",
        ),
        pytest.param(
            {C0 + "securityContext": {"procMount": "Unmasked"}},
            'spec.containers[0].securityContext.procMount: Invalid value: "Unmasked": '
            "`hostUsers` must be false to use `Unmasked`",
            id="unmasked-proc-in-the-hosts-user-namespace",
        ),
        pytest.param(
            {C0 + "securityContext": {"procMount": "Raw"}},
            'spec.containers[0].securityContext.procMount: Unsupported value: "Raw": '
            'supported values: "Default", "Unmasked"',
            id="proc-mount-unknown",
        ),
    ],
)
def test_apparmor_sysctls_and_proc_mount_the_api_server_refuses_are_refused(
    changes: dict[str, Any], expected: str
) -> None:
    (error,) = errors(with_changes(**changes))
    assert error.startswith(expected), error
