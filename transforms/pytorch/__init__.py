"""transforms.pytorch: torch.optim's optimizers and LR schedulers, with torch's names.

Optimizers are gradient transformations whose trajectories equal PyTorch's (`lbfgs`:
one ``update`` is one ``LBFGS.step(closure)``, the closure passed as ``value_fn``); schedulers
are functions of the step count (pass one as an optimizer's ``lr``);
`reduce_lr_on_plateau` is a transformation fed the monitored metric.

Examples:
    >>> import funcgrad.numpy as fnp
    >>> from transforms import pytorch
    >>> opt = pytorch.adam(lr=pytorch.step_lr(1e-3, step_size=10, gamma=0.5))
    >>> u, state = opt.update(fnp.asarray([2.0]), opt.init(fnp.zeros(1)))
    >>> round(u.item(), 6)
    -0.001
"""

from transforms.pytorch import blocks
from transforms.pytorch.lbfgs import LBFGSState, lbfgs
from transforms.pytorch.optimizers import (
    ASGDState,
    adadelta,
    adagrad,
    adam,
    adamax,
    adamw,
    asgd,
    nadam,
    radam,
    rmsprop,
    rprop,
    sgd,
    sparse_adam,
)
from transforms.pytorch.plateau import ReduceLROnPlateauState, reduce_lr_on_plateau
from transforms.pytorch.schedulers import (
    constant_lr,
    cosine_annealing_lr,
    cosine_annealing_warm_restarts,
    cyclic_lr,
    exponential_lr,
    lambda_lr,
    linear_lr,
    multi_step_lr,
    one_cycle_lr,
    polynomial_lr,
    sequential_lr,
    step_lr,
)

__all__ = [
    "ASGDState",
    "LBFGSState",
    "ReduceLROnPlateauState",
    "adadelta",
    "adagrad",
    "adam",
    "adamax",
    "adamw",
    "asgd",
    "blocks",
    "constant_lr",
    "cosine_annealing_lr",
    "cosine_annealing_warm_restarts",
    "cyclic_lr",
    "exponential_lr",
    "lambda_lr",
    "lbfgs",
    "linear_lr",
    "multi_step_lr",
    "nadam",
    "one_cycle_lr",
    "polynomial_lr",
    "radam",
    "reduce_lr_on_plateau",
    "rmsprop",
    "rprop",
    "sequential_lr",
    "sgd",
    "sparse_adam",
    "step_lr",
]
