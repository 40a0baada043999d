"""The optimizers: optax's aliases, each only a ``chain`` of building blocks.

Names, arguments, defaults and trajectories follow optax (``optax/_src/alias.py``), so
optax code ports by changing the import. Wherever a ``learning_rate`` is taken it may be
a schedule (a function of the int32 step count). A negative learning rate or a decay
rate outside [0, 1) raises a ValueError at construction, naming the argument.
"""

from __future__ import annotations

import math
from typing import Any

from transforms import (
    _masking,
    accumulation,
    adding,
    base,
    clipping,
    factorized,
    transform,
)
from transforms._checks import check_decay, check_learning_rate, check_nonnegative

__all__ = [
    "adabelief",
    "adadelta",
    "adafactor",
    "adagrad",
    "adam",
    "adamax",
    "adamaxw",
    "adamw",
    "adan",
    "amsgrad",
    "fromage",
    "lamb",
    "lars",
    "lion",
    "nadam",
    "nadamw",
    "noisy_sgd",
    "novograd",
    "polyak_sgd",
    "radam",
    "rmsprop",
    "rprop",
    "sgd",
    "sign_sgd",
    "sm3",
    "yogi",
]

ScalarOrSchedule = base.ScalarOrSchedule


def _lr(fn_name: str, learning_rate: Any) -> base.GradientTransformation:
    check_learning_rate(fn_name, learning_rate)
    return transform.scale_by_learning_rate(learning_rate)


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Stochastic gradient descent, with optional (Nesterov) momentum.

    .. math::
        t_k = g_k + \mu t_{k-1}\ (t_0 = 0),\quad
        w_{k+1} = w_k - \alpha_k \cdot (t_k \text{ or, with nesterov, } g_k + \mu t_k)

    (:math:`t_k = g_k` without momentum). ``chain(trace(momentum, nesterov),
    scale_by_learning_rate(learning_rate))``.

    Args:
        learning_rate: :math:`\alpha` (>= 0) or a schedule.
        momentum: :math:`\mu` (>= 0), or None for no momentum.
        nesterov: Nesterov's momentum.
        accumulator_dtype: dtype of the momentum buffer.

    References:
        Sutskever et al., On the importance of initialization and momentum in deep
        learning, ICML 2013.

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum(w ** 2)
        >>> opt = transforms.sgd(learning_rate=0.1, momentum=0.9)
        >>> w = fnp.asarray([1.0, -2.0])
        >>> state = opt.init(w)
        >>> for _ in range(3):
        ...     updates, state = opt.update(funcgrad.grad(f)(w), state)
        ...     w = transforms.apply_updates(w, updates)
        >>> [round(v, 4) for v in w.tolist()]
        [0.062, -0.124]
    """
    if momentum is not None:
        check_nonnegative("sgd", "momentum", momentum)
    return base.chain(
        accumulation.trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)
        if momentum is not None
        else base.identity(),
        _lr("sgd", learning_rate),
    )


def noisy_sgd(
    learning_rate: ScalarOrSchedule,
    eta: float = 0.01,
    gamma: float = 0.55,
    key: Any = None,
    *,
    seed: int | None = None,
) -> base.GradientTransformationExtraArgs:
    r"""SGD on gradients with annealed Gaussian noise.

    .. math::
        w_{k+1} = w_k - \alpha_k (g_k + \sigma_k \xi_k),\quad \sigma_k^2 = \eta / k^{\gamma}

    ``chain(add_noise(eta, gamma, key, seed=seed), scale_by_learning_rate(learning_rate))``;
    ``key`` is an int seed or a ``funcgrad.random.key`` (None: 0), ``seed`` its older name.

    References:
        Neelakantan et al., 2015 (https://arxiv.org/abs/1511.06807).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.noisy_sgd(0.1, eta=0.0)
        >>> opt.update(fnp.ones(2), opt.init(fnp.zeros(2)))[0].tolist()
        [-0.1, -0.1]
    """
    return base.chain(adding.add_noise(eta, gamma, key, seed=seed), _lr("noisy_sgd", learning_rate))


def sign_sgd(learning_rate: ScalarOrSchedule) -> base.GradientTransformationExtraArgs:
    r"""signSGD: step along the sign of the gradient, :math:`w_{k+1} = w_k - \alpha_k
    \mathrm{sign}(g_k)`.

    References:
        Bernstein et al., signSGD: Compressed Optimisation for Non-Convex Problems, 2018.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.sign_sgd(0.5)
        >>> opt.update(fnp.asarray([-3.0, 0.1]), opt.init(fnp.zeros(2)))[0].tolist()
        [0.5, -0.5]
    """
    return base.chain(transform.scale_by_sign(), _lr("sign_sgd", learning_rate))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""Adam.

    .. math::
        m_k &= \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2\\
        \hat m_k &= m_k/(1-\beta_1^k),\quad \hat v_k = v_k/(1-\beta_2^k)\\
        w_{k+1} &= w_k - \alpha_k\, \hat m_k / (\sqrt{\hat v_k + \bar\epsilon} + \epsilon)

    with :math:`m_0 = v_0 = 0`, :math:`k = 1, 2, \dots` and :math:`\alpha_k` the learning
    rate (its schedule evaluated at :math:`k - 1`). ``nesterov=True`` is NAdam (see
    ``scale_by_adam``). ``chain(scale_by_adam(...), scale_by_learning_rate(lr))``.

    Args:
        learning_rate: :math:`\alpha` (>= 0) or a schedule.
        b1: :math:`\beta_1` in [0, 1).
        b2: :math:`\beta_2` in [0, 1).
        eps: :math:`\epsilon`, outside the root.
        eps_root: :math:`\bar\epsilon`, inside the root.
        mu_dtype: dtype of the first moment.
        nesterov: NAdam's Nesterov momentum.

    References:
        Kingma and Ba, 2014 (https://arxiv.org/abs/1412.6980).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum((w - 3.0) ** 2)
        >>> opt = transforms.adam(learning_rate=0.1)
        >>> w = fnp.zeros(2)
        >>> state = opt.init(w)
        >>> updates, state = opt.update(funcgrad.grad(f)(w), state)
        >>> [round(v, 6) for v in transforms.apply_updates(w, updates).tolist()]  # lr * sign(-g)
        [0.1, 0.1]
    """
    return base.chain(
        transform.scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov
        ),
        _lr("adam", learning_rate),
    )


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""Adam with decoupled weight decay (AdamW).

    .. math:: w_{k+1} = w_k - \alpha_k \left(\hat m_k / (\sqrt{\hat v_k + \bar\epsilon} +
        \epsilon) + \lambda w_k\right)

    The decay is multiplied by the learning rate (as in PyTorch). ``mask`` (a bool pytree,
    a prefix of it, or a callable of the params) selects the leaves that decay.
    ``chain(scale_by_adam, add_decayed_weights(weight_decay, mask), scale_by_learning_rate)``.

    References:
        Loshchilov and Hutter, Decoupled Weight Decay Regularization, 2019
        (https://arxiv.org/abs/1711.05101).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adamw(0.1, weight_decay=0.5, eps=0.0)
        >>> p = fnp.asarray([2.0])
        >>> opt.update(fnp.asarray([1.0]), opt.init(p), p)[0].tolist()  # -0.1 * (1 + 0.5 * 2)
        [-0.2]
    """
    check_nonnegative("adamw", "weight_decay", weight_decay)
    return base.chain(
        transform.scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov
        ),
        adding.add_decayed_weights(weight_decay, mask),
        _lr("adamw", learning_rate),
    )


def nadam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = True,
) -> base.GradientTransformationExtraArgs:
    r"""NAdam: ``adam(..., nesterov=True)`` (Dozat, 2016; see ``scale_by_adam``).

    As in optax (where ``nadam`` is ``adam`` with ``nesterov=True``), ``nesterov=False``
    gives plain Adam.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.nadam(0.1)
        >>> # 0.1 * (0.9 * 0.1 / (1 - 0.9**2) + 0.1 * 1 / (1 - 0.9)) / sqrt(1)
        >>> round(opt.update(fnp.asarray([1.0]), opt.init(fnp.zeros(1)))[0].item(), 4)
        -0.1474
    """
    return adam(learning_rate, b1, b2, eps, eps_root, mu_dtype, nesterov=nesterov)


def nadamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Any = None,
    *,
    nesterov: bool = True,
) -> base.GradientTransformationExtraArgs:
    r"""NAdamW: ``adamw(..., nesterov=True)`` (``nesterov=False`` gives plain AdamW).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.nadamw(0.1, weight_decay=0.0)
        >>> p = fnp.zeros(1)
        >>> round(opt.update(fnp.asarray([1.0]), opt.init(p), p)[0].item(), 4)
        -0.1474
    """
    return adamw(
        learning_rate, b1, b2, eps, eps_root, mu_dtype, weight_decay, mask, nesterov=nesterov
    )


def radam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    threshold: float = 5.0,
    *,
    nesterov: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""Rectified Adam (see ``scale_by_radam`` for the rectification term).

    References:
        Liu et al., 2020 (https://arxiv.org/abs/1908.03265).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.radam(0.1)
        >>> opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].tolist()
        [-0.2]
    """
    return base.chain(
        transform.scale_by_radam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, threshold=threshold, nesterov=nesterov
        ),
        _lr("radam", learning_rate),
    )


