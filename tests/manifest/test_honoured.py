"""Nothing silent: every field of the model is honoured, warned about, or refused.

``python -m tests.manifest.test_honoured`` rewrites the field table of
``docs/kubelet-parity.md`` from the registry; a test below fails while the two differ.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.honoured import REGISTRY, Honour
from fastpod.manifest.not_honoured import findings, honour_of, model_fields, warnings
from fastpod.manifest.problems import ManifestError
from fastpod.model import Pod, PodSource

ROOT = Path(__file__).resolve().parents[2]
PARITY_DOC = ROOT / "docs" / "kubelet-parity.md"
TABLE_START = "<!-- pod fields: written by `python -m tests.manifest.test_honoured` -->"
TABLE_END = "<!-- end of pod fields -->"
FILE = PodSource("file", "/etc/kubernetes/manifests/web.yaml")
BASE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web"},
    "spec": {"containers": [{"name": "app", "image": "busybox:1.36"}]},
}
MODEL = {field.pattern: field for field in model_fields()}


# the registry against the model


def test_every_field_of_the_model_is_honoured_warned_about_or_refused() -> None:
    """A field added to the model without an entry fails here: it would go silent."""
    unclassified = [pattern for pattern in MODEL if honour_of(pattern) is None]
    assert unclassified == [], "add these fields to fastpod/manifest/honoured.py"


def test_the_registry_names_only_fields_of_the_model() -> None:
    assert [pattern for pattern in REGISTRY if pattern not in MODEL] == []


def test_under_a_field_that_speaks_for_its_children_only_refusals_are_listed() -> None:
    """A child entry under a not honoured, no effect or refused field would never be read,
    except a refusal, which validation applies whatever its parent is."""
    shadowed = [
        pattern
        for pattern, entry in REGISTRY.items()
        if entry.status != "refused" and _covering_ancestor(pattern) is not None
    ]
    assert shadowed == []


def test_every_entry_that_is_not_plainly_honoured_says_why() -> None:
    assert [
        p for p, entry in REGISTRY.items() if entry.status != "honoured" and not entry.note
    ] == []


def _covering_ancestor(pattern: str) -> str | None:
    parts = pattern.split(".")
    for end in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:end])
        for candidate in (parent, parent.removesuffix("[]")):
            entry = REGISTRY.get(candidate)
            if entry is not None and entry.covers_children:
                return candidate
    return None


# manifests setting one field, built from the model


def sample(field_type: msgspec.inspect.Type) -> Any:
    """A value of ``field_type`` as a manifest would hold it."""
    match field_type:
        case msgspec.inspect.StructType():
            return {}
        case msgspec.inspect.ListType(item_type=item):
            return [sample(item)]
        case msgspec.inspect.DictType(value_type=value):
            return {"example.com/key": sample(value)}
        case msgspec.inspect.UnionType(types=members):
            return sample(next(m for m in members if not isinstance(m, msgspec.inspect.NoneType)))
        case msgspec.inspect.BoolType():
            return True
        case msgspec.inspect.IntType():
            return 1
        case msgspec.inspect.StrType():
            return "x"
        case _:
            return {"x": 1}


def field_type(pattern: str) -> msgspec.inspect.Type:
    *parents, last = pattern.split(".")
    owner = MODEL[".".join(parents).removesuffix("[]")].struct if parents else Pod
    assert owner is not None
    info = msgspec.inspect.type_info(owner)
    assert isinstance(info, msgspec.inspect.StructType)
    (found,) = [field.type for field in info.fields if field.encode_name == last]
    return found


def manifest_setting(pattern: str, value: Any = None) -> tuple[dict[str, Any], tuple[Any, ...]]:
    """The base manifest with the field at ``pattern`` set (first items of lists), and the
    field's path in it."""
    document = copy.deepcopy(BASE)
    target: Any = document
    path: list[Any] = []
    *parents, last = pattern.split(".")
    for part in parents:
        name = part.removesuffix("[]")
        path.append(name)
        if part.endswith("[]"):
            items = target.setdefault(name, [{}])
            target = items[0]
            path.append(0)
        else:
            target = target.setdefault(name, {})
    target[last] = sample(field_type(pattern)) if value is None else value
    return document, (*path, last)


