"""Generated kubeadm-like static pod manifests (about 1.3 KB each) for the macro benchmarks."""

from __future__ import annotations

import os

TEMPLATE = """\
apiVersion: v1
kind: Pod
metadata:
  creationTimestamp: null
  labels:
    component: {name}
    tier: control-plane
  name: {name}
  namespace: kube-system
spec:
  containers:
  - command:
    - kube-scheduler
    - --authentication-kubeconfig=/etc/kubernetes/scheduler.conf
    - --authorization-kubeconfig=/etc/kubernetes/scheduler.conf
    - --bind-address=127.0.0.1
    - --kubeconfig=/etc/kubernetes/scheduler.conf
    - --leader-elect=true
    - --v={generation}
    image: registry.k8s.io/kube-scheduler:v1.29.{index_mod}
    imagePullPolicy: IfNotPresent
{liveness}    name: kube-scheduler
    resources:
      requests:
        cpu: 100m
{startup}    volumeMounts:
    - mountPath: /etc/kubernetes/scheduler.conf
      name: kubeconfig
      readOnly: true
  hostNetwork: true
  priority: 2000001000
  priorityClassName: system-node-critical
  securityContext:
    seccompProfile:
      type: RuntimeDefault
  volumes:
  - hostPath:
      path: /etc/kubernetes/scheduler.conf
      type: FileOrCreate
    name: kubeconfig
status: {{}}
"""

LIVENESS_PROBE = """\
    livenessProbe:
      failureThreshold: 8
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: 10259
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
"""

STARTUP_PROBE = """\
    startupProbe:
      failureThreshold: 24
      httpGet:
        host: 127.0.0.1
        path: /healthz
        port: 10259
        scheme: HTTPS
      initialDelaySeconds: 10
      periodSeconds: 10
      timeoutSeconds: 15
"""


def manifest(index: int, generation: int = 2, *, probes: bool = True) -> bytes:
    """Manifest number ``index``; a different ``generation`` is an edit of the same pod.
    Without ``probes``, the pod has neither its liveness nor its startup probe."""
    name = f"scheduler-{index:05d}"
    return TEMPLATE.format(
        name=name,
        index_mod=index % 10,
        generation=generation,
        liveness=LIVENESS_PROBE if probes else "",
        startup=STARTUP_PROBE if probes else "",
    ).encode()


def pod_key(index: int, node: str) -> str:
    """The pod key fastpod gives manifest number ``index`` on ``node``."""
    return f"kube-system/scheduler-{index:05d}-{node}"


def write_manifests(directory: str, count: int, *, probes: bool = True) -> list[str]:
    """Write ``count`` manifests into ``directory``; their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = []
    for index in range(count):
        path = os.path.join(directory, f"scheduler-{index:05d}.yaml")
        with open(path, "wb") as file:
            file.write(manifest(index, probes=probes))
        paths.append(path)
    return paths
