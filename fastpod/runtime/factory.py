"""The runtime adapter a configuration names, imported only when chosen."""

from __future__ import annotations

from fastpod.config.settings import Config
from fastpod.runtime.base import Runtime
from fastpod.runtime.logrotation import RotationPolicy, docker_log_options


def create_runtime(config: Config) -> Runtime:
    """The runtime the configuration names."""
    if config.runtime == "docker":
        from fastpod.runtime.docker.runtime import DockerRuntime

        # Docker rotates its json-file logs itself, with the kubelet's limits
        policy = RotationPolicy(config.container_log_max_size, config.container_log_max_files)
        options = docker_log_options(policy)
        return DockerRuntime(config.pod_infra_container_image, config.docker_socket, options)
    if config.runtime == "cri":
        from fastpod.runtime.cri.runtime import CriRuntime

        return CriRuntime(
            config.container_runtime_endpoint, config.pod_logs_dir, config.cri_relist_period
        )
    from fastpod.runtime.fake import FakeRuntime

    return FakeRuntime(config.fake_latencies, record_specs=False)