def decoded(document: dict[str, Any]) -> Pod:
    return decode_pod(json.dumps(document).encode(), FILE, "node1").pod


def unvalidated(document: dict[str, Any]) -> Pod:
    return msgspec.convert(document, Pod)


REFUSED = [pattern for pattern, entry in REGISTRY.items() if entry.status == "refused"]
ALWAYS_WARNED = [p for p, entry in REGISTRY.items() if entry.warns and entry.when is None]


@pytest.mark.parametrize("pattern", REFUSED)
def test_every_refused_field_is_refused_by_validation_at_its_path(pattern: str) -> None:
    document, path = manifest_setting(pattern)
    with pytest.raises(ManifestError) as refusal:
        decoded(document)
    paths = [problem.path for problem in refusal.value.problems]
    assert any(found[: len(path)] == path or path[: len(found)] == found for found in paths), (
        refusal.value
    )


@pytest.mark.parametrize("pattern", ALWAYS_WARNED)
def test_every_field_warned_about_is_named_with_its_indexes_when_set(pattern: str) -> None:
    document, path = manifest_setting(pattern)
    assert path in [found.path for found in findings(unvalidated(document))]


# warnings: what they say, and when


def test_a_pod_setting_only_what_fastpod_honours_has_no_warnings() -> None:
    document = copy.deepcopy(BASE)
    document["spec"] = {
        "hostNetwork": True,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000},
        "priorityClassName": "system-cluster-critical",
        "containers": [
            {
                "name": "app",
                "image": "busybox:1.36",
                "ports": [{"containerPort": 80, "hostPort": 80}],
                "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "livenessProbe": {"httpGet": {"port": 80, "scheme": "HTTPS"}},
                "lifecycle": {"preStop": {"httpGet": {"port": 80}}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}},
            }
        ],
        "volumes": [{"name": "data", "emptyDir": {}}],
    }
    assert warnings(decoded(document)) == []


def test_a_warning_names_the_field_with_its_indexes_and_why() -> None:
    document = copy.deepcopy(BASE)
    document["spec"]["containers"].append(
        {"name": "second", "image": "busybox:1.36", "resizePolicy": [{}]}
    )
    assert warnings(decoded(document)) == [
        "spec.containers[1].resizePolicy: not honoured by fastpod: containers are never "
        "resized in place: a new manifest is a new pod"
    ]


def test_a_field_that_speaks_for_its_children_is_named_once() -> None:
    document, _ = manifest_setting("spec.resources", {"limits": {"cpu": "1"}})
    assert [found.pattern for found in findings(decoded(document))] == ["spec.resources"]


def test_init_containers_and_sidecars_are_looked_at_too() -> None:
    document = copy.deepcopy(BASE)
    document["spec"]["initContainers"] = [
        {
            "name": "side",
            "image": "busybox:1.36",
            "restartPolicy": "Always",
            "lifecycle": {"preStop": {"tcpSocket": {"port": 80}}},
        }
    ]
    assert [found.path for found in findings(decoded(document))] == [
        ("spec", "initContainers", 0, "lifecycle", "preStop", "tcpSocket")
    ]


@pytest.mark.parametrize(
    ("pattern", "warned", "honoured"),
    [
        ("spec.containers[].volumeMounts[].mountPropagation", "HostToContainer", "None"),
        ("spec.containers[].volumeMounts[].recursiveReadOnly", "Enabled", "Disabled"),
        ("spec.containers[].resources.limits", {"nvidia.com/gpu": 1}, {"cpu": 1}),
        ("spec.containers[].resources.requests", {"ephemeral-storage": "1Gi"}, {"memory": 1}),
        ("spec.containers[].lifecycle.postStart.httpGet.scheme", "HTTPS", "HTTP"),
        ("spec.hostUsers", False, True),
        ("spec.nodeSelector", {"disktype": "ssd"}, {"kubernetes.io/os": "linux"}),
        ("spec.os", {"name": "windows"}, {"name": "linux"}),
        (
            "spec.affinity",
            {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]}
                }
            },
            {"podAntiAffinity": {}},
        ),
        ("metadata.labels", {"kubernetes.io/os": "windows"}, {"kubernetes.io/os": "linux"}),
        ("status", {"phase": "Succeeded"}, {"phase": "Running"}),
    ],
)
def test_some_fields_are_named_only_when_their_value_makes_a_difference(
    pattern: str, warned: Any, honoured: Any
) -> None:
    for value, expected in ((warned, [pattern]), (honoured, [])):
        document, _ = manifest_setting(pattern, value)
        assert [found.pattern for found in findings(unvalidated(document))] == expected, value


