"""The quick "certainly valid" never says so of a pod that validation refuses.

A decode skips :func:`validate_pod` and the unknown-field walk when the plain values fit the
valid shape (:mod:`fastpod.manifest.valid_shape`) and :func:`certainly_valid` holds. Here
both paths run side by side on every Pod of the corpus, on a pod using every field the shape
checks, and on thousands of mutations of them (values swapped for edge cases, items
repeated, fields removed or added), most of them invalid: whenever the quick path answers
"valid", the precise one must find no problem and no unknown field. Each string rule of the
shape is also compared with the check it stands for, on generated strings.
"""

from __future__ import annotations

import copy
import random
import typing
from collections.abc import Collection, Iterator
from typing import Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastpod.manifest import valid_shape
from fastpod.manifest.container_validation import ENV_FIELD_PATHS
from fastpod.manifest.defaults import apply_api_defaults, apply_static_pod_defaults
from fastpod.manifest.documents import Document, load_document
from fastpod.manifest.fast_validation import certainly_valid, is_plain_quantity
from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.manifest.unknown_fields import unknown_fields
from fastpod.manifest.valid_shape import PodShape, has_valid_shape
from fastpod.manifest.validation import (
    DNS_POLICIES,
    HOST_PATH_TYPES,
    RESTART_POLICIES,
    validate_pod,
)
from fastpod.model import Pod, PodSource
from tests.support.corpus import corpus_files

SOURCE = PodSource("file", "/etc/kubernetes/manifests/pod.yaml")
NODE = "node1"

RICH_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "rich",
        "namespace": "kube-system",
        "labels": {"app.kubernetes.io/name": "rich", "tier": ""},
        "annotations": {"example.com/note": "x"},
    },
    "spec": {
        "hostNetwork": True,
        "priorityClassName": "system-node-critical",
        "hostname": "rich",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "restartPolicy": "OnFailure",
        "dnsPolicy": "Default",
        "terminationGracePeriodSeconds": 0,
        "activeDeadlineSeconds": 1,
        "securityContext": {
            "runAsUser": 0,
            "fsGroup": 2147483647,
            "supplementalGroups": [1, 2],
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": [
            {"name": "setup", "image": "busybox", "command": ["true"],
             "volumeMounts": [{"name": "scratch", "mountPath": "/s"}]},
        ],
        "containers": [
            {
                "name": "main",
                "image": "registry.k8s.io/pause:3.9",
                "imagePullPolicy": "Never",
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "ports": [
                    {"name": "http", "containerPort": 8080, "hostPort": 8080, "protocol": "UDP"},
                    {"containerPort": 9090},
                ],
                "env": [
                    {"name": "A", "value": "1"},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                ],
                "resources": {
                    "limits": {"cpu": "1", "memory": "128Mi"},
                    "requests": {"cpu": "500m", "ephemeral-storage": 10},
                },
                "volumeMounts": [
                    {"name": "certs", "mountPath": "/etc/certs", "readOnly": True,
                     "mountPropagation": "HostToContainer"},
                    {"name": "scratch", "mountPath": "/scratch"},
                ],
                "livenessProbe": {
                    "httpGet": {"port": "http", "path": "/healthz", "scheme": "HTTPS",
                                "httpHeaders": [{"name": "X-Probe", "value": "1"}]},
                    "periodSeconds": 0, "successThreshold": 1, "failureThreshold": 3,
                    "terminationGracePeriodSeconds": 5,
                },
                "readinessProbe": {"tcpSocket": {"port": 8080}, "successThreshold": 3},
                "startupProbe": {"grpc": {"port": 9090}},
                "lifecycle": {
                    "postStart": {"exec": {"command": ["true"]}},
                    "preStop": {"sleep": {"seconds": 1}},
                },
                "securityContext": {
                    "privileged": True, "runAsUser": 1000, "runAsGroup": 1000,
                    "seccompProfile": {"type": "Unconfined"},
                },
            }
        ],
        "volumes": [
            {"name": "certs", "hostPath": {"path": "/etc/certs", "type": "Directory"}},
            {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
            {"name": "plain"},
        ],
    },
}  # fmt: skip
"""A valid pod that uses every field the valid shape checks."""

