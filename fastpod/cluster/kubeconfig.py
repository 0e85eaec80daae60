"""The kubeconfig fastpod reaches the API server with, checked at start as the kubelet would
fail on it: one line naming the file and what is wrong, never a traceback later.

kubeadm writes a kubelet's ``/etc/kubernetes/kubelet.conf`` with the server's CA embedded
(``certificate-authority-data``) and the client certificate as a file
(``/var/lib/kubelet/pki/kubelet-client-current.pem`` for both ``client-certificate`` and
``client-key``); other setups embed the certificate (``client-certificate-data``) or use a
bearer token (``token``, ``tokenFile``). Relative paths are relative to the kubeconfig's
directory, as client-go resolves them. A file that does not exist yet is not an error: a
kubelet joining with ``--bootstrap-kubeconfig`` waits for it, and fastpod looks for it again
until it appears (it does no TLS bootstrap itself).
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from fastpod.manifest.documents import SyntaxProblem, load_document

_FILES = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}
_DATA = {
    "cluster": ("certificate-authority-data",),
    "user": ("client-certificate-data", "client-key-data"),
}


def missing_kubeconfig_warning(path: str) -> str | None:
    """The startup warning for a kubeconfig that does not exist (yet); None if it does."""
    if os.path.exists(path):
        return None
    return (
        f"--kubeconfig {path} does not exist (yet): the pods run, and the Node is registered "
        "once it appears"
    )


def check_kubeconfig(path: str) -> None:
    """Raise ValueError (one line naming the file) unless the kubeconfig at ``path`` names a
    server, and every file it refers to exists. A missing ``path`` itself is no error."""
    if not os.path.exists(path):
        return
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ValueError(f"cannot read kubeconfig {path}: {error.strerror}") from None
    document = load_document(data)
    if isinstance(document, SyntaxProblem):
        raise ValueError(f"kubeconfig {path}: not YAML or JSON: {document.message}")
    config = document.value
    if not isinstance(config, dict):
        raise ValueError(f"kubeconfig {path}: expected a Config mapping")
    context_name = config.get("current-context")
    if not context_name:
        raise ValueError(f"kubeconfig {path}: current-context: missing")
    context = _named(config, "contexts", "context", context_name, path)
    cluster = _named(config, "clusters", "cluster", context.get("cluster"), path)
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ValueError(
            f"kubeconfig {path}: cluster {context.get('cluster')!r}: server: expected an "
            f"http:// or https:// URL, found {server!r}"
        )
    sections = {"cluster": cluster}
    if context.get("user"):
        user = _named(config, "users", "user", context["user"], path)
        if "auth-provider" in user:
            raise ValueError(
                f"kubeconfig {path}: user {context['user']!r}: auth-provider is not supported "
                "(use a client certificate, a token or an exec plugin)"
            )
        sections["user"] = user
    directory = os.path.dirname(os.path.abspath(path))
    for section, fields in _FILES.items():
        for field in fields:
            referred = sections.get(section, {}).get(field)
            if referred and not os.path.exists(os.path.join(directory, referred)):
                raise ValueError(f"kubeconfig {path}: {section} {field}: {referred} does not exist")
    for section, fields in _DATA.items():
        for field in fields:
            embedded = sections.get(section, {}).get(field)
            if embedded is not None and not _base64(embedded):
                raise ValueError(f"kubeconfig {path}: {section} {field}: not base64")


def _named(
    config: dict[str, Any], section: str, inner: str, name: Any, path: str
) -> dict[str, Any]:
    """The entry ``name`` of a kubeconfig list (``clusters``, ``contexts``, ``users``)."""
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            value = entry.get(inner)
            if isinstance(value, dict):
                return value
            break
    raise ValueError(f"kubeconfig {path}: {section}: no {inner} named {name!r}")


def _base64(text: Any) -> bool:
    if not isinstance(text, str):
        return False
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True
