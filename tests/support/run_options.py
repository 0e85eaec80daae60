"""The settings a ``fastpod run`` command line gives, without running anything."""

from __future__ import annotations

import argparse

from fastpod.config import options
from fastpod.config.settings import Config


def config_of(*argv: str) -> Config:
    """The Config ``fastpod run ARGV...`` would run with (the node name given)."""
    parser = argparse.ArgumentParser()
    options.add_run_command(parser.add_subparsers(dest="command"))
    arguments, unrecognized = parser.parse_known_args(
        ["run", "--hostname-override", "node1", *argv]
    )
    return options.run_config(arguments, unrecognized)