def amsgrad(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""AMSGrad (see ``scale_by_amsgrad``).

    References:
        Reddi et al., 2018 (https://openreview.net/forum?id=ryQu7f-RZ).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.amsgrad(0.1, eps=0.0)
        >>> opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].tolist()
        [-0.1]
    """
    return base.chain(
        transform.scale_by_amsgrad(b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype),
        _lr("amsgrad", learning_rate),
    )


def adamax(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> base.GradientTransformationExtraArgs:
    r"""Adamax (see ``scale_by_adamax``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adamax(0.1, eps=0.0)
        >>> opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].tolist()
        [-0.1]
    """
    return base.chain(
        transform.scale_by_adamax(b1=b1, b2=b2, eps=eps), _lr("adamax", learning_rate)
    )


def adamaxw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-4,
    mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Adamax with decoupled weight decay (``adamax`` + ``add_decayed_weights``).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adamaxw(0.1, eps=0.0, weight_decay=1.0)
        >>> p = fnp.ones(1)
        >>> opt.update(fnp.asarray([2.0]), opt.init(p), p)[0].tolist()
        [-0.2]
    """
    check_nonnegative("adamaxw", "weight_decay", weight_decay)
    return base.chain(
        transform.scale_by_adamax(b1=b1, b2=b2, eps=eps),
        adding.add_decayed_weights(weight_decay, mask),
        _lr("adamaxw", learning_rate),
    )


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> base.GradientTransformationExtraArgs:
    r"""Adagrad: :math:`G_k = G_{k-1} + g_k^2` (:math:`G_0` = ``initial_accumulator_value``),
    :math:`w_{k+1} = w_k - \alpha_k g_k / \sqrt{G_k + \epsilon}`.

    References:
        Duchi et al., 2011 (https://jmlr.org/papers/v12/duchi11a.html).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adagrad(1.0, initial_accumulator_value=0.0, eps=0.0)
        >>> opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].tolist()
        [-1.0]
    """
    return base.chain(
        transform.scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        _lr("adagrad", learning_rate),
    )


def adadelta(
    learning_rate: ScalarOrSchedule | None = None,
    rho: float = 0.9,
    eps: float = 1e-6,
    weight_decay: float = 0.0,
    weight_decay_mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Adadelta: ``chain(add_decayed_weights, scale_by_adadelta(rho, eps),
    scale_by_learning_rate)``.

    ``learning_rate=None`` means a learning rate of 1 (Zeiler's form, descending). optax's
    alias turns None into ``identity``, which skips the sign flip and so *ascends*; that
    is not reproduced here.

    References:
        Zeiler, 2012 (https://arxiv.org/abs/1212.5701).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adadelta(1.0, rho=0.0, eps=1.0)
        >>> p = fnp.zeros(1)
        >>> round(opt.update(fnp.asarray([1.0]), opt.init(p), p)[0].item(), 6)
        -0.707107
    """
    check_nonnegative("adadelta", "weight_decay", weight_decay)
    return base.chain(
        adding.add_decayed_weights(weight_decay, mask=weight_decay_mask),
        transform.scale_by_adadelta(rho=rho, eps=eps),
        _lr("adadelta", 1.0 if learning_rate is None else learning_rate),
    )


def adafactor(
    learning_rate: ScalarOrSchedule | None = None,
    min_dim_size_to_factor: int = 128,
    decay_rate: float = 0.8,
    decay_offset: int = 0,
    multiply_by_parameter_scale: bool = True,
    clipping_threshold: float | None = 1.0,
    momentum: float | None = None,
    dtype_momentum: Any = "float32",
    weight_decay_rate: float | None = None,
    eps: float = 1e-30,
    factored: bool = True,
    weight_decay_mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Adafactor: factored second moments, block-rms clipping, relative step size.

    ``chain(scale_by_factored_rms, clip_by_block_rms(clipping_threshold),
    scale_by_learning_rate(lr, flip_sign=False), scale_by_param_block_rms(),
    ema(momentum, debias=False), add_decayed_weights(weight_decay_rate), scale(-1))``,
    each optional part left out when its argument is None/False.

    References:
        Shazeer and Stern, 2018 (https://arxiv.org/abs/1804.04235).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adafactor(learning_rate=0.1, multiply_by_parameter_scale=False)
        >>> p = fnp.zeros(2)
        >>> opt.update(fnp.asarray([2.0, -3.0]), opt.init(p), p)[0].tolist()
        [-0.1, 0.1]
    """
    txs = [
        factorized.scale_by_factored_rms(
            factored, decay_rate, decay_offset, min_dim_size_to_factor, eps
        )
    ]
    if clipping_threshold is not None:
        txs.append(clipping.clip_by_block_rms(clipping_threshold))
    if learning_rate is not None:
        check_learning_rate("adafactor", learning_rate)
        txs.append(transform.scale_by_learning_rate(learning_rate, flip_sign=False))
    if multiply_by_parameter_scale:
        txs.append(transform.scale_by_param_block_rms())
    if momentum is not None:
        txs.append(accumulation.ema(momentum, debias=False, accumulator_dtype=dtype_momentum))
    if weight_decay_rate is not None:
        txs.append(adding.add_decayed_weights(weight_decay_rate, mask=weight_decay_mask))
    txs.append(transform.scale(-1))
    return base.chain(*txs)


def adabelief(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-16,
    eps_root: float = 1e-16,
    *,
    nesterov: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""AdaBelief (see ``scale_by_belief``).

    References:
        Zhuang et al., 2020 (https://arxiv.org/abs/2010.07468).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adabelief(0.1)
        >>> round(opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].item(), 4)
        -0.1111
    """
    return base.chain(
        transform.scale_by_belief(b1=b1, b2=b2, eps=eps, eps_root=eps_root, nesterov=nesterov),
        _lr("adabelief", learning_rate),
    )


def adan(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.98,
    b2: float = 0.92,
    b3: float = 0.99,
    eps: float = 1e-8,
    eps_root: float = 1e-8,
    weight_decay: float = 0.0,
    mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Adan (see ``scale_by_adan``), with decoupled weight decay.

    References:
        Xie et al., 2022 (https://arxiv.org/abs/2208.06677).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.adan(0.1, eps=0.0, eps_root=0.0)
        >>> p = fnp.zeros(1)
        >>> opt.update(fnp.asarray([2.0]), opt.init(p), p)[0].tolist()
        [-0.1]
    """
    check_nonnegative("adan", "weight_decay", weight_decay)
    return base.chain(
        transform.scale_by_adan(b1=b1, b2=b2, b3=b3, eps=eps, eps_root=eps_root),
        adding.add_decayed_weights(weight_decay, mask),
        _lr("adan", learning_rate),
    )


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
    bias_correction: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""RMSProp, optionally centred, with optional momentum applied after the scaling.

    .. math::
        \nu_k = \rho \nu_{k-1} + (1-\rho) g_k^2,\quad
        d_k = -\alpha_k\, g_k / \sqrt{\nu_k + \epsilon}

    (centred: :math:`\nu_k - \mu_k^2` under the root; ``eps_in_sqrt=False`` puts
    :math:`\epsilon` outside it; ``bias_correction`` divides the averages by
    :math:`1-\rho^k`); with momentum :math:`\beta`, :math:`t_k = d_k + \beta t_{k-1}` is
    the update. ``chain(scale_by_rms | scale_by_stddev, scale_by_learning_rate,
    trace(momentum, nesterov))``.

    References:
        Hinton, Lecture 6.5 of Neural Networks for Machine Learning, 2012;
        Graves, Generating Sequences With Recurrent Neural Networks, 2013.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.rmsprop(0.1, decay=0.75, eps=0.0)
        >>> opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].tolist()
        [-0.2]
    """
    scaler = transform.scale_by_stddev if centered else transform.scale_by_rms
    if momentum is not None:
        check_nonnegative("rmsprop", "momentum", momentum)
    return base.chain(
        scaler(
            decay=decay,
            eps=eps,
            initial_scale=initial_scale,
            eps_in_sqrt=eps_in_sqrt,
            bias_correction=bias_correction,
        ),
        _lr("rmsprop", learning_rate),
        accumulation.trace(decay=momentum, nesterov=nesterov)
        if momentum is not None
        else base.identity(),
    )


def rprop(
    learning_rate: float,
    eta_minus: float = 0.5,
    eta_plus: float = 1.2,
    min_step_size: float = 1e-6,
    max_step_size: float = 50.0,
) -> base.GradientTransformationExtraArgs:
    r"""Rprop (see ``scale_by_rprop``); ``learning_rate`` is the initial step size.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.rprop(0.5)
        >>> opt.update(fnp.asarray([-3.0, 2.0]), opt.init(fnp.zeros(2)))[0].tolist()
        [0.5, -0.5]
    """
    return base.chain(
        transform.scale_by_rprop(
            learning_rate=learning_rate,
            eta_minus=eta_minus,
            eta_plus=eta_plus,
            min_step_size=min_step_size,
            max_step_size=max_step_size,
        ),
        transform.scale(-1.0),
    )


def lamb(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
    mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""LAMB: Adam's direction plus weight decay, rescaled per leaf by its trust ratio.

    :math:`r_k = \hat m_k / (\sqrt{\hat v_k + \bar\epsilon} + \epsilon) + \lambda w_k`,
    :math:`w_{k+1} = w_k - \alpha_k \frac{\|w_k\|}{\|r_k\|} r_k` (per leaf).

    References:
        You et al., Large Batch Optimization for Deep Learning: Training BERT in 76
        minutes, 2019 (https://arxiv.org/abs/1904.00962).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.lamb(0.1, eps=0.0)
        >>> p = fnp.asarray([3.0, 4.0])
        >>> opt.update(fnp.asarray([1.0, 1.0]), opt.init(p), p)[0].tolist()  # doctest: +ELLIPSIS
        [-0.353..., -0.353...]
    """
    check_nonnegative("lamb", "weight_decay", weight_decay)
    return base.chain(
        transform.scale_by_adam(b1=b1, b2=b2, eps=eps, eps_root=eps_root),
        adding.add_decayed_weights(weight_decay=weight_decay, mask=mask),
        transform.scale_by_trust_ratio(),
        _lr("lamb", learning_rate),
    )


def _masked_stateless(fn_name, tx, mask):
    """``tx`` applied only where ``mask`` is True (``tx`` must be stateless)."""
    if mask is True:
        return tx

    def update_fn(updates, state, params=None):
        new, state = tx.update(updates, state, params)
        return _masking.select(_masking.resolve_mask(fn_name, mask, updates), new, updates), state

    return base.GradientTransformation(tx.init, update_fn)


def lars(
    learning_rate: ScalarOrSchedule,
    weight_decay: float = 0.0,
    weight_decay_mask: Any = True,
    trust_coefficient: float = 0.001,
    eps: float = 0.0,
    trust_ratio_mask: Any = True,
    momentum: float = 0.9,
    nesterov: bool = False,
) -> base.GradientTransformationExtraArgs:
    r"""LARS: SGD with momentum on gradients rescaled per leaf by the trust ratio.

    .. math::
        r_k = g_k + \lambda w_k,\quad
        d_k = -\alpha_k\, \frac{c \|w_k\|}{\|r_k\| + \epsilon} r_k,\quad
        t_k = d_k + \mu t_{k-1}

    (the trust ratio is 1 where a norm is 0; the masks select the leaves that get weight
    decay and the trust ratio). ``chain(add_decayed_weights, scale_by_trust_ratio,
    scale_by_learning_rate, trace(momentum, nesterov))``.

    References:
        You et al., Large Batch Training of Convolutional Networks, 2017
        (https://arxiv.org/abs/1708.03888).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.lars(0.1, trust_coefficient=1.0)
        >>> p = fnp.asarray([3.0, 4.0])
        >>> [round(v, 6) for v in opt.update(fnp.asarray([0.6, 0.8]), opt.init(p), p)[0].tolist()]
        [-0.3, -0.4]
    """
    check_nonnegative("lars", "weight_decay", weight_decay)
    check_nonnegative("lars", "momentum", momentum)
    return base.chain(
        _masked_stateless("lars", adding.add_decayed_weights(weight_decay), weight_decay_mask),
        _masked_stateless(
            "lars",
            transform.scale_by_trust_ratio(trust_coefficient=trust_coefficient, eps=eps),
            trust_ratio_mask,
        ),
        _lr("lars", learning_rate),
        accumulation.trace(decay=momentum, nesterov=nesterov),
    )


def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    mu_dtype: Any = None,
    weight_decay: float = 1e-3,
    mask: Any = None,
) -> base.GradientTransformationExtraArgs:
    r"""Lion: :math:`w_{k+1} = w_k - \alpha_k(\mathrm{sign}(\beta_1 m_{k-1} + (1-\beta_1)
    g_k) + \lambda w_k)`, :math:`m_k = \beta_2 m_{k-1} + (1-\beta_2) g_k`.

    References:
        Chen et al., 2023 (https://arxiv.org/abs/2302.06675).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.lion(0.1, weight_decay=0.0)
        >>> p = fnp.zeros(2)
        >>> opt.update(fnp.asarray([0.3, -2.0]), opt.init(p), p)[0].tolist()
        [-0.1, 0.1]
    """
    check_nonnegative("lion", "weight_decay", weight_decay)
    return base.chain(
        transform.scale_by_lion(b1=b1, b2=b2, mu_dtype=mu_dtype),
        adding.add_decayed_weights(weight_decay, mask),
        _lr("lion", learning_rate),
    )


def novograd(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.25,
    eps: float = 1e-6,
    eps_root: float = 0.0,
    weight_decay: float = 0.0,
) -> base.GradientTransformationExtraArgs:
    r"""NovoGrad (see ``scale_by_novograd``).

    References:
        Ginsburg et al., 2019 (https://arxiv.org/abs/1905.11286).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.novograd(1.0, eps=0.0)
        >>> p = fnp.zeros(2)
        >>> opt.update(fnp.asarray([3.0, 4.0]), opt.init(p), p)[0].tolist()
        [-0.6, -0.8]
    """
    return base.chain(
        transform.scale_by_novograd(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, weight_decay=weight_decay
        ),
        _lr("novograd", learning_rate),
    )


def fromage(learning_rate: float, min_norm: float = 1e-6) -> base.GradientTransformationExtraArgs:
    r"""Fromage: trust-ratio steps followed by a shrink of the weights.

    With :math:`\alpha` the learning rate and :math:`\gamma = 1/\sqrt{1+\alpha^2}`:
    :math:`w_{k+1} = \gamma\left(w_k - \alpha \frac{\|w_k\|}{\|g_k\|} g_k\right)` per leaf.
    ``chain(scale_by_trust_ratio(min_norm), scale_by_learning_rate(alpha * gamma),
    add_decayed_weights(gamma - 1))``.

    References:
        Bernstein et al., On the distance between two neural networks and the stability
        of learning, 2020 (https://arxiv.org/abs/2002.03432).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.fromage(0.75)
        >>> p = fnp.asarray([3.0, 4.0])
        >>> [round(v, 6) for v in opt.update(fnp.asarray([0.0, 1.0]), opt.init(p), p)[0].tolist()]
        [-0.6, -3.8]
    """
    check_learning_rate("fromage", learning_rate)
    mult = 1 / math.sqrt(1 + learning_rate**2)
    return base.chain(
        transform.scale_by_trust_ratio(min_norm),
        transform.scale_by_learning_rate(learning_rate * mult),
        adding.add_decayed_weights(mult - 1),
    )


def yogi(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-3
) -> base.GradientTransformationExtraArgs:
    r"""Yogi (see ``scale_by_yogi``).

    References:
        Zaheer et al., 2018.

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.yogi(0.1, eps=0.0)
        >>> round(opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].item(), 4)
        -0.1
    """
    return base.chain(transform.scale_by_yogi(b1=b1, b2=b2, eps=eps), _lr("yogi", learning_rate))


def sm3(learning_rate: float, momentum: float = 0.9) -> base.GradientTransformationExtraArgs:
    r"""SM3 (see ``scale_by_sm3``): ``chain(scale_by_sm3(momentum), scale(-learning_rate))``.

    References:
        Anil et al., 2019 (https://arxiv.org/abs/1901.11150).

    Examples:
        >>> import funcgrad.numpy as fnp
        >>> import transforms
        >>> opt = transforms.sm3(1.0, momentum=0.0)
        >>> round(opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))[0].item(), 4)
        -1.0
    """
    check_learning_rate("sm3", learning_rate)
    check_decay("sm3", "momentum", momentum)
    return base.chain(transform.scale_by_sm3(momentum), transform.scale(-learning_rate))


def polyak_sgd(
    max_learning_rate: float = 1.0,
    scaling: ScalarOrSchedule = 1.0,
    f_min: float = 0.0,
    eps: float = 0.0,
    variant: str = "sps",
) -> base.GradientTransformationExtraArgs:
    r"""SGD with Polyak's step size; ``update`` needs ``value=`` (the loss at the params).

    .. math:: w_{k+1} = w_k - \min\left(\frac{f(w_k) - f^\star}{\|s g_k\|^2 + \epsilon},
        \gamma_{\max}\right) s\, g_k

    with :math:`s` = ``scaling``. ``chain(sgd(scaling), scale_by_polyak(...))``.

    References:
        Loizou et al., 2021 (https://arxiv.org/abs/2002.10542).

    Examples:
        >>> import funcgrad, funcgrad.numpy as fnp
        >>> import transforms
        >>> f = lambda w: fnp.sum(w ** 2)
        >>> opt = transforms.polyak_sgd()
        >>> w = fnp.asarray([1.0, 2.0])
        >>> value, grad = funcgrad.value_and_grad(f)(w)
        >>> updates, _ = opt.update(grad, opt.init(w), w, value=value)
        >>> transforms.apply_updates(w, updates).tolist()  # step 5/20: halfway to 0
        [0.5, 1.0]
    """
    check_nonnegative("polyak_sgd", "max_learning_rate", max_learning_rate)
    return base.chain(
        sgd(learning_rate=scaling),
        transform.scale_by_polyak(
            max_learning_rate=max_learning_rate, f_min=f_min, eps=eps, variant=variant
        ),
    )
