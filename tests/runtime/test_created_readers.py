"""What Docker's inspect and a CRI runtime's verbose status say of a container, read as
what it was created with; what a runtime that says nothing gives."""

from __future__ import annotations

import json

from cri_api.v1 import api_pb2 as cri

from fastpod.runtime.cri import created
from fastpod.runtime.docker import created as docker_created


def test_docker_keeps_no_new_privileges_in_its_security_options() -> None:
    def inspected(*options: str) -> bytes:
        return json.dumps(
            {"Image": "sha256:1", "HostConfig": {"SecurityOpt": list(options)}}
        ).encode()

    assert docker_created.created_container(inspected("no-new-privileges")).no_new_privileges
    assert docker_created.created_container(inspected("no-new-privileges:true")).no_new_privileges
    assert not docker_created.created_container(
        inspected("no-new-privileges=false")
    ).no_new_privileges
    assert not docker_created.created_container(inspected("seccomp=unconfined")).no_new_privileges


def test_dockers_own_volumes_are_not_the_pods_mounts() -> None:
    inspected = {
        "Image": "sha256:1",
        "HostConfig": {"PidMode": "container:abc"},
        "Mounts": [
            {"Type": "bind", "Source": "/srv", "Destination": "/data", "RW": False},
            {"Type": "volume", "Source": "/var/lib/docker/volumes/x", "Destination": "/cache"},
        ],
    }

    container = docker_created.created_container(json.dumps(inspected).encode())

    assert [(m.host_path, m.container_path, m.read_only) for m in container.mounts] == [
        ("/srv", "/data", True)
    ]
    assert container.pid == "pod"


def test_a_cri_runtime_that_keeps_no_config_gives_nothing_to_compare() -> None:
    status = cri.ContainerStatus(id="c", image_ref="sha256:1")

    assert created.created_container(status, {}) is None
    assert created.created_container(status, {"info": "not json"}) is None
    assert created.created_container(status, {"info": '{"pid": 4}'}) is None


def test_containerds_kept_config_names_user_group_and_capabilities() -> None:
    config = {
        "command": ["sleep"],
        "envs": [{"key": "A", "value": "1"}],
        "linux": {
            "security_context": {
                "run_as_user": {"value": 1000},
                "run_as_group": {"value": 3000},
                "capabilities": {"add_capabilities": ["NET_ADMIN"]},
                "namespace_options": {"network": 2, "pid": 2},
                "readonly_rootfs": True,
            }
        },
    }
    status = cri.ContainerStatus(id="c", image_ref="sha256:1")

    container = created.created_container(status, {"info": json.dumps({"config": config})})

    assert container is not None
    assert (container.user, container.pid, container.read_only_root) == ("1000:3000", "node", True)
    assert (container.command, container.args, container.env) == (["sleep"], None, {"A": "1"})
    assert container.capabilities_add == ("NET_ADMIN",)


def test_a_sandbox_status_without_namespaces_says_none() -> None:
    assert created.sandbox_namespaces(cri.PodSandboxStatus(id="s")) is None
