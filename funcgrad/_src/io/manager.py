"""`CheckpointManager`: numbered checkpoints in one directory for a training loop."""

from __future__ import annotations

import json
import math
import operator
import os
import re
from typing import Any

from funcgrad._src.io.atomic import TEMP_SUFFIX, fsync_directory, remove_temporary
from funcgrad._src.io.checkpoint import load, read_metadata, write_checkpoint
from funcgrad._src.io.errors import CheckpointError

METRICS_KEY = "funcgrad_metrics"
_SUFFIX = ".safetensors"


def _metric_to_json(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)


class CheckpointManager:
    """Saves a training loop's state every N steps and keeps the last K and the best.

    Checkpoints are files ``<prefix>_<step>.safetensors`` in ``directory``, each written
    atomically by `funcgrad.io.save`; the set of checkpoints is read from the file names
    and each one's metrics from its own metadata, so there is no separate index to get
    out of step. After every save, checkpoints are deleted except the ``max_to_keep``
    most recent and the ``keep_best`` best by ``metrics[best_metric]`` (NaN is never
    best; ties go to the earlier step). Temporary files left by a process killed in the
    middle of a save (``.<prefix>_<step>.safetensors.<random>.tmp``) are removed when a
    manager opens the directory, so only one process
    at a time should manage a directory.

    Args:
        directory: where the checkpoints live (created if missing).
        save_every: `save` writes only at steps that are multiples of it (unless forced).
        max_to_keep: how many of the most recent checkpoints to keep; None keeps all.
        best_metric: name of the metric (in ``save``'s ``metrics``) that ranks
            checkpoints; None keeps no best ones beyond the recent ones.
        mode: ``"min"`` (e.g. a loss) or ``"max"`` (e.g. an accuracy) for ``best_metric``.
        keep_best: how many best checkpoints to keep besides the recent ones.
        prefix: the file name prefix.

    Examples:
        >>> import tempfile
        >>> import funcgrad.numpy as fnp
        >>> from funcgrad.io import CheckpointManager
        >>> manager = CheckpointManager(tempfile.mkdtemp(), save_every=2, max_to_keep=2,
        ...                             best_metric="loss")
        >>> for step, loss in enumerate([5.0, 4.0, 1.0, 3.0, 2.0, 6.0, 7.0]):
        ...     _ = manager.save(step, {"w": fnp.full(2, step), "step": step},
        ...                      metrics={"loss": loss})
        >>> manager.all_steps(), manager.latest_step(), manager.best_step()
        ([2, 4, 6], 6, 2)
        >>> manager.restore()["step"]
        6
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        save_every: int = 1,
        max_to_keep: int | None = None,
        best_metric: str | None = None,
        mode: str = "min",
        keep_best: int = 1,
        prefix: str = "ckpt",
    ):
        if operator.index(save_every) < 1:
            raise ValueError(f"CheckpointManager: save_every must be >= 1, got {save_every}")
        if max_to_keep is not None and operator.index(max_to_keep) < 1:
            raise ValueError(
                f"CheckpointManager: max_to_keep must be >= 1 or None (keep all), got {max_to_keep}"
            )
        if mode not in ("min", "max"):
            raise ValueError(f"CheckpointManager: mode must be 'min' or 'max', got {mode!r}")
        if operator.index(keep_best) < 0:
            raise ValueError(f"CheckpointManager: keep_best must be >= 0, got {keep_best}")
        if not prefix or os.sep in prefix or prefix.startswith("."):
            raise ValueError(
                f"CheckpointManager: prefix {prefix!r} must be a non-empty file name part "
                "that does not start with '.'"
            )
        self.directory = os.fspath(directory)
        self.save_every = save_every
        self.max_to_keep = max_to_keep
        self.best_metric = best_metric
        self.mode = mode
        self.keep_best = keep_best
        self.prefix = prefix
        self._pattern = re.compile(re.escape(prefix) + r"_(\d+)" + re.escape(_SUFFIX))
        os.makedirs(self.directory, exist_ok=True)
        self._metrics: dict[int, dict[str, float]] = {}
        for name in os.listdir(self.directory):
            match = self._pattern.fullmatch(name)
            if match:
                step = int(match.group(1))
                self._metrics[step] = self._read_metrics(step) if best_metric else {}
            elif name.startswith("." + prefix + "_") and name.endswith(TEMP_SUFFIX):
                remove_temporary(os.path.join(self.directory, name))  # left by a killed save

    def checkpoint_path(self, step: int) -> str:
        """The file of the checkpoint for ``step`` (whether or not it exists)."""
        return os.path.join(self.directory, f"{self.prefix}_{operator.index(step):08d}{_SUFFIX}")

    def _read_metrics(self, step: int) -> dict[str, float]:
        path = self.checkpoint_path(step)
        raw = read_metadata(path).get(METRICS_KEY, "{}")
        try:
            metrics = json.loads(raw)
            return {str(k): float(v) for k, v in metrics.items()}
        except (ValueError, TypeError, AttributeError):
            raise CheckpointError(path, f"its {METRICS_KEY} metadata is malformed") from None

    def all_steps(self) -> list[int]:
        """The steps that have a checkpoint, in increasing order."""
        return sorted(self._metrics)

    def latest_step(self) -> int | None:
        """The highest step with a checkpoint, or None when there is none."""
        return max(self._metrics, default=None)

    def metrics(self, step: int) -> dict[str, float]:
        """The metrics saved with the checkpoint of ``step``."""
        return dict(self._metrics[self._existing(step, "metrics")])

    def _ranked(self) -> list[int]:
        """Steps that have ``best_metric``, best first (NaN last, ties to the earlier)."""
        if self.best_metric is None:
            return []
        sign = 1.0 if self.mode == "min" else -1.0
        scored = [
            (s, m[self.best_metric]) for s, m in self._metrics.items() if self.best_metric in m
        ]
        return [
            s for s, v in sorted(scored, key=lambda sv: (math.isnan(sv[1]), sign * sv[1], sv[0]))
        ]

    def best_step(self) -> int | None:
        """The step whose checkpoint has the best ``best_metric``, or None.

        Raises:
            ValueError: the manager has no ``best_metric``.
        """
        if self.best_metric is None:
            raise ValueError("best_step: this CheckpointManager was made without best_metric")
        ranked = [s for s in self._ranked() if not math.isnan(self._metrics[s][self.best_metric])]
        return ranked[0] if ranked else None

    def should_save(self, step: int) -> bool:
        """Whether `save` at ``step`` writes a checkpoint (``step % save_every == 0``)."""
        return operator.index(step) % self.save_every == 0

    def save(
        self, step: int, tree: Any, *, metrics: dict[str, Any] | None = None, force: bool = False
    ) -> bool:
        """Saves ``tree`` as the checkpoint of ``step`` if `should_save` (or ``force``).

        A checkpoint already there for ``step`` is replaced. Then old checkpoints are
        deleted as the class describes.

        Args:
            step: the training step, an int >= 0.
            tree: the pytree to save (see `funcgrad.io.save`).
            metrics: numbers to keep with the checkpoint (Python or NumPy scalars, 0-d
                arrays); must include ``best_metric`` when the manager has one.
            force: save even when ``step`` is not a multiple of ``save_every``.

        Returns:
            Whether a checkpoint was written.
        """
        step = operator.index(step)
        if step < 0:
            raise ValueError(f"CheckpointManager.save: step must be >= 0, got {step}")
        if not force and not self.should_save(step):
            return False
        metrics = {str(k): float(v) for k, v in (metrics or {}).items()}
        if self.best_metric is not None and self.best_metric not in metrics:
            raise ValueError(
                f"CheckpointManager.save: best_metric {self.best_metric!r} is missing from "
                f"metrics (got {sorted(metrics)}); pass metrics={{{self.best_metric!r}: "
                "value}"
            )
        extra = {METRICS_KEY: json.dumps({k: _metric_to_json(v) for k, v in metrics.items()})}
        write_checkpoint(self.checkpoint_path(step), tree, extra, fname="CheckpointManager.save")
        self._metrics[step] = metrics
        self._prune()
        return True

    def _prune(self) -> None:
        if self.max_to_keep is None:
            return
        keep = set(self.all_steps()[-self.max_to_keep :]) | set(self._ranked()[: self.keep_best])
        doomed = [s for s in self._metrics if s not in keep]
        for step in doomed:
            try:
                os.unlink(self.checkpoint_path(step))
            except FileNotFoundError:
                pass
            del self._metrics[step]
        if doomed:
            fsync_directory(self.directory)

    def _existing(self, step: int | None, fname: str) -> int:
        if step is None:
            step = self.latest_step()
            if step is None:
                raise FileNotFoundError(
                    2,
                    f"{fname}: there are no checkpoints in {self.directory!r} (files "
                    f"{self.prefix}_<step>{_SUFFIX})",
                    self.directory,
                )
            return step
        step = operator.index(step)
        if step not in self._metrics:
            raise FileNotFoundError(
                2,
                f"{fname}: there is no checkpoint for step {step} in {self.directory!r}; "
                f"steps with checkpoints: {self.all_steps()}",
                self.checkpoint_path(step),
            )
        return step

    def restore(
        self, step: int | None = None, *, like: Any = None, backend: str | None = None
    ) -> Any:
        """Loads the checkpoint of ``step`` (default: the latest); see `funcgrad.io.load`.

        Raises:
            FileNotFoundError: there is no checkpoint (for that step).
            CheckpointError: the file is damaged or does not match ``like``.
        """
        step = self._existing(step, "CheckpointManager.restore")
        return load(self.checkpoint_path(step), like=like, backend=backend)