def test_a_host_port_is_named_only_without_host_network() -> None:
    document, _ = manifest_setting(
        "spec.containers[].ports", [{"containerPort": 80, "hostPort": 8080}]
    )
    assert [found.pattern for found in findings(unvalidated(document))] == [
        "spec.containers[].ports[].hostPort"
    ]
    document["spec"]["hostNetwork"] = True
    document["spec"]["containers"][0]["ports"][0]["hostPort"] = 80
    assert findings(unvalidated(document)) == []


def test_a_group_is_named_only_when_no_user_goes_with_it() -> None:
    alone, _ = manifest_setting("spec.containers[].securityContext.runAsGroup", 1000)
    assert [found.path[-1] for found in findings(unvalidated(alone))] == ["runAsGroup"]
    alone["spec"]["securityContext"] = {"runAsUser": 1000}
    assert findings(unvalidated(alone)) == []

    pod_wide, _ = manifest_setting("spec.securityContext.runAsGroup", 1000)
    assert [found.pattern for found in findings(unvalidated(pod_wide))] == [
        "spec.securityContext.runAsGroup"
    ]
    pod_wide["spec"]["containers"][0]["securityContext"] = {"runAsUser": 1000}
    assert findings(unvalidated(pod_wide)) == []


def test_empty_lists_and_strings_count_as_unset() -> None:
    document = copy.deepcopy(BASE)
    document["spec"].update(hostAliases=[], runtimeClassName="", imagePullSecrets=[])
    assert findings(unvalidated(document)) == []


def test_a_field_with_no_entry_is_named_rather_than_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fastpod.manifest import not_honoured

    monkeypatch.delitem(REGISTRY, "spec.runtimeClassName")
    monkeypatch.setitem(REGISTRY, "spec.hostname", Honour("honoured"))
    not_honoured._compiled.cache_clear()
    try:
        document = copy.deepcopy(BASE)
        document["spec"].update(runtimeClassName="gvisor", hostname="web")
        assert warnings(unvalidated(document)) == [
            "spec.runtimeClassName: not honoured by fastpod: fastpod does not know whether it "
            "honours this field"
        ]
    finally:
        not_honoured._compiled.cache_clear()


# the parity table


def parity_table() -> str:
    """The Markdown table of every field the registry names, in the model's order."""
    rows = ["| field | fastpod | what is missing, or why |", "|---|---|---|"]
    for pattern in MODEL:
        entry = REGISTRY.get(pattern)
        if entry is not None:
            note = entry.note.replace("|", "\\|")
            rows.append(f"| `{pattern}` | {entry.status} | {note} |")
    return "\n".join(rows)


def _documented(text: str) -> str:
    match = re.search(re.escape(TABLE_START) + r"\n(.*?)\n" + re.escape(TABLE_END), text, re.S)
    assert match is not None, f"{PARITY_DOC} has no pod field table between its markers"
    return match.group(1)


def test_the_parity_doc_lists_every_field_as_the_registry_does() -> None:
    assert _documented(PARITY_DOC.read_text()) == parity_table(), (
        "run python -m tests.manifest.test_honoured to write the table again"
    )


def write_parity_table() -> None:
    text = PARITY_DOC.read_text()
    between = re.compile(re.escape(TABLE_START) + r"\n.*?\n" + re.escape(TABLE_END), re.S)
    table = f"{TABLE_START}\n{parity_table()}\n{TABLE_END}"
    PARITY_DOC.write_text(between.sub(lambda _: table, text))


if __name__ == "__main__":
    write_parity_table()
    sys.exit(0)
