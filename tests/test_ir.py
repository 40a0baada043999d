"""The program representation: printing, the type checker, partial evaluation, and each
optimisation pass on hand-built programs (checked with the type checker and by running
the program before and after)."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp
from backends import get_backend
from funcgrad._src.core import ShapedArray
from funcgrad._src.debugging import debug_print_p
from funcgrad._src.interpreters import optimize
from funcgrad._src.interpreters.codegen import generate
from funcgrad._src.interpreters.jit import jit_p
from funcgrad._src.ir import (
    ClosedJaxpr,
    Equation,
    Jaxpr,
    JaxprTypeError,
    Literal,
    Var,
    eval_closed,
    partial_eval_jaxpr,
    typecheck,
)
from funcgrad._src.lax import elementwise as ew
from funcgrad._src.lax import reductions, structural
from funcgrad._src.tree_util import tree_structure

F32 = np.dtype(np.float32)


def av(*shape, dtype=F32):
    return ShapedArray(shape, dtype)


def eqn(prim, inputs, out_avals, **params):
    return Equation(prim, list(inputs), params, [Var(a) for a in out_avals])


def lit(value, dtype=None):
    if dtype is not None:
        value = np.dtype(dtype).type(value)
    return Literal(value, funcgrad._src.core.get_aval(value))


def run(closed: ClosedJaxpr, *args):
    return [np.asarray(o) for o in eval_closed(closed, [fnp.asarray(a) for a in args])]


def same_results(before: ClosedJaxpr, after: ClosedJaxpr, *args):
    typecheck(after)
    for a, b in zip(run(before, *args), run(after, *args)):
        np.testing.assert_array_equal(a, b)


# --- printing and type checking -----------------------------------------------------------


def test_pretty_print_shows_types_literals_and_sub_programs():
    inner = funcgrad.jit(lambda x: fnp.sin(x) * 2.0)
    closed = funcgrad.make_jaxpr(lambda x: inner(x) + 1.0)(fnp.ones(3, dtype=fnp.float32))
    text = str(closed)
    assert text.splitlines()[0] == "{ lambda ; a:float32[3]. let"
    assert "jit[jaxpr={ lambda ; a:float32[3]. let" in text
    assert "c:float32[3] = mul b 2.0" in text  # the inner program names its own variables
    assert text.rstrip().endswith("in (c,) }")


def test_typecheck_accepts_traced_programs_and_rejects_broken_ones():
    x = Var(av(3))
    good = eqn(ew.sin_p, [x], [av(3)])
    typecheck(Jaxpr([], [x], [good], good.outputs))
    wrong_type = eqn(ew.sin_p, [x], [av(4)])
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(sin\): outputs typed \['float32\[4\]'\]"):
        typecheck(Jaxpr([], [x], [wrong_type], wrong_type.outputs))
    y = Var(av(3))
    undefined = eqn(ew.add_p, [x, y], [av(3)])
    with pytest.raises(JaxprTypeError, match="uses an undefined variable"):
        typecheck(Jaxpr([], [x], [undefined], undefined.outputs))
    rebind = Equation(ew.sin_p, [x], {}, [x])
    with pytest.raises(JaxprTypeError, match="rebinds"):
        typecheck(Jaxpr([], [x], [rebind], [x]))
    bad_operands = eqn(ew.add_p, [x, Var(av(2))], [av(3)])
    with pytest.raises(JaxprTypeError, match="uses an undefined variable|invalid operands"):
        typecheck(Jaxpr([], [x], [bad_operands], bad_operands.outputs))
    mismatched = eqn(ew.add_p, [x, lit(1.0, np.float64)], [av(3)])
    with pytest.raises(JaxprTypeError, match="outputs typed"):
        typecheck(Jaxpr([], [x], [mismatched], mismatched.outputs))
    c = Var(av(2))
    with pytest.raises(JaxprTypeError, match=r"constant 0 has type float64\[2\]"):
        typecheck(ClosedJaxpr(Jaxpr([c], [], [], [c]), [fnp.ones(2)]))


def test_typecheck_recurses_into_sub_programs():
    x = Var(av(3))
    broken_inner = eqn(ew.sin_p, [x], [av(5)])
    inner = ClosedJaxpr(Jaxpr([], [x], [broken_inner], broken_inner.outputs), [])
    y = Var(av(3))
    call = Equation(jit_p, [y], {"jaxpr": inner, "name": "inner"}, [Var(av(5))])
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(jit\), in its sub-program: equation 0 \(sin\)"):
        typecheck(Jaxpr([], [y], [call], call.outputs))


# --- partial evaluation ---------------------------------------------------------------------


def test_partial_eval_splits_known_and_unknown_work():
    def f(x, t):
        s = fnp.sin(x)
        return s * 2.0, s * t, fnp.cos(x)

    x, t = fnp.asarray([0.1, 0.2]), fnp.asarray([1.0, 3.0])
    closed = funcgrad.make_jaxpr(f)(x, t)
    split = partial_eval_jaxpr(closed, [False, True])
    typecheck(split.known)
    typecheck(split.unknown)
    assert split.out_unknowns == [False, True, False]
    assert [e.primitive.name for e in split.unknown.eqns] == ["mul"]  # only s * t waits for t
    known_outs = eval_closed(split.known, [x])
    residuals = known_outs[len(known_outs) - split.num_res:]
    (unknown_out,) = eval_closed(split.unknown, [*residuals, t])
    expected = f(x, t)
    np.testing.assert_array_equal(np.asarray(unknown_out), np.asarray(expected[1]))
    np.testing.assert_array_equal(np.asarray(known_outs[0]), np.asarray(expected[0]))


# --- passes on hand-built programs -------------------------------------------------------


def test_dce_drops_unused_work_but_keeps_effects():
    x = Var(av(3))
    used = eqn(ew.sin_p, [x], [av(3)])
    unused = eqn(ew.cos_p, [x], [av(3)])
    tree = tree_structure(((0,), {}))
    effect = Equation(debug_print_p, [unused.outputs[0]], {"fmt": "{}", "in_tree": tree, "static_leaves": ()}, [])
    unused_too = eqn(ew.exp_p, [x], [av(3)])
    c = Var(av(3))
    closed = ClosedJaxpr(Jaxpr([c], [x], [used, unused, effect, unused_too], used.outputs), [fnp.ones(3, dtype=F32)])
    out = optimize.dce(closed)
    typecheck(out)
    assert [e.primitive.name for e in out.eqns] == ["sin", "cos", "debug_print"]
    assert out.jaxpr.constvars == [] and out.consts == []
    assert out.jaxpr.invars == [x]


def test_cse_merges_repeats_but_not_different_literals_or_effects():
    x = Var(av(3))
    a = eqn(ew.mul_p, [x, lit(2.0)], [av(3)])
    b = eqn(ew.mul_p, [x, lit(2.0)], [av(3)])  # same: merged
    c = eqn(ew.mul_p, [x, lit(2)], [av(3)])  # int literal: a different equation
    d = eqn(ew.add_p, [a.outputs[0], b.outputs[0]], [av(3)])
    e = eqn(ew.add_p, [d.outputs[0], c.outputs[0]], [av(3)])
    tree = tree_structure(((0,), {}))
    p1 = Equation(debug_print_p, [x], {"fmt": "{}", "in_tree": tree, "static_leaves": ()}, [])
    p2 = Equation(debug_print_p, [x], {"fmt": "{}", "in_tree": tree, "static_leaves": ()}, [])
    closed = ClosedJaxpr(Jaxpr([], [x], [a, b, c, d, e, p1, p2], e.outputs), [])
    out = optimize.cse(closed)
    assert [q.primitive.name for q in out.eqns] == ["mul", "mul", "add", "add", "debug_print", "debug_print"]
    assert out.eqns[2].inputs == [a.outputs[0], a.outputs[0]]
    same_results(closed, out, np.arange(3, dtype=F32))


def test_constant_folding():
    x = Var(av(3))
    c = Var(av(3))
    k = Var(av())
    folded_array = eqn(ew.mul_p, [c, lit(2.0)], [av(3)])  # const * literal: a new constant
    folded_scalar = eqn(ew.add_p, [k, lit(1.0)], [av()])  # 0-d: becomes a literal
    use = eqn(ew.mul_p, [x, folded_array.outputs[0]], [av(3)])
    out = eqn(ew.mul_p, [use.outputs[0], folded_scalar.outputs[0]], [av(3)])
    big_c = Var(av(2000))
    big = eqn(ew.exp_p, [big_c], [av(2000)])  # too large to keep: computed at run time
    consts = [fnp.asarray([1.0, 2.0, 3.0], dtype=F32), fnp.asarray(4.0, dtype=F32), fnp.ones(2000, dtype=F32)]
    closed = ClosedJaxpr(
        Jaxpr([c, k, big_c], [x], [folded_array, folded_scalar, use, out, big], [*out.outputs, *big.outputs]),
        consts,
    )
    result = optimize.fold_constants(closed)
    typecheck(result)
    assert [e.primitive.name for e in result.eqns] == ["mul", "mul", "exp"]
    assert type(result.eqns[1].inputs[1]) is Literal and result.eqns[1].inputs[1].val == np.float32(5.0)
    same_results(closed, result, np.arange(3, dtype=F32))


def test_forwarding_of_trivial_operations():
    x = Var(av(2, 3))
    ops = [
        eqn(structural.convert_element_type_p, [x], [av(2, 3)], new_dtype=F32),
        eqn(structural.reshape_p, [None], [av(2, 3)], new_sizes=(2, 3)),
        eqn(structural.transpose_p, [None], [av(2, 3)], permutation=(0, 1)),
        eqn(structural.broadcast_in_dim_p, [None], [av(2, 3)], shape=(2, 3), broadcast_dimensions=(0, 1)),
        eqn(ew.mul_p, [None, lit(1.0)], [av(2, 3)]),
        eqn(ew.sub_p, [None, lit(0.0)], [av(2, 3)]),
        eqn(reductions.reduce_sum_p, [None], [av(2, 3)], axes=()),
    ]
    prev = x
    for op in ops:
        op.inputs[0] = prev
        prev = op.outputs[0]
    real = eqn(ew.sin_p, [prev], [av(2, 3)])
    keep = eqn(ew.sub_p, [real.outputs[0], lit(-0.0)], [av(2, 3)])  # x - (-0.0) is not x for x = -0.0
    closed = ClosedJaxpr(Jaxpr([], [x], [*ops, real, keep], keep.outputs), [])
    out = optimize.forward_trivial(closed)
    assert [e.primitive.name for e in out.eqns] == ["sin", "sub"]
    assert out.eqns[0].inputs == [x]
    same_results(closed, out, np.linspace(-1, 1, 6, dtype=F32).reshape(2, 3))
    # reshape of a reshape becomes one reshape
    y = Var(av(6))
    r1 = eqn(structural.reshape_p, [y], [av(2, 3)], new_sizes=(2, 3))
    r2 = eqn(structural.reshape_p, [r1.outputs[0]], [av(3, 2)], new_sizes=(3, 2))
    closed = ClosedJaxpr(Jaxpr([], [y], [r1, r2], r2.outputs), [])
    out = optimize.forward_trivial(closed)
    assert len(out.eqns) == 1 and out.eqns[0].inputs == [y]
    same_results(closed, out, np.arange(6, dtype=F32))


def test_scalar_broadcasts_feed_elementwise_operations_directly():
    x = Var(av(4))
    s = Var(av())
    b = eqn(structural.broadcast_in_dim_p, [s], [av(4)], shape=(4,), broadcast_dimensions=())
    m = eqn(ew.mul_p, [x, b.outputs[0]], [av(4)])
    closed = ClosedJaxpr(Jaxpr([], [x, s], [b, m], m.outputs), [])
    out = optimize.forward_scalar_broadcasts(closed)
    assert [e.primitive.name for e in out.eqns] == ["mul"] and out.eqns[0].inputs == [x, s]
    same_results(closed, out, np.arange(4, dtype=F32), np.float32(3))


def test_a_scale_of_a_product_moves_to_the_smaller_operand():
    from funcgrad._src.lax import linalg

    a, g, w = Var(av(8, 3)), Var(av(8, 5)), Var(av(3, 5))
    dn = (((0,), (0,)), ((), ()))
    dot = eqn(linalg.dot_general_p, [a, g], [av(3, 5)], dimension_numbers=dn)  # a.T @ g
    scaled = eqn(ew.mul_p, [lit(0.5), dot.outputs[0]], [av(3, 5)])
    upd = eqn(ew.sub_p, [w, scaled.outputs[0]], [av(3, 5)])
    closed = ClosedJaxpr(Jaxpr([], [a, g, w], [dot, scaled, upd], upd.outputs), [])
    out = optimize.scale_matmul_operands(closed)
    assert out is closed  # both operands (24, 40 elements) are larger than the product (15)
    big = Var(av(40, 30))
    dot2 = eqn(linalg.dot_general_p, [Var(av(4, 40)), Var(av(4, 30))], [av(40, 30)], dimension_numbers=dn)
    lhs, rhs = dot2.inputs
    scaled2 = eqn(ew.mul_p, [dot2.outputs[0], lit(0.01, F32)], [av(40, 30)])
    upd2 = eqn(ew.sub_p, [big, scaled2.outputs[0]], [av(40, 30)])
    closed2 = ClosedJaxpr(Jaxpr([], [lhs, rhs, big], [dot2, scaled2, upd2], upd2.outputs), [])
    out2 = optimize.scale_matmul_operands(closed2)
    names = [e.primitive.name for e in out2.eqns]
    assert names == ["mul", "dot_general", "sub"]
    # rhs (120 elements) is the smallest: it is scaled, not the 1200-element product
    assert out2.eqns[0].inputs[0] is rhs and out2.eqns[1].inputs == [lhs, out2.eqns[0].outputs[0]]
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s).astype(F32) for s in ((4, 40), (4, 30), (40, 30))]
    typecheck(out2)
    for x, y in zip(run(closed2, *args), run(out2, *args)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    # a product with another use keeps its value: no rewrite
    closed3 = ClosedJaxpr(Jaxpr([], [lhs, rhs, big], [dot2, scaled2, upd2],
                                [upd2.outputs[0], dot2.outputs[0]]), [])  # fmt: skip
    assert optimize.scale_matmul_operands(closed3) is closed3


def test_inlining_makes_fresh_variables_per_call():
    inner = funcgrad.make_jaxpr(lambda x: fnp.sin(x) + 1.0)(fnp.ones(2))
    x = Var(av(2, dtype=np.float64))
    c1 = Equation(jit_p, [x], {"jaxpr": inner, "name": "inner"}, [Var(av(2, dtype=np.float64))])
    c2 = Equation(jit_p, [c1.outputs[0]], {"jaxpr": inner, "name": "inner"}, [Var(av(2, dtype=np.float64))])
    closed = ClosedJaxpr(Jaxpr([], [x], [c1, c2], c2.outputs), [])
    typecheck(closed)
    out = optimize.inline_calls(closed)
    assert [e.primitive.name for e in out.eqns] == ["sin", "add", "sin", "add"]
    same_results(closed, out, np.array([0.5, 1.5]))


def test_codegen_calls_kernels_and_reuses_only_owned_buffers():
    x = Var(av(3))
    a = eqn(ew.exp_p, [x], [av(3)])
    b = eqn(ew.mul_p, [a.outputs[0], lit(2.0)], [av(3)])  # a dies here: written in place
    c = eqn(ew.add_p, [b.outputs[0], x], [av(3)])  # x is an input: never written
    closed = ClosedJaxpr(Jaxpr([], [x], [a, b, c], c.outputs), [])
    exe = generate(closed, get_backend("numpy"), "prog")
    assert exe.source.splitlines() == [
        "def prog(x0):",
        "    x1 = _exp(x0)",
        "    x2 = _multiply(x1, 2.0, out=x1)",
        "    x3 = _add(x2, x0, out=x2)",
        "    return (x3,)",
    ]
    data = np.arange(3, dtype=F32)
    (result,) = exe.fn(data)
    np.testing.assert_allclose(result, np.exp(np.arange(3, dtype=F32)) * 2 + np.arange(3))
    np.testing.assert_array_equal(data, np.arange(3, dtype=F32))
    # a view keeps its base alive: no in-place write into memory a live view shares
    t = eqn(ew.exp_p, [x], [av(3)])
    v = eqn(structural.reshape_p, [t.outputs[0]], [av(1, 3)], new_sizes=(1, 3))
    w = eqn(ew.mul_p, [t.outputs[0], lit(2.0)], [av(3)])
    closed = ClosedJaxpr(Jaxpr([], [x], [t, v, w], [*v.outputs, *w.outputs]), [])
    exe = generate(closed, get_backend("numpy"), "prog")
    assert "out=" not in exe.source
    view, doubled = exe.fn(data)
    np.testing.assert_allclose(view[0] * 2, doubled)
