"""Benchmark: what NaN debugging costs on the jitted MLP SGD step (tests/benchmarks/mlp.py).

Four variants of the same step, timed in alternation (``best_times_interleaved``) on one
BLAS thread, each call on fresh (donated) parameters:

* ``off``: ``config.debug_nans = False`` (the default). With it off the checks are not
  installed at all: ``Jitted.__call__`` and the eager evaluator are the very functions a
  build without NaN debugging would have (asserted below), so "off" can only differ from
  "no debug_nans code path" by noise. Its ratio is printed against a second, identical
  "off" entry to show that noise.
* ``on``: ``config.debug_nans = True``: each jitted call also checks its outputs on the
  host (the program itself is unchanged).
* ``checkify nan``, ``checkify nan|div|index``: ``jit(checkify(step, errors=...))``, the
  error computed inside the compiled program, against ``checkify none`` (the same
  checkified step with no automatic checks).

Run: ``python -m tests.benchmarks.debug_nans`` (``--quick`` for fewer rounds).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # one BLAS thread, before NumPy loads its pool

import argparse

import funcgrad
import funcgrad.numpy as fnp
from funcgrad import checkify
from funcgrad._src import debug_nans as debug_nans_module
from funcgrad._src.core import EvalTrace
from funcgrad._src.jit import Jitted
from tests.benchmarks.mlp import loss_fn, mlp_setup, sgd_step
from tests.benchmarks.timing import best_times_interleaved


def _assert_off_is_the_plain_path() -> None:
    funcgrad.config.debug_nans = False
    funcgrad.config.debug_infs = False
    assert EvalTrace.process_primitive is debug_nans_module._original_eval
    original_call = debug_nans_module._original_jit_call
    assert original_call is None or Jitted.__call__ is original_call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 5 if args.quick else 20
    ws, bs, x, onehot = mlp_setup()
    fx, fy = fnp.asarray(x), fnp.asarray(onehot)

    def params():
        return [{"w": fnp.asarray(w), "b": fnp.asarray(b)} for w, b in zip(ws, bs)]

    def step_with(flag: bool):
        def run():
            funcgrad.config.debug_nans = flag
            try:
                out = sgd_step(params(), fx, fy)
            finally:
                funcgrad.config.debug_nans = False
            return out

        return run

    def unchecked_step(p, xb, yb):
        loss, grads = funcgrad.value_and_grad(loss_fn)(p, xb, yb)
        return [
            {k: v - 0.01 * grads[i][k] for k, v in layer.items()} for i, layer in enumerate(p)
        ], loss

    # the baseline of the checkify variants: the same checkified program with no automatic
    # checks (user_checks, and the step has no check call)
    checked = {
        name: funcgrad.jit(checkify.checkify(unchecked_step, errors=errors), donate_argnums=0)
        for name, errors in (
            ("checkify none", checkify.user_checks),
            ("checkify nan", checkify.nan_checks),
            (
                "checkify nan|div|index",
                checkify.nan_checks | checkify.div_checks | checkify.index_checks,
            ),
        )
    }
    variants = {
        "off": step_with(False),
        "off (again)": step_with(False),
        "on": step_with(True),
        **{name: (lambda f=f: f(params(), fx, fy)) for name, f in checked.items()},
    }
    _assert_off_is_the_plain_path()
    for name, f in checked.items():  # nothing fails on this data: the checks only cost time
        err, _ = f(params(), fx, fy)
        assert err.get() is None, (name, err.get())
    times = dict(
        zip(variants, best_times_interleaved(list(variants.values()), number=5, repeat=rounds))
    )
    _assert_off_is_the_plain_path()
    print(
        f"jitted MLP SGD step (784-512-512-10, batch 128, float32, 1 BLAS thread), best of {rounds} rounds:"
    )
    for name, t in times.items():
        against = "checkify none" if name.startswith("checkify") else "off"
        base = times[against]
        print(f"  {name:24s} {t * 1e3:7.3f} ms   {t / base:5.3f}x {against}")


if __name__ == "__main__":
    main()