EDGE_VALUES: list[Any] = [
    "", " ", "a", "A", "-a", "a-", "a--b", "a.b", "a/b", "/a", "..", "a/../b", "../a", "a\n",
    " a", "a ", "x" * 63, "x" * 64, "x" * 254, "é", "a=b", "Always", "Never", "None",
    "Localhost", "Bidirectional", "HugePages-2Mi", "Memory", "TCP", "HTTP", "v2", "1.5",
    "-1", "1e3", "100m", "0.0005", "1Ei", "status.podIP", "metadata.labels['a']",
    "seccomp.security.alpha.kubernetes.io/pod", 0, -1, 1, 3, 8080, 65535, 65536, 2**31,
    2**63 - 1, 1.5, True, False, None, [], {}, ["x"], {"a": "b"},
]  # fmt: skip
"""Values swapped in by the mutations: on both sides of each rule's edges."""

ADDED_FIELDS: list[tuple[str, Any]] = [
    ("hostPort", 1234), ("value", "x"), ("allowPrivilegeEscalation", False),
    ("privileged", True), ("limits", {"cpu": "1m"}), ("requests", {"cpu": "2"}),
    ("exec", {"command": ["x"]}), ("tcpSocket", {"port": 1}), ("sleep", {"seconds": 1}),
    ("hostPath", {"path": "/x"}), ("emptyDir", {}), ("secret", {"secretName": "s"}),
    ("restartPolicy", "Always"), ("tolerations", [{"operator": "Exists"}]),
    ("fastpodNoSuchField", 1), ("subPath", "a"), ("valueFrom", {"fieldRef": {}}),
    ("annotations", {"container.apparmor.security.beta.kubernetes.io/main": "unconfined"}),
    ("name", "main"), ("name", "certs"), ("mountPath", "/scratch"),
]  # fmt: skip
"""Fields added by the mutations, chosen to break rules that span fields."""


def precise_and_quick(raw: Any) -> tuple[list[str], bool] | None:
    """What the precise path reports (problems and unknown fields) and whether the quick
    path says "valid"; None when the values are no Pod with a name (the decode stops
    before either). Asserts that values of the valid shape have no unknown field: the
    decode skips the walk that names them on the shape alone."""
    try:
        pod = msgspec.convert(raw, Pod)
    except msgspec.ValidationError:
        return None
    if not pod.metadata.name:
        return None
    shaped = has_valid_shape(raw)
    unknown = unknown_fields(raw, Pod)
    assert not (shaped and unknown), f"the valid shape took unknown fields {unknown}: {raw!r}"
    found = [f"unknown {path}" for path in unknown]
    apply_api_defaults(pod)
    apply_static_pod_defaults(pod, SOURCE, NODE)
    found += [f"{problem.path}: {problem.message}" for problem in validate_pod(pod)]
    return found, shaped and certainly_valid(pod)


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) of a document, outermost first."""
    if isinstance(value, dict):
        for key in value:
            yield value, key
            yield from _places(value[key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _places(item)


def mutations(document: Any, rng: random.Random, count: int) -> Iterator[Any]:
    """``count`` copies of ``document``, each with one to three random changes."""
    for _ in range(count):
        mutated = copy.deepcopy(document)
        for _ in range(rng.randint(1, 3)):
            places = list(_places(mutated))
            if not places:
                break
            container, key = rng.choice(places)
            change = rng.randrange(4)
            if change == 0:
                container[key] = copy.deepcopy(rng.choice(EDGE_VALUES))
            elif change == 1 and isinstance(container, list):
                container.append(copy.deepcopy(container[key]))  # a repeated name or path
            elif change == 2:
                del container[key]
            else:
                target = container[key] if isinstance(container[key], dict) else container
                if isinstance(target, dict):
                    name, value = rng.choice(ADDED_FIELDS)
                    target[name] = copy.deepcopy(value)
        yield mutated


def _corpus_pods() -> list[Any]:
    pods = []
    for path in corpus_files():
        document = load_document(path.read_bytes())
        if isinstance(document, Document) and isinstance(document.value, dict):
            pods.append(document.value)
    return pods


def _check(raw: Any) -> bool:
    """Asserts the quick path's "valid" is right; whether it said so."""
    answers = precise_and_quick(raw)
    if answers is None:
        return False
    found, quick = answers
    assert not (quick and found), f"quick path said valid, precise found {found}: {raw!r}"
    return quick


def test_the_rich_pod_is_valid_on_both_paths() -> None:
    assert precise_and_quick(copy.deepcopy(RICH_POD)) == ([], True)


def test_quick_path_agrees_on_the_corpus_and_takes_most_valid_pods() -> None:
    pods = _corpus_pods()
    if not pods:
        pytest.skip("no corpus")
    quick = sum(_check(pod) for pod in pods)
    valid = sum(1 for pod in pods if (answers := precise_and_quick(pod)) and not answers[0])
    assert quick >= valid * 3 // 4  # the common manifests take it


