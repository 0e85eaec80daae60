"""``fastpod validate``: one line per file, defaulted output, exit codes, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fastpod.cli import main
from tests.support import DATA

VALIDATE = DATA / "validate"


def run(*arguments: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["validate", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_directory_is_read_sorted_without_dotfiles(capsys: pytest.CaptureFixture[str]) -> None:
    """Each valid file gets one OK line; each error its own line with file and line number."""
    code, out, _ = run("--node-name", "node1", str(VALIDATE), capsys=capsys)
    lines = out.splitlines()
    assert code == 1
    assert lines[-1] == f"{VALIDATE}/web.yaml: OK (default/web-node1)"
    assert all(line.startswith(f"{VALIDATE}/broken.yaml:") for line in lines[:-1])
    assert f"{VALIDATE}/broken.yaml:11: error: spec.containers[0].image: Required value" in lines
    assert ".hidden" not in out


def test_all_valid_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 0 only when every manifest is valid."""
    code, out, _ = run("--node-name", "node1", str(VALIDATE / "web.yaml"), capsys=capsys)
    assert (code, out) == (0, f"{VALIDATE}/web.yaml: OK (default/web-node1)\n")


def test_yaml_output_prints_the_defaulted_pod(capsys: pytest.CaptureFixture[str]) -> None:
    """As ``kubectl create --dry-run -o yaml``: the report goes to stderr, the pod to stdout."""
    code, out, err = run(
        "--node-name", "node1", "-o", "yaml", str(VALIDATE / "web.yaml"), capsys=capsys
    )
    pod = yaml.safe_load(out)
    assert code == 0
    assert "OK" in err
    assert pod["metadata"]["name"] == "web-node1"
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert "kubernetes.io/config.seen" in pod["metadata"]["annotations"]


def test_json_output_of_several_files_is_a_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Several pods print as a v1 List, like kubectl."""
    (tmp_path / "a.yaml").write_bytes((VALIDATE / "web.yaml").read_bytes())
    (tmp_path / "b.yaml").write_bytes((VALIDATE / "web.yaml").read_bytes().replace(b"web", b"db"))
    code, out, _ = run("--node-name", "node1", "-o", "json", str(tmp_path), capsys=capsys)
    document = json.loads(out)
    assert code == 0
    assert document["kind"] == "List"
    assert [item["metadata"]["name"] for item in document["items"]] == ["web-node1", "db-node1"]


def test_a_missing_path_is_an_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Not a traceback, and exit 1."""
    code, out, _ = run(str(tmp_path / "missing"), capsys=capsys)
    assert code == 1
    assert out == f"{tmp_path}/missing: error: No such file or directory\n"


def test_an_unreadable_file_is_an_error_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file that cannot be read is reported for itself; root reads it and finds no Pod."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("x")
    manifest.chmod(0)
    expected = "not a Pod" if os.access(manifest, os.R_OK) else "error: Permission denied"
    code, out, _ = run(str(manifest), capsys=capsys)
    assert code == 1
    assert expected in out


def test_usage_errors_exit_two() -> None:
    """argparse's convention, from the real console entry point."""
    result = subprocess.run(
        [sys.executable, "-m", "fastpod", "validate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_garbage_bytes_never_give_a_traceback(tmp_path: Path) -> None:
    """Whatever the bytes, the answer is an error line."""
    manifest = tmp_path / "garbage"
    manifest.write_bytes(bytes(range(256)) * 8)
    result = subprocess.run(
        [sys.executable, "-m", "fastpod", "validate", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(f"{manifest}")


def test_each_field_fastpod_does_not_honour_is_a_warning_at_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Nothing silent: the manifest is valid, and every field it sets in vain is named."""
    manifest = tmp_path / "web.yaml"
    manifest.write_text(
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        "  name: web\n"
        "spec:\n"
        "  runtimeClassName: gvisor\n"
        "  containers:\n"
        "  - name: web\n"
        "    image: busybox:1.36\n"
        "    resizePolicy:\n"
        "    - {resourceName: cpu, restartPolicy: NotRequired}\n"
        "    unknownField: 1\n"
    )
    code, out, _ = run("--node-name", "node1", str(manifest), capsys=capsys)
    assert code == 0
    assert out.splitlines() == [
        f"{manifest}:6: warning: spec.runtimeClassName: not honoured by fastpod: the runtime's "
        "default handler runs the pod",
        f"{manifest}:10: warning: spec.containers[0].resizePolicy: not honoured by fastpod: "
        "containers are never resized in place: a new manifest is a new pod",
        f"{manifest}:12: warning: spec.containers[0].unknownField: unknown field, ignored",
        f"{manifest}: OK (default/web-node1)",
    ]


def test_a_volume_fastpod_cannot_mount_is_an_error_at_its_line_and_an_unused_one_a_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The pod could never start with the first; the second is never set up (the kubelet
    skips a volume no container mounts), so it runs without it."""
    mounted = tmp_path / "mounted.yaml"
    unused = tmp_path / "unused.yaml"
    body = (
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: web}\n"
        "spec:\n"
        "  containers:\n"
        "  - name: web\n"
        "    image: busybox:1.36\n"
        "{mounts}"
        "  volumes:\n"
        "  - name: data\n"
        "    nfs: {server: nfs.example.com, path: /exports}\n"
    )
    mounted.write_text(
        body.replace("{mounts}", "    volumeMounts: [{name: data, mountPath: /d}]\n")
    )
    unused.write_text(body.replace("{mounts}", ""))

    code, out, _ = run("--node-name", "node1", str(mounted), str(unused), capsys=capsys)

    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(
        f"{mounted}:11: error: spec.volumes[0].nfs: Forbidden: fastpod cannot mount nfs volumes"
    )
    assert lines[1].startswith(f"{unused}:10: warning: spec.volumes[0].nfs: not honoured")
    assert lines[2] == f"{unused}: OK (default/web-node1)"
