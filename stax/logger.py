"""Logging a training run: TensorBoard event files (tensorboardX) and plain CSV/JSON-lines.

:class:`Logger` is called from the user's loop. Every scalar goes to each sink that is
switched on: TensorBoard (through tensorboardX, an optional extra), a ``scalars.csv``
and a ``scalars.jsonl`` file that any tool can read. Histograms, images, text,
hyperparameters and the jitted step's program go to TensorBoard (the program and the
hyperparameters also to ``text.jsonl`` / ``hparams.json``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import pathlib
import time
from typing import Any

import numpy as np

from funcgrad.tree_util import tree_flatten_with_path

__all__ = ["Logger", "make_grid"]


def make_grid(
    images: Any, *, nrow: int = 8, padding: int = 2, pad_value: float = 0.0
) -> np.ndarray:
    """Tile a batch of channels-last images ``(n, h, w, c)`` into one image (torchvision's layout).

    Images fill rows of ``nrow`` left to right, each cell surrounded by ``padding``
    pixels of ``pad_value``; single images pass through. Feature maps ``(h, w, c)`` with
    many channels can be shown as a grid of ``c`` grey images with
    ``make_grid(fmap.transpose(2, 0, 1)[..., None])``.

    Examples:
        >>> make_grid(np.zeros((5, 4, 4, 3)), nrow=3, padding=1).shape
        (11, 16, 3)
    """
    images = np.asarray(images)
    if images.ndim == 3:
        return images
    if images.ndim != 4:
        raise ValueError(
            f"stax.logger.make_grid: expected (n, h, w, c) images, got shape {images.shape}"
        )
    n, h, w, c = images.shape
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, c), pad_value, images.dtype
    )
    for i in range(n):
        r, q = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[top : top + h, left : left + w] = images[i]
    return grid


def _scalar(value: Any, tag: str) -> float:
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(
            f"stax.logger.Logger.scalar: {tag!r} must be one number, got shape {array.shape}"
        )
    return float(array.reshape(()))


class Logger:
    """Write scalars, histograms, images, text and hyperparameters of a run to ``logdir``.

    Args:
        logdir: the run's folder (created if missing). TensorBoard reads it with
            ``tensorboard --logdir <parent>``.
        tensorboard: write TensorBoard event files (needs tensorboardX:
            ``pip install "funcgrad[tensorboard]"``).
        csv: append every scalar to ``logdir/scalars.csv`` (step, tag, value, wall_time).
        jsonl: append every scalar to ``logdir/scalars.jsonl``, one JSON object a line.

    Examples:
        >>> import tempfile
        >>> with Logger(tempfile.mkdtemp(), tensorboard=False) as log:
        ...     log.scalar("loss", 0.25, step=1)
        ...     log.scalars({"accuracy": 0.9, "lr": 1e-3}, step=1)
        >>> open(log.logdir / "scalars.csv").read().splitlines()[1].split(",")[:3]
        ['1', 'loss', '0.25']
    """

    def __init__(
        self, logdir: Any, *, tensorboard: bool = True, csv: bool = True, jsonl: bool = True
    ):
        self.logdir = pathlib.Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._writer = None
        self._scalar_events: _ScalarEvents | None = None
        if tensorboard:
            try:
                from tensorboardX import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    "stax.logger.Logger writes TensorBoard files with tensorboardX, which is not "
                    'installed: pip install "funcgrad[tensorboard]" (or pass tensorboard=False)'
                ) from error
            # tensorboardX hands each event to its writer thread through a bounded queue;
            # a deeper one blocks the training loop less often.
            self._writer = SummaryWriter(logdir=str(self.logdir), max_queue=100)
            self._scalar_events = _ScalarEvents(self.logdir)
        self._csv_file = None
        self._quoted: dict[str, tuple[str, str]] = {}  # tag -> (CSV field, JSON string)
        if csv:
            path = self.logdir / "scalars.csv"
            fresh = not path.exists() or path.stat().st_size == 0
            self._csv_file = open(path, "a", newline="")  # noqa: SIM115  (closed in close())
            if fresh:
                self._csv_file.write("step,tag,value,wall_time\r\n")
        self._jsonl = open(self.logdir / "scalars.jsonl", "a") if jsonl else None  # noqa: SIM115

    # -- scalars -------------------------------------------------------------------

    def scalar(self, tag: str, value: Any, step: int) -> None:
        """Log one number (a Python or 0-d/1-element array value) at ``step``."""
        number = _scalar(value, tag)
        now = time.time()
        step = int(step)
        if self._scalar_events is not None:
            self._scalar_events.add(tag, number, step, now)
        # lines formatted directly (csv.writer and json.dumps cost a few microseconds a
        # call, a visible share of a sub-millisecond step); each tag is quoted once
        quoted = self._quoted.get(tag)
        if quoted is None:
            quoted = self._quoted[tag] = (_csv_field(tag), json.dumps(tag))
        if self._csv_file is not None:
            self._csv_file.write(f"{step},{quoted[0]},{number!r},{now!r}\r\n")
        if self._jsonl is not None:
            value = repr(number) if math.isfinite(number) else json.dumps(number)
            self._jsonl.write(
                f'{{"step": {step}, "tag": {quoted[1]}, "value": {value}, "wall_time": {now!r}}}\n'
            )

    def scalars(self, values: dict[str, Any], step: int) -> None:
        """Log several numbers at ``step``, each under its own tag."""
        for tag, value in values.items():
            self.scalar(tag, value, step)

    # -- TensorBoard-only records --------------------------------------------------

    def _tensorboard(self, what: str):
        if self._writer is None:
            raise RuntimeError(
                f"stax.logger.Logger.{what}: TensorBoard is off for this logger (tensorboard=False)"
            )
        return self._writer

    def histogram(self, tag: str, values: Any, step: int) -> None:
        """A histogram of every value of an array, or of each leaf of a pytree under
        ``tag/<path>`` (e.g. ``grads/0/w`` for ``grads[0]["w"]``)."""
        writer = self._tensorboard("histogram")
        for path, leaf in tree_flatten_with_path(values)[0]:
            name = "/".join([tag, *(_key_name(k) for k in path)])
            writer.add_histogram(
                name, np.asarray(leaf, dtype=np.float64).ravel(), global_step=int(step)
            )

    def image(self, tag: str, image: Any, step: int) -> None:
        """One channels-last image ``(h, w, c)`` (floats in [0, 1] or uint8), or a batch
        ``(n, h, w, c)`` shown as a :func:`make_grid`."""
        image = make_grid(np.asarray(image))
        if image.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"stax.logger.Logger.image: {tag!r} needs 1, 3 or 4 channels, got shape {image.shape}"
            )
        self._tensorboard("image").add_image(tag, image, global_step=int(step), dataformats="HWC")

    def text(self, tag: str, text: str, step: int = 0) -> None:
        """A piece of text (shown in TensorBoard's text tab; also appended to ``text.jsonl``)."""
        with open(self.logdir / "text.jsonl", "a") as f:
            f.write(json.dumps({"step": int(step), "tag": tag, "text": text}) + "\n")
        if self._writer is not None:
            self._writer.add_text(tag, text, global_step=int(step))

    def program(self, tag: str, jitted: Any, *args: Any, **kwargs: Any) -> str:
        """Log the generated program of a ``funcgrad.jit`` function for these arguments as text.

        Returns the text (``jitted.lower(*args, **kwargs).as_text()``).
        """
        text = jitted.lower(*args, **kwargs).as_text()
        self.text(tag, "```\n" + text + "\n```")
        return text

    def hparams(self, hparams: dict[str, Any], metrics: dict[str, float]) -> None:
        """Record the run's hyperparameters with its final metrics (TensorBoard's HParams tab;
        also ``hparams.json``)."""
        clean = {
            k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in hparams.items()
        }
        values = {k: _scalar(v, k) for k, v in metrics.items()}
        (self.logdir / "hparams.json").write_text(
            json.dumps({"hparams": clean, "metrics": values}, indent=1)
        )
        if self._writer is not None:
            # tensorboardX writes hparams through a second writer: a sub-folder keeps its
            # event file apart from the main one (the same folder could share a file name).
            self._writer.add_hparams(clean, values, name="hparams")

    # -- lifetime ------------------------------------------------------------------

    def flush(self) -> None:
        """Push everything written so far to disk."""
        if self._scalar_events is not None:
            self._scalar_events.flush()
        if self._writer is not None:
            self._writer.flush()
        for f in (self._csv_file, self._jsonl):
            if f is not None:
                f.flush()

    def close(self) -> None:
        """Flush and close every sink (idempotent)."""
        if self._scalar_events is not None:
            self._scalar_events.close()
            self._scalar_events = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for name in ("_csv_file", "_jsonl"):
            f = getattr(self, name)
            if f is not None:
                f.close()
                setattr(self, name, None)

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _ScalarEvents:
    """TensorBoard scalar events of one run, in an event file of their own, written in
    batches with tensorboardX's record writer.

    ``SummaryWriter.add_scalar`` costs ~100 us an event (a ``multiprocessing.Queue`` to
    its writer thread: a pickle, a pipe and a semaphore per event), a sixth of a jitted
    MLP step; here an event is a tuple appended to a list, and every :data:`BATCH`
    events they become tensorboardX's ``Event`` records in the file's buffer (~8 us an
    event with the ``crc32c`` package, in the loop's thread). The file is flushed to
    disk (tensorboardX flushes with an ``fsync``, ~5 ms) every :data:`SECONDS` seconds
    and at ``flush``/``close``: a crash loses at most those seconds, as tensorboardX's
    own two-minute flush would. Tags are cleaned once each as tensorboardX cleans them
    (its ``summary.scalar``).
    """

    BATCH = 256
    SECONDS = 10.0

    def __init__(self, logdir: pathlib.Path):
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto import event_pb2, summary_pb2

        self._event, self._summary = event_pb2.Event, summary_pb2.Summary
        # (its own suffix: a file name is the second and host, which the SummaryWriter's
        # file, made in the same second, shares)
        self._file = EventsWriter(str(logdir / "events"), ".scalars")
        self._pending: list[tuple] = []
        self._tags: dict[str, str] = {}
        self._flushed_at = time.monotonic()

    def add(self, tag: str, value: float, step: int, wall_time: float) -> None:
        self._pending.append((tag, value, step, wall_time))
        if time.monotonic() - self._flushed_at > self.SECONDS:
            self.flush()
        elif len(self._pending) >= self.BATCH:
            self._write()

    def _clean(self, tag: str) -> str:
        clean = self._tags.get(tag)
        if clean is None:
            from tensorboardX.summary import scalar

            clean = self._tags[tag] = scalar(tag, 0.0).value[0].tag
        return clean

    def _write(self) -> None:
        pending, self._pending = self._pending, []
        value, summary, event = self._summary.Value, self._summary, self._event
        for tag, number, step, wall_time in pending:
            self._file.write_event(event(wall_time=wall_time, step=step, summary=summary(
                value=[value(tag=self._clean(tag), simple_value=number)])))  # fmt: skip

    def flush(self) -> None:
        self._write()
        self._file.flush()
        self._flushed_at = time.monotonic()

    def close(self) -> None:
        self.flush()
        self._file.close()


def _csv_field(text: str) -> str:
    """``text`` as the csv module writes a field (quoted where it must be)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([text])
    return buffer.getvalue().rstrip("\r\n")


def _key_name(key: Any) -> str:
    """One step of a pytree key path as a plain name (a dict key, index or attribute)."""
    for attribute in ("key", "idx", "name"):
        if hasattr(key, attribute):
            return str(getattr(key, attribute))
    return str(key)
