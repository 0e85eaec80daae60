"""Fixtures every test module may use."""

pytest_plugins = ["tests.http_server", "tests.docker_engine", "tests.containerd_engine"]
