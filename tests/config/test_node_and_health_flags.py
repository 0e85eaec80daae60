"""The kubelet's health server and node address settings: flags, config file, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastpod.config import values
from fastpod.config.settings import HEALTHZ_PORT
from tests.support import DATA
from tests.support.run_options import config_of

SOURCE = ("--pod-manifest-path", "/srv/manifests")


@pytest.mark.parametrize("argv", [(), ("--config", str(DATA / "config" / "kubeadm.yaml"))])
def test_the_health_server_is_on_at_127_0_0_1_10248_with_or_without_a_config_file(
    argv: tuple[str, ...],
) -> None:
    """Unlike the read-only port, its default does not depend on ``--config``."""
    config = config_of(*SOURCE, *argv)
    assert (config.healthz_bind_address, config.healthz_port) == ("127.0.0.1", HEALTHZ_PORT)


def test_the_health_flags_set_port_and_address_and_0_turns_it_off() -> None:
    """``--healthz-port 0``: no health server, as the kubelet's."""
    config = config_of(*SOURCE, "--healthz-port", "0", "--healthz-bind-address=0.0.0.0")
    assert (config.healthz_bind_address, config.healthz_port) == ("0.0.0.0", 0)


def test_an_explicit_0_in_the_config_file_turns_the_health_server_off(tmp_path: Path) -> None:
    """``healthzPort`` is a pointer in v1beta1: only an absent field means 10248."""
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "staticPodPath: /srv/manifests\nhealthzPort: 0\n"
    )
    assert config_of("--config", str(config_file)).healthz_port == 0


@pytest.mark.parametrize(
    ("given", "node_ip"),
    [
        ("10.0.0.5", "10.0.0.5"),
        ("10.0.0.5,fd00::5", "10.0.0.5"),
        ("fd00::5", "fd00::5"),
        ("0.0.0.0", None),
        ("::", None),
    ],
)
def test_node_ip_gives_the_nodes_address_and_an_unspecified_one_means_the_default(
    given: str, node_ip: str | None
) -> None:
    """kubeadm's ``--node-ip``: the first address is the node's (``status.hostIP``)."""
    assert config_of(*SOURCE, "--node-ip", given).node_ip == node_ip


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("node1", "not an IP address"),
        ("10.0.0.5,10.0.0.6", "one IPv4 and one IPv6"),
        ("10.0.0.5,fd00::5,fd00::6", "at most two"),
    ],
)
def test_a_node_ip_the_kubelet_would_refuse_is_refused(given: str, why: str) -> None:
    """Not an address, two of one family, more than two."""
    with pytest.raises(ValueError, match=why):
        values.node_ip(given)
