"""jit's static_argnums / static_argnames / donate_argnums: what is accepted, and the
errors (naming jit, the function and the argument) for everything else, as in JAX."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import counting

import funcgrad
import funcgrad.numpy as fnp


def f(x, y):
    return x * y


@pytest.mark.parametrize(
    "options, error, pattern",
    [
        ({"static_argnums": "a"}, TypeError, r"jit of f: static_argnums must be an int .* got str 'a'; to name parameters use static_argnames"),
        ({"static_argnums": 1.0}, TypeError, r"jit of f: static_argnums must be an int .* got float"),
        ({"static_argnums": True}, TypeError, r"jit of f: static_argnums must be an int .* got bool"),
        ({"static_argnums": [0, None]}, TypeError, r"jit of f: static_argnums must be an int .* got NoneType"),
        ({"static_argnums": 2}, ValueError, r"jit of f: static_argnums=\(2,\) refers to positional argument 2, but f takes 2 positional arguments \(x, y\)"),
        ({"static_argnums": -3}, ValueError, r"jit of f: static_argnums=\(-3,\) refers to positional argument -3"),
        ({"donate_argnums": 7}, ValueError, r"jit of f: donate_argnums=\(7,\) refers to positional argument 7"),
        ({"donate_argnums": "x"}, TypeError, r"jit of f: donate_argnums must be an int .* got str 'x'"),
        ({"static_argnames": "z"}, ValueError, r"jit of f: static_argnames names 'z', which is not a parameter of f \(parameters that can be passed by name: x, y\)"),
        ({"static_argnames": ("x", "w", "z")}, ValueError, r"names 'w', 'z', which are not"),
        ({"static_argnames": 0}, TypeError, r"jit of f: static_argnames must be a str .* got int 0; to give positions use static_argnums"),
        ({"static_argnums": 0, "donate_argnums": 0}, ValueError, r"jit of f: argument 'x' is both static and donated"),
        ({"static_argnames": "y", "donate_argnums": 1}, ValueError, r"argument 'y' is both static and donated"),
    ],
)  # fmt: skip
def test_bad_argument_options_raise_naming_jit_and_the_option(options, error, pattern):
    with pytest.raises(error, match=pattern):
        funcgrad.jit(f, **options)
    # the decorator form checks them too
    with pytest.raises(error, match=pattern):
        funcgrad.jit(**options)(f)


@given(
    st.sampled_from([int, np.int8, np.int32, np.int64, np.intp]),
    st.integers(-2, 1),
)
def test_integer_like_positions_are_accepted(int_type, position):
    """NumPy integers count as ints (as in JAX); negative ones count from the end."""
    g = counting(lambda x, n: x * n)
    jg = funcgrad.jit(g, static_argnums=int_type(position))
    x = fnp.asarray([1.0, 2.0])
    static = position % 2 == 1  # -1 and 1 are n; -2 and 0 are x
    if static:
        assert jg(x, 3).tolist() == [3.0, 6.0]
        assert jg(x, 4).tolist() == [4.0, 8.0]
        assert g.count == 2  # a new static value traces again
    else:
        with pytest.raises(TypeError, match="unhashable"):
            jg(x, 3)  # x (an Array) static: not hashable


def test_positions_in_star_args_and_names_in_kwargs():
    """Positions beyond the named parameters are fine with ``*args``, names with
    ``**kwargs``; negative positions with ``*args`` are ambiguous."""

    def varargs(x, *rest, **options):
        return x * rest[0] * options.get("k", 1)

    j = funcgrad.jit(varargs, static_argnums=2, static_argnames="k")
    assert j(fnp.asarray(2.0), fnp.asarray(3.0), "ignored", k=2).tolist() == 12.0
    with pytest.raises(ValueError, match=r"negative position -1, which is ambiguous .* \*rest"):
        funcgrad.jit(varargs, static_argnums=-1)


def test_keyword_only_parameters_can_be_static():
    def g(x, *, mode):
        return x * 2 if mode == "double" else x

    j = funcgrad.jit(g, static_argnames="mode")
    assert j(fnp.ones(2), mode="double").tolist() == [2.0, 2.0]


def test_functions_without_a_signature_are_not_checked():
    """Some callables hide their parameters (builtins): nothing can be checked, as in JAX."""
    with pytest.raises(ValueError):
        inspect.signature(max)
    j = funcgrad.jit(max, static_argnums=5)  # no error up front
    assert j._static_nums == {5}


def test_static_and_donated_arguments_still_work():
    g = counting(lambda w, lr, n: w - lr * n)
    j = funcgrad.jit(g, static_argnums=np.int64(2), donate_argnums=np.int32(0))
    w = fnp.asarray([1.0, 2.0])
    assert j(w, 0.5, 2).tolist() == [0.0, 1.0]
    with pytest.raises(RuntimeError, match="donated"):
        w.tolist()
