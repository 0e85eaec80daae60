"""A kubeadm node's files for the kubelet, laid out under a test's directory, and fastpod run
exactly as kubeadm's unit (with fastpod's drop-in) would run it, behind private mount and
network namespaces where those files sit at their real paths.

Nothing on the machine changes: the namespaces are fastpod's alone (``unshare``), so its
``/etc/kubernetes``, ``/var/lib`` and ``/etc/default`` are the test's, and its 127.0.0.1:10248
is its own loopback. ``/run/containerd`` can be fastpod's private containerd there, so that
kubeadm's runtime endpoint reaches it unchanged.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import DATA
from tests.support.pods import pod_manifest
from tests.support.running import RunningFastpod
from tests.support.systemd_unit import exec_start, under

REPOSITORY = Path(__file__).parents[2]
KUBEADM = DATA / "kubeadm"
DROP_IN = REPOSITORY / "contrib" / "kubelet.service.d" / "20-fastpod.conf"
UNIT = REPOSITORY / "contrib" / "fastpod-kubelet.service"
KUBELET_SERVICE = """[Unit]
Description=kubelet: The Kubernetes Node Agent
Documentation=https://kubernetes.io/docs/
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/bin/kubelet
Restart=always
StartLimitInterval=0
RestartSec=10

[Install]
WantedBy=multi-user.target
"""
"""The kubelet package's own ``kubelet.service``, which kubeadm's drop-in extends."""


@dataclass(frozen=True)
class KubeadmNode:
    """The files, under ``root``: what kubeadm writes, and an operator's /etc/default/kubelet."""

    root: Path

    @classmethod
    def lay_out(
        cls,
        root: Path,
        extra_args: str,
        fastpod_args: str = "",
        manifests: dict[str, bytes] | None = None,
        drop_in: str = "",
    ) -> KubeadmNode:
        """kubeadm's files, ``KUBELET_EXTRA_ARGS=extra_args`` in /etc/default/kubelet and
        ``FASTPOD_EXTRA_ARGS=fastpod_args`` in /etc/default/fastpod (the operator's), a
        ``--config-dir`` drop-in directory /etc/kubernetes/kubelet.conf.d (its resolvConf
        /etc/resolv.conf, then ``drop_in``'s fields) and ``manifests`` by file name in
        /etc/kubernetes/manifests (by default a pod ``web``)."""
        units = root / "etc/systemd/system/kubelet.service.d"
        units.mkdir(parents=True)
        shutil.copy(KUBEADM / "10-kubeadm.conf", units / "10-kubeadm.conf")
        shutil.copy(DROP_IN, units / "20-fastpod.conf")
        kubelet = root / "var/lib/kubelet"
        kubelet.mkdir(parents=True)
        shutil.copy(DATA / "config" / "kubeadm.yaml", kubelet / "config.yaml")
        shutil.copy(KUBEADM / "kubeadm-flags.env", kubelet / "kubeadm-flags.env")
        default = root / "etc/default"
        default.mkdir(parents=True)
        (default / "kubelet").write_text(f"KUBELET_EXTRA_ARGS={extra_args}\n")
        (default / "fastpod").write_text(f'FASTPOD_EXTRA_ARGS="{fastpod_args}"\n')
        # the operator's drop-in: this machine has no systemd-resolved for kubeadm's resolvConf
        drop_ins = root / "etc/kubernetes/kubelet.conf.d"
        drop_ins.mkdir(parents=True)
        (drop_ins / "50-resolv.conf").write_text(
            "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
            f"resolvConf: /etc/resolv.conf\n{drop_in}"
        )
        directory = root / "etc/kubernetes/manifests"
        directory.mkdir(parents=True)
        if manifests is None:
            manifests = {"web.yaml": pod_manifest("web", namespace="kube-system")}
        for name, body in manifests.items():
            (directory / name).write_bytes(body)
        return cls(root)

    def drop_in_command(self) -> list[str]:
        """What kubelet.service with kubeadm's drop-in and fastpod's runs."""
        units = self.root / "etc/systemd/system/kubelet.service.d"
        texts = [KUBELET_SERVICE, *(p.read_text() for p in sorted(units.glob("*.conf")))]
        return exec_start(texts, under(self.root))

    def unit_command(self) -> list[str]:
        """What contrib's fastpod-kubelet.service runs."""
        return exec_start([UNIT.read_text()], under(self.root))

    def start(self, command: list[str], *, containerd: str | None = None) -> RunningFastpod:
        """``command`` (its ``/usr/local/bin/fastpod`` this checkout's) in namespaces where
        the node's files are at their paths; ``containerd``: a socket directory to stand at
        /run/containerd."""
        assert command[0] == "/usr/local/bin/fastpod"
        argv = [sys.executable, "-m", "fastpod", *command[1:]]
        setup = [
            "set -e",
            "ip link set lo up",
            f"mount --bind {shlex.quote(str(self.root / 'etc/kubernetes'))} /etc/kubernetes",
            f"mount --bind {shlex.quote(str(self.root / 'etc/default'))} /etc/default",
            "mount -t tmpfs tmpfs /var/lib",
            "mkdir /var/lib/kubelet",
            f"mount --bind {shlex.quote(str(self.root / 'var/lib/kubelet'))} /var/lib/kubelet",
        ]
        if containerd is not None:
            setup.append(f"mount --bind {shlex.quote(containerd)} /run/containerd")
        script = "; ".join(setup) + '; exec "$@"'
        return RunningFastpod(
            [],
            command=[
                "unshare",
                "--mount",
                "--net",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                *argv,
            ],
            environment={"PYTHONPATH": str(REPOSITORY)},
        )


def get_inside(fastpod: RunningFastpod, url: str) -> tuple[int, str]:
    """``GET url`` from inside fastpod's network namespace: the status and the body."""
    program = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n"
        f"    reply = urllib.request.urlopen({url!r}, timeout=10)\n"
        "    print(reply.status); sys.stdout.write(reply.read().decode())\n"
        "except urllib.error.HTTPError as error:\n"
        "    print(error.code); sys.stdout.write(error.read().decode())\n"
    )
    completed = subprocess.run(
        ["nsenter", "--target", str(fastpod.process.pid), "--net", sys.executable, "-c", program],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    status, _, body = completed.stdout.partition("\n")
    return int(status), body
