"""A pytest plugin for testing code built on funcgrad: fixtures and hypothesis profiles.

Enable it in the root ``conftest.py`` with
``pytest_plugins = ["funcgrad.test_util.pytest_plugin"]`` (or ``-p
funcgrad.test_util.pytest_plugin`` on the command line). Installed with funcgrad, it is
also registered through the ``pytest11`` entry point under this module's name, so the two
ways never register it twice. Loaded, it changes nothing by itself: it only adds

- ``funcgrad_seed``: an integer seed, stable per test (``--funcgrad-seed`` shifts all of
  them), printed in the test's report when the test fails;
- ``funcgrad_key``: ``funcgrad.random.key(funcgrad_seed)``;
- ``funcgrad_backend``: the test runs once per registered backend (``"numpy"``,
  ``"cupy"``) with that backend as the default; a backend this machine cannot run is
  skipped with the reason (no CuPy, no GPU), never faked;
- hypothesis profiles ``"funcgrad-ci"`` (derandomized, 20 examples, no deadline, no
  example database: reproducible and bounded for CI) and ``"funcgrad-deep"`` (1000
  random examples for a local hunt), registered but not loaded: select one with
  hypothesis' own option, ``pytest --hypothesis-profile=funcgrad-ci``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest

import backends
from backends.base import BackendUnavailableError

_CI_EXAMPLES = 20
_DEEP_EXAMPLES = 1000


def _register_profiles() -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:  # hypothesis is optional: the fixtures work without it
        return
    settings.register_profile(
        "funcgrad-ci",
        derandomize=True,
        max_examples=_CI_EXAMPLES,
        deadline=None,
        database=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    settings.register_profile(
        "funcgrad-deep",
        max_examples=_DEEP_EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


# At import, before hypothesis' own plugin reads --hypothesis-profile in pytest_configure.
_register_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("funcgrad")
    group.addoption(
        "--funcgrad-seed",
        type=int,
        default=0,
        help="funcgrad: shift every test's funcgrad_seed/funcgrad_key by this (default 0)",
    )


@pytest.fixture
def funcgrad_seed(request: pytest.FixtureRequest) -> int:
    """A seed that is the same for a test on every run and differs between tests."""
    base = request.config.getoption("--funcgrad-seed", default=0) or 0
    seed = (zlib.crc32(request.node.nodeid.encode()) + base) % 2**32
    request.node.user_properties.append(("funcgrad_seed", seed))
    return seed


@pytest.fixture
def funcgrad_key(funcgrad_seed: int) -> Any:
    """``funcgrad.random.key(funcgrad_seed)``."""
    from funcgrad import random

    return random.key(funcgrad_seed)


@pytest.fixture(params=backends.backend_names())
def funcgrad_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each registered backend's name in turn, set as the default backend for the test;
    skipped (with the reason) where the backend cannot run."""
    from funcgrad import default_backend

    name = request.param
    try:
        backends.get_backend(name)
    except BackendUnavailableError as e:
        pytest.skip(f"funcgrad backend {name!r} is not available on this machine: {e}")
    with default_backend(name):
        yield name


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> None:
    """Put the seed of a failing test into its report, so the failure can be replayed."""
    if call.when == "call" and call.excinfo is not None:
        for key, value in getattr(item, "user_properties", []):
            if key == "funcgrad_seed":
                item.add_report_section("call", "funcgrad", f"funcgrad_seed = {value}")
