"""named_scope: the names of the open scopes show on each staged equation of the printed
program (nested as outer/inner, with the user's line when asked), under jit, grad and
named_call, and nothing is recorded outside a scope."""

import inspect

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as fnp


def _lines(closed, source_info=False):
    text = closed.pretty_print(source_info) if source_info else str(closed)
    return [line.strip() for line in text.splitlines()]


def test_nested_scopes_prefix_each_equation():
    def f(x):
        with funcgrad.named_scope("outer"):
            y = fnp.sin(x)
            with funcgrad.named_scope("inner"):
                y = fnp.exp(y)
        return y * 3.0

    lines = _lines(funcgrad.make_jaxpr(f)(fnp.ones(2)))
    assert [ln.split("=")[1].split()[0] for ln in lines[1:4]] == ["sin", "exp", "mul"]
    assert lines[1].endswith("# [outer]")
    assert lines[2].endswith("# [outer/inner]")
    assert "#" not in lines[3]  # outside every scope: no annotation
    np.testing.assert_allclose(funcgrad.jit(f)(fnp.ones(2)), 3 * np.exp(np.sin(np.ones(2))))


def test_scope_and_the_users_line_together():
    def f(x):
        with funcgrad.named_scope("block"):
            return fnp.cos(x)

    line = inspect.getsourcelines(f)[1] + 2
    (eqn_line,) = [ln for ln in _lines(funcgrad.make_jaxpr(f, source_info=True)(fnp.ones(2)), True)
                   if "cos" in ln]  # fmt: skip
    assert eqn_line.endswith(f"# [block] {__file__}:{line}")


def test_decorator_form_grad_and_named_call():
    @funcgrad.named_scope("dense")
    def layer(x, w):
        return fnp.tanh(x @ w)

    x, w = fnp.ones((2, 3)), fnp.eye(3)
    text = str(funcgrad.make_jaxpr(funcgrad.grad(lambda w: layer(x, w).sum()))(w))
    assert "tanh" in text and "# [dense]" in text
    block = funcgrad.named_call(lambda v: fnp.sin(v) + 1.0, name="my_block")
    text = str(funcgrad.make_jaxpr(block)(fnp.ones(2)))
    assert "name='my_block'" in text and "sin a  # [my_block]" in text
    # scopes close: a later trace has none
    assert "#" not in str(funcgrad.make_jaxpr(fnp.sin)(fnp.ones(2)))


def test_scope_closes_on_error_and_rejects_bad_names():
    with pytest.raises(ValueError), funcgrad.named_scope("s"):
        raise ValueError("boom")
    assert "#" not in str(funcgrad.make_jaxpr(fnp.sin)(fnp.ones(2)))
    with pytest.raises(TypeError, match="named_scope: name must be a str"), funcgrad.named_scope(3):
        pass
