"""Where fastpod's processes find each other: one socket per process under the run directory."""

from __future__ import annotations

import os


def worker_socket(run_dir: str, index: int) -> str:
    """The socket worker ``index`` listens on."""
    return os.path.join(run_dir, f"worker-{index}.sock")


def watcher_socket(run_dir: str) -> str:
    """The socket the watcher listens on, for the supervisor's resync requests."""
    return os.path.join(run_dir, "watcher.sock")


def supervisor_socket(run_dir: str) -> str:
    """The socket the supervisor listens on, for the answers to its status queries."""
    return os.path.join(run_dir, "supervisor.sock")


def cluster_socket(run_dir: str) -> str:
    """The socket the cluster process listens on (with a kubeconfig), for the supervisor's
    questions and the workers' reports of their pods."""
    return os.path.join(run_dir, "cluster.sock")