@pytest.mark.parametrize("seed", range(3))
def test_quick_path_never_passes_a_mutated_pod_the_precise_path_refuses(seed: int) -> None:
    rng = random.Random(seed)
    originals = [RICH_POD, *_corpus_pods()]
    quick = invalid = 0
    for original in originals:
        for mutated in mutations(original, rng, 1500 // len(originals) + 1):
            answers = precise_and_quick(mutated)
            quick += _check(mutated)
            invalid += answers is not None and bool(answers[0])
    assert quick  # both paths were exercised
    assert invalid


def _non_negative_quantity(value: Any) -> bool:
    try:
        return parse_quantity(value) >= 0
    except QuantityError:
        return False


@settings(max_examples=600, deadline=None, database=None)
@given(
    value=st.one_of(
        st.from_regex(r"\A[-+]?[0-9]{1,14}(\.[0-9]{0,4})?([mkMGTPEun]|[KMGTPE]i|e[0-9])?\Z"),
        st.integers(-(2**64), 2**64),
    )
)
def test_the_shape_of_a_quantity_is_one_parse_quantity_takes(value: Any) -> None:
    try:
        msgspec.convert(value, valid_shape.Quantity)
    except msgspec.ValidationError:
        return
    if is_plain_quantity(value):
        assert _non_negative_quantity(value)


def _shape_names(
    shape: type[msgspec.Struct], model: type[msgspec.Struct]
) -> Iterator[tuple[str, str]]:
    """(shape, JSON name) for each field of the shape, and of the shapes nested in it, that
    the model's Struct at the same place does not know, or where the model has a Struct
    (whose unknown fields are looked for) and the shape none."""
    model_fields = {field.encode_name: field for field in _fields(model)}
    for field in _fields(shape):
        if field.encode_name not in model_fields:
            yield shape.__name__, field.encode_name
            continue
        nested_shape = _struct_in(field.type)
        nested_model = _struct_in(model_fields[field.encode_name].type)
        if nested_shape is None and nested_model is not None:
            yield shape.__name__, f"{field.encode_name} (a {nested_model.__name__})"
        elif nested_shape is not None:
            assert nested_model is not None, (shape, field.encode_name)
            yield from _shape_names(nested_shape, nested_model)


def _fields(struct: type[msgspec.Struct]) -> tuple[msgspec.inspect.Field, ...]:
    info = msgspec.inspect.type_info(struct)
    assert isinstance(info, msgspec.inspect.StructType)
    return info.fields


def _struct_in(field_type: msgspec.inspect.Type) -> type[msgspec.Struct] | None:
    if isinstance(field_type, msgspec.inspect.StructType):
        return field_type.cls
    if isinstance(field_type, msgspec.inspect.ListType | msgspec.inspect.DictType):
        item = (
            field_type.item_type
            if isinstance(field_type, msgspec.inspect.ListType)
            else field_type.value_type
        )
        return _struct_in(item)
    if isinstance(field_type, msgspec.inspect.UnionType):
        return next(filter(None, map(_struct_in, field_type.types)), None)
    return None


def test_the_shape_knows_only_fields_the_model_knows() -> None:
    assert list(_shape_names(PodShape, Pod)) == []


def _literal_values(shape: type[msgspec.Struct], field: str) -> set[object]:
    """The values a Literal field of a shape accepts (None, for an optional one, left out)."""
    annotation = typing.get_type_hints(shape)[field]
    literals = (
        [annotation]
        if typing.get_origin(annotation) is Literal
        else [arm for arm in typing.get_args(annotation) if typing.get_origin(arm) is Literal]
    )
    return {value for arm in literals for value in typing.get_args(arm)}


@pytest.mark.parametrize(
    ("shape", "field", "allowed"),
    [
        (valid_shape.FieldRefShape, "field_path", ENV_FIELD_PATHS),
        (valid_shape.HostPathShape, "type", HOST_PATH_TYPES),
        (valid_shape.SpecShape, "restart_policy", RESTART_POLICIES),
        (valid_shape.SpecShape, "dns_policy", DNS_POLICIES),
    ],
)
def test_a_shape_accepts_no_value_the_precise_rules_refuse(
    shape: type[msgspec.Struct], field: str, allowed: Collection[str]
) -> None:
    values = _literal_values(shape, field)
    assert values  # the field is a Literal, so the check below says something
    assert values <= set(allowed)
