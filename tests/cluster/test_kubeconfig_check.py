"""A kubeconfig fastpod cannot use is refused at start, naming the file and the problem."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from fastpod.cluster.kubeconfig import check_kubeconfig, missing_kubeconfig_warning


def kubeconfig(tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    path = tmp_path / "kubelet.conf"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )
    return path


def test_kubeadms_kubelet_conf_passes(tmp_path: Path) -> None:
    """The CA embedded, the client certificate and key in one file beside it."""
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "kubelet-client-current.pem").write_text("PEM")
    path = kubeconfig(
        tmp_path,
        {
            "server": "https://10.0.0.1:6443",
            "certificate-authority-data": base64.b64encode(b"CA").decode(),
        },
        {
            "client-certificate": "pki/kubelet-client-current.pem",
            "client-key": "pki/kubelet-client-current.pem",
        },
    )

    check_kubeconfig(str(path))

    assert missing_kubeconfig_warning(str(path)) is None


@pytest.mark.parametrize(
    ("cluster", "user", "problem"),
    [
        (
            {"server": "10.0.0.1:6443"},
            {},
            "cluster 'c': server: expected an http:// or https:// URL",
        ),
        (
            {"server": "https://10.0.0.1:6443", "certificate-authority": "ca.crt"},
            {},
            "cluster certificate-authority: ca.crt does not exist",
        ),
        ({"server": "https://a"}, {"tokenFile": "/nonexistent/token"}, "user tokenFile"),
        (
            {"server": "https://a"},
            {"client-key-data": "not base64!"},
            "user client-key-data: not base64",
        ),
        (
            {"server": "https://a"},
            {"auth-provider": {"name": "oidc"}},
            "auth-provider is not supported",
        ),
    ],
)
def test_a_kubeconfig_that_cannot_work_is_refused_with_its_problem(
    tmp_path: Path, cluster: dict[str, Any], user: dict[str, Any], problem: str
) -> None:
    path = kubeconfig(tmp_path, cluster, user)

    with pytest.raises(ValueError, match="kubeconfig") as error:
        check_kubeconfig(str(path))

    assert str(error.value).startswith(f"kubeconfig {path}: ")
    assert problem in str(error.value)


def test_a_kubeconfig_not_written_yet_is_only_a_warning(tmp_path: Path) -> None:
    path = str(tmp_path / "kubelet.conf")

    check_kubeconfig(path)

    assert "does not exist (yet)" in str(missing_kubeconfig_warning(path))
