"""The checks of the settings for a node in a cluster: its labels and taints, and how hard
fastpod may press the API server. Each raises ValueError with the reason; the caller adds
the flag, or the file, line and field.

The rules are the kubelet's: ``--node-labels`` as its ``mapStringString`` reads them and
``ValidateKubeletFlags`` restricts them, ``--register-with-taints`` as ``ParseTaints``
reads them, ``kubeAPIQPS``/``kubeAPIBurst`` as its config validation takes them.
"""

from __future__ import annotations

import re

Taint = tuple[str, str, str]
"""(key, value, effect) of a taint the Node registers with."""

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

KUBELET_LABELS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
    }
)
"""``kubeletapis.kubeletLabels``: the ``kubernetes.io`` labels a kubelet may set itself."""

KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
"""``kubeletapis.kubeletLabelNamespaces``: label prefixes (and their subdomains) a kubelet
may set under ``kubernetes.io``."""

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def node_labels(text: str) -> tuple[tuple[str, str], ...]:
    """``--node-labels key=value,key2=value2``: each a valid label, and none in the
    ``kubernetes.io``/``k8s.io`` namespaces unless the kubelet may set it."""
    labels: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = pair.partition("=")
        if not equals:
            raise ValueError(f"{pair!r}: expected KEY=VALUE")
        label_key(key)
        label_value(value)
        labels[key] = value
    refused = sorted(key for key in labels if _kubernetes_label(key) and not _kubelet_label(key))
    if refused:
        raise ValueError(
            f"unknown 'kubernetes.io' or 'k8s.io' labels: {', '.join(refused)} (labels in "
            f"those namespaces must begin with {' or '.join(KUBELET_LABEL_NAMESPACES)}, or be "
            "one of the kubelet's own)"
        )
    return tuple(labels.items())


def label_key(key: str) -> str:
    """A label key: an optional DNS subdomain prefix and ``/``, then a name of at most 63
    characters (``IsQualifiedName``)."""
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        raise ValueError(f"{key!r}: the prefix must be a DNS subdomain")
    if not name or len(name) > 63 or not _NAME.match(name):
        raise ValueError(
            f"{key!r}: a label name is at most 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit"
        )
    return key


def label_value(value: str) -> str:
    """A label value: empty, or at most 63 characters as a label name."""
    if value and (len(value) > 63 or not _NAME.match(value)):
        raise ValueError(
            f"{value!r}: a label value is at most 63 letters, digits, '-', '_' or '.', "
            "beginning and ending with a letter or digit"
        )
    return value


def taints_flag(text: str) -> tuple[Taint, ...]:
    """``--register-with-taints key=value:Effect,key:Effect``."""
    return tuple(_taint_spec(part.strip()) for part in text.split(",") if part.strip())


def taints_field(value: object) -> tuple[Taint, ...]:
    """``registerWithTaints``: a list of ``{key, value, effect}``."""
    if not isinstance(value, list):
        raise ValueError(f"must be a list of taints, not {value!r}")
    taints = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise ValueError(f"{item!r}: a taint is a mapping with a key, a value and an effect")
        unknown = set(item) - {"key", "value", "effect", "timeAdded"}
        if unknown:
            raise ValueError(f"{item!r}: unknown fields {', '.join(sorted(unknown))}")
        taints.append(taint(item["key"], str(item.get("value") or ""), str(item.get("effect"))))
    return tuple(taints)


def taint(key: str, value: str, effect: str) -> Taint:
    """One taint, checked as ``validateTaints`` checks it."""
    label_key(key)
    label_value(value)
    if effect not in TAINT_EFFECTS:
        raise ValueError(f"{key}: effect {effect!r} is not one of {', '.join(TAINT_EFFECTS)}")
    return key, value, effect


def api_rate(value: object) -> int:
    """``kubeAPIQPS``/``kubeAPIBurst``: a whole number, not negative."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} must be a whole number, not negative")
    return value


def max_pods(value: object) -> int:
    """``maxPods``: a whole number, not negative."""
    return api_rate(value)


def lease_duration(value: object) -> int:
    """``nodeLeaseDurationSeconds``: whole seconds, more than 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{value!r} must be a whole number of seconds, more than 0")
    return value


def _taint_spec(spec: str) -> Taint:
    # ParseTaints: key=value:effect, or key:effect
    key_value, colon, effect = spec.rpartition(":")
    if not colon:
        raise ValueError(f"{spec!r}: expected KEY[=VALUE]:EFFECT")
    key, _, value = key_value.partition("=")
    return taint(key, value, effect)


def _kubernetes_label(key: str) -> bool:
    namespace = key.partition("/")[0] if "/" in key else ""
    return namespace in ("kubernetes.io", "k8s.io") or namespace.endswith(
        (".kubernetes.io", ".k8s.io")
    )


def _kubelet_label(key: str) -> bool:
    if key in KUBELET_LABELS:
        return True
    namespace = key.partition("/")[0]
    return any(
        namespace == allowed or namespace.endswith("." + allowed)
        for allowed in KUBELET_LABEL_NAMESPACES
    )
