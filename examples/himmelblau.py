"""Find the four minima of Himmelblau's function with Adam from four starting points.

    f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

has four minima, all with f = 0: (3, 2), (-2.805118, 3.131312), (-3.779310, -3.283186)
and (3.584428, -1.848126). The four runs are one program: the optimizer state is a
pytree like the parameters, so ``funcgrad.vmap`` runs Adam on all four starting points
at once, and ``funcgrad.jit`` compiles the batched step.

    python examples/himmelblau.py [--steps 2000] [--lr 0.05]
"""

from __future__ import annotations

import argparse

import numpy as np

import funcgrad
import funcgrad.numpy as fnp
import transforms

MINIMA = np.array(
    [[3.0, 2.0], [-2.805118, 3.131312], [-3.779310, -3.283186], [3.584428, -1.848126]]
)
STARTS = np.array([[4.0, 4.0], [-4.0, 4.0], [-4.0, -4.0], [4.0, -4.0]])


def himmelblau(p):
    x, y = p[0], p[1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def main(argv=None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args(argv)

    optimizer = transforms.adam(args.lr)

    def step(p, state):
        value, grad = funcgrad.value_and_grad(himmelblau)(p)
        updates, state = optimizer.update(grad, state, p)
        return transforms.apply_updates(p, updates), state, value

    batched_step = funcgrad.jit(funcgrad.vmap(step))
    points = fnp.asarray(STARTS)
    states = funcgrad.vmap(optimizer.init)(points)
    for i in range(args.steps):
        points, states, values = batched_step(points, states)
        if i % 500 == 0:
            print(f"step {i:5d}  f = {np.array2string(np.asarray(values), precision=4)}")
    found = np.asarray(points)
    for start, end in zip(STARTS, found):
        nearest = MINIMA[np.argmin(np.linalg.norm(MINIMA - end, axis=1))]
        print(f"from {start} -> ({end[0]: .6f}, {end[1]: .6f}), f = {float(himmelblau(end)):.2e}, "
              f"known minimum {nearest}")  # fmt: skip
    return found


if __name__ == "__main__":
    main()
