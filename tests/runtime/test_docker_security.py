"""A container's security as the Docker Engine's ``SecurityOpt``, as dockershim gave it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.docker.configs import security_options
from fastpod.runtime.security import RUNTIME_DEFAULT, UNCONFINED, Profile, SELinux
from fastpod.runtime.spec import Security


def test_docker_is_told_unconfined_and_left_to_its_default_for_runtime_default() -> None:
    assert security_options(Security(seccomp=UNCONFINED)) == ["seccomp=unconfined"]
    assert security_options(Security(seccomp=RUNTIME_DEFAULT)) == []
    assert security_options(Security(seccomp=RUNTIME_DEFAULT, no_new_privileges=True)) == [
        "no-new-privileges"
    ]


def test_a_node_profile_is_sent_inline_compacted(tmp_path: Path) -> None:
    """The Engine API takes the profile's JSON itself, not its path."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(profile, indent=4))
    (option,) = security_options(Security(seccomp=Profile("Localhost", str(path))))
    assert option == 'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}'


@pytest.mark.parametrize(
    ("content", "words"),
    [(None, "No such file or directory"), ("{not json", "not JSON")],
)
def test_a_node_profile_that_cannot_be_read_fails_the_create_naming_it(
    tmp_path: Path, content: str | None, words: str
) -> None:
    path = tmp_path / "audit.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(RuntimeCallError) as error:
        security_options(Security(seccomp=Profile("Localhost", str(path))))
    assert str(error.value).startswith(f"cannot load seccomp profile '{path}': ")
    assert words in str(error.value)


def test_apparmor_selinux_and_an_unmasked_proc_become_dockershims_options() -> None:
    security = Security(
        seccomp=RUNTIME_DEFAULT,
        apparmor=Profile("Localhost", "k8s-deny-write"),
        selinux=SELinux(user="system_u", level="s0:c1,c2"),
        unmasked_proc=True,
    )
    assert security_options(security) == [
        "apparmor=k8s-deny-write",
        "label=user:system_u",
        "label=level:s0:c1,c2",
        "systempaths=unconfined",
    ]
    assert security_options(Security(seccomp=RUNTIME_DEFAULT, apparmor=UNCONFINED)) == [
        "apparmor=unconfined"
    ]
    assert security_options(Security(seccomp=RUNTIME_DEFAULT, apparmor=RUNTIME_DEFAULT)) == []
