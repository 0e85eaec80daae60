"""Profiles: each shipped preset loads and changes what it says; a bad one is one clear line."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from fastpod.config.profile_file import (
    PROFILE_FIELDS,
    load_profile,
    profile_names,
    profiles_directory,
)
from fastpod.config.settings import Config, ConfigError
from tests.config.test_options import SOURCE
from tests.support import DATA
from tests.support.run_options import config_of
from tests.support.running import fastpod_command

SHIPPED_PROFILES = Path(__file__).parents[2] / "fastpod" / "config" / "profiles"
PROFILES = DATA / "config" / "profiles"
DEFAULTS = Config(node_name="node1")

SAYS = {
    "kubelet": {
        "file_check_frequency": 20.0,
        "http_check_frequency": 20.0,
        "http_timeout": 10.0,
        "missing_path_retry": 1.0,
        "watch_retry_initial": 1.0,
        "watch_retry_max": 20.0,
        "backoff_initial": 10.0,
        "backoff_max": 300.0,
        "backoff_reset": 600.0,
        "resync_period": 60.0,
    },
    "fast": {
        "file_check_frequency": 1.0,
        "http_check_frequency": 1.0,
        "missing_path_retry": 0.5,
        "watch_retry_initial": 0.1,
        "watch_retry_max": 2.0,
        "backoff_initial": 1.0,
        "backoff_max": 10.0,
        "backoff_reset": 60.0,
        "resync_period": 1.0,
        "cri_relist_period": 0.1,
    },
    "dense": {
        "workers": 0,
        "batch_size": 1024,
        "resync_period": 60.0,
        "file_check_frequency": 20.0,
        "http_check_frequency": 20.0,
        "backoff_initial": 10.0,
        "backoff_max": 300.0,
        "backoff_reset": 600.0,
    },
}
"""What each shipped profile sets, as fastpod/config/profiles/README.md's table says."""

CHANGES = {
    "kubelet": {"resync_period": 60.0},
    "fast": {"file_check_frequency": 1.0, "backoff_max": 10.0, "resync_period": 1.0},
    "dense": {"batch_size": 1024, "resync_period": 60.0},
}
"""What each profile changes from the built-in defaults: the point of choosing it."""


def test_the_package_ships_exactly_the_documented_profiles() -> None:
    """``--profile NAME`` finds them in the package's data."""
    assert profiles_directory() == SHIPPED_PROFILES
    assert profile_names(SHIPPED_PROFILES) == sorted(SAYS)


@pytest.mark.parametrize("name", sorted(SAYS))
def test_each_profile_sets_what_it_says(name: str) -> None:
    """Exactly the documented settings, no more."""
    assert load_profile(name) == SAYS[name]


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_choosing_a_profile_changes_the_run_from_the_defaults(name: str) -> None:
    """The run's Config differs from the defaults where the profile says, and names it."""
    config = config_of(*SOURCE, "--profile", name)
    for field, value in CHANGES[name].items():
        assert getattr(DEFAULTS, field) != value
        assert getattr(config, field) == value
    assert config.profile == name


@pytest.mark.parametrize("path", sorted(SHIPPED_PROFILES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_setting_of_a_shipped_profile_is_explained_by_a_comment(path: Path) -> None:
    """Each block of settings starts with comments saying what the values are and why."""
    for block in path.read_text().split("\n\n"):
        if re.search(r"^\w+:", block, re.MULTILINE):
            assert block.startswith("#"), f"{path.name}: no comment before:\n{block}"


@pytest.mark.parametrize("name", sorted(SAYS))
def test_the_profiles_readme_describes_every_profile(name: str) -> None:
    """The table the main README copies names each profile."""
    assert f"`{name}`" in (SHIPPED_PROFILES / "README.md").read_text()


def test_every_profile_key_is_a_config_field() -> None:
    """A profile sets Config fields, by their names."""
    assert set(PROFILE_FIELDS) <= {field.name for field in msgspec.structs.fields(Config)}


def test_a_profile_is_found_by_name_in_the_profiles_environment_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``$FASTPOD_PROFILES`` replaces the shipped profiles."""
    monkeypatch.setenv("FASTPOD_PROFILES", str(PROFILES))
    assert load_profile("check-frequency-7s") == {"file_check_frequency": 7.0}
    with pytest.raises(ConfigError, match="unknown profile 'fast'"):
        load_profile("fast")


def test_a_profile_is_read_from_a_path() -> None:
    """A choice with a slash or a YAML suffix is a file."""
    assert load_profile(str(PROFILES / "check-frequency-7s.yaml")) == {"file_check_frequency": 7.0}


def test_an_unknown_profile_name_lists_the_known_ones() -> None:
    """So the operator sees what to type."""
    with pytest.raises(ConfigError) as error:
        load_profile("quick")
    assert str(error.value).startswith(
        f"unknown profile 'quick': the profiles in {SHIPPED_PROFILES} are dense, fast, kubelet"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown-key.yaml", ":3: resyncPeriod: not a profile setting (known: workers, "),
        ("wrong-type.yaml", ":1: workers: must be a whole number, 0 or more, not 'many'"),
        ("bad-duration.yaml", ":1: backoff_max: not a duration: '5 minutes'"),
        ("zero-period.yaml", ":1: resync_period: '0s' must be more than zero"),
        ("a-list.yaml", ": a profile is a mapping of settings, not a list"),
        ("not-yaml.yaml", ":2: not YAML: "),
    ],
)
def test_a_profile_is_strict_and_its_errors_name_file_line_and_key(
    name: str, expected: str
) -> None:
    """Unlike the kubelet's config file, a profile is fastpod's own: mistakes are errors."""
    with pytest.raises(ConfigError) as error:
        load_profile(str(PROFILES / name))
    assert str(error.value).startswith(f"{PROFILES / name}{expected}")
    assert "\n" not in str(error.value)


def test_fastpod_run_with_a_bad_profile_exits_2_without_a_traceback() -> None:
    """What an operator sees: one line on stderr, exit status 2."""
    completed = fastpod_command("run", *SOURCE, "--profile", str(PROFILES / "unknown-key.yaml"))
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith(f"fastpod: {PROFILES / 'unknown-key.yaml'}:3: resyncPeriod")


def test_a_profile_can_turn_taking_over_foreign_pods_off(tmp_path: Path) -> None:
    path = tmp_path / "careful.yaml"
    path.write_text("adopt_foreign_pods: false\n")

    assert load_profile(str(path)) == {"adopt_foreign_pods": False}
