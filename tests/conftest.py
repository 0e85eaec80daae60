"""Fixtures every test module may use."""

pytest_plugins = [
    "tests.support.http_server",
    "tests.support.docker_engine",
    "tests.support.containerd_engine",
]
