"""funcgrad.io under SIGKILL: a save killed at any moment leaves the previous checkpoint.

Child processes save new versions of a checkpoint in a loop and are killed at random
moments; after each kill the file must load and be exactly one complete version, never
older than the one before the kill. Most kills land mid-write (the loop is mostly
writing and fsyncing), which the stray temporary files they leave prove.

The many kills use forked children (no interpreter start-up, so tens of kills fit in a
few seconds); two more use fresh interpreters started with subprocess.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import funcgrad.numpy as fnp
from funcgrad import io
from funcgrad.io import CheckpointManager

N_VALUES = 1_000_000  # 8 MB per version: a write takes long enough to be hit mid-way


def version_tree(v: int) -> dict:
    return {
        "version": v,
        "big": np.full(N_VALUES, v, np.int64),
        "small": {"w": fnp.full((3, 4), float(v)), "z": np.full(2, v * 1j, np.complex64)},
    }


def check_version(tree: dict) -> int:
    """The version of a loaded tree, after checking that every leaf belongs to it."""
    v = tree["version"]
    assert np.array_equal(tree["big"], np.full(N_VALUES, v, np.int64))
    assert np.asarray(tree["small"]["w"]).tolist() == [[float(v)] * 4] * 3
    assert np.array_equal(tree["small"]["z"], np.full(2, v * 1j, np.complex64))
    return v


def _save_forever(path: str, first: int, ready) -> None:
    v = first
    while True:
        io.save(path, version_tree(v))
        if v == first:
            ready.set()
        v += 1


def _manage_forever(directory: str, first: int, ready) -> None:
    manager = CheckpointManager(directory, max_to_keep=2, best_metric="loss")
    v = first
    while True:
        manager.save(v, version_tree(v), metrics={"loss": float(v % 3)})
        if v == first:
            ready.set()
        v += 1


def _fork_context():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform cannot fork; the subprocess kill test still runs")
    return multiprocessing.get_context("fork")


def _kill_at_random(ctx, target, args: tuple, rng: random.Random, max_delay: float) -> None:
    ready = ctx.Event()
    child = ctx.Process(target=target, args=(*args, ready), daemon=True)
    child.start()
    assert ready.wait(10), "the child never finished its first save"
    time.sleep(rng.uniform(0, max_delay))
    child.kill()
    child.join()
    assert child.exitcode == -9


def test_save_killed_at_random_moments_leaves_a_complete_checkpoint(tmp_path):
    ctx = _fork_context()
    rng = random.Random(0)
    path = str(tmp_path / "state.safetensors")
    io.save(path, version_tree(0))
    latest, first = 0, 1
    for _ in range(25):
        _kill_at_random(ctx, _save_forever, (path, first), rng, max_delay=0.06)
        v = check_version(io.load(path))
        assert v >= max(latest, first)  # never an older version, and the child's first save
        latest, first = v, v + 1000  # landed
    strays = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert len(strays) >= 3, "too few kills landed in the middle of a write"
    assert sorted(set(os.listdir(tmp_path)) - set(strays)) == ["state.safetensors"]


def test_manager_killed_at_random_moments_resumes_from_a_complete_checkpoint(tmp_path):
    ctx = _fork_context()
    rng = random.Random(1)
    directory = str(tmp_path / "run")
    first = 0
    for _ in range(10):
        _kill_at_random(ctx, _manage_forever, (directory, first), rng, max_delay=0.08)
        manager = CheckpointManager(directory, max_to_keep=2, best_metric="loss")
        assert not [n for n in os.listdir(directory) if n.endswith(".tmp")]  # cleaned up
        step = manager.latest_step()
        assert step >= first and check_version(manager.restore()) == step
        for s in manager.all_steps():
            assert check_version(manager.restore(s)) == s
        first = step + 1


_CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from funcgrad import io
    path = sys.argv[1]
    v = int(sys.argv[2])
    while True:
        small = {"w": np.full((3, 4), float(v)), "z": np.full(2, v * 1j, np.complex64)}
        io.save(path, {"version": v, "big": np.full(N_VALUES, v, np.int64), "small": small})
        if v == int(sys.argv[2]):
            print("ready", flush=True)
        v += 1
    """
).replace("N_VALUES", str(N_VALUES))


def test_save_in_a_fresh_interpreter_killed_mid_write(tmp_path):
    rng = random.Random(2)
    path = str(tmp_path / "state.safetensors")
    io.save(path, version_tree(0))
    for first in (1, 1000):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, path, str(first)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0, 0.05))
        finally:
            child.kill()
            child.wait()
        tree = io.load(path)
        tree["small"]["w"] = fnp.asarray(tree["small"]["w"])
        assert check_version(tree) >= first
