"""Training tools against oracles: metrics vs scikit-learn, event files read back, the monitor's
rules, progress bars and plots."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as fnp
from stax import logger, metrics, monitor, plots, progress

# --------------------------------------------------------------------------- metrics


@st.composite
def _classification(draw):
    k = draw(st.integers(2, 6))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    scores = rng.standard_normal((n, k))
    return k, labels, scores


@given(_classification())
def test_metrics_equal_scikit_learns(case):
    from sklearn import metrics as sk

    k, labels, scores = case
    predicted = scores.argmax(1)
    y, s = fnp.asarray(labels), fnp.asarray(scores)
    np.testing.assert_allclose(metrics.accuracy(s, y), sk.accuracy_score(labels, predicted))
    np.testing.assert_allclose(
        metrics.accuracy(fnp.asarray(predicted), y), sk.accuracy_score(labels, predicted)
    )
    for top in range(1, k + 1):
        # the definition: the label's score has fewer than `top` scores strictly above it
        above = (scores > scores[np.arange(len(labels)), labels][:, None]).sum(1)
        np.testing.assert_allclose(metrics.top_k_accuracy(s, y, top), np.mean(above < top))
        if k > 2 and top < k:  # scikit-learn takes 1-d scores for two classes
            expected = sk.top_k_accuracy_score(labels, scores, k=top, labels=np.arange(k))
            np.testing.assert_allclose(metrics.top_k_accuracy(s, y, top), expected)
    np.testing.assert_array_equal(
        metrics.confusion_matrix(y, s, k),
        sk.confusion_matrix(labels, predicted, labels=np.arange(k)),
    )
    for average in (None, "macro", "weighted", "micro"):
        ours = metrics.precision_recall_f1(y, s, k, average=average)
        p, r, f, support = sk.precision_recall_fscore_support(
            labels, predicted, labels=np.arange(k), average=average, zero_division=0
        )
        np.testing.assert_allclose(ours.precision, p, atol=1e-12)
        np.testing.assert_allclose(ours.recall, r, atol=1e-12)
        np.testing.assert_allclose(ours.f1, f, atol=1e-12)
        if average is None:
            np.testing.assert_array_equal(ours.support, support)


def test_metrics_under_jit_and_vmap():
    rng = np.random.default_rng(0)
    scores = fnp.asarray(rng.standard_normal((3, 20, 4)))
    labels = fnp.asarray(rng.integers(0, 4, (3, 20)))
    eager = [metrics.precision_recall_f1(labels[i], scores[i], 4).f1 for i in range(3)]
    jitted = funcgrad.jit(lambda s, y: metrics.precision_recall_f1(y, s, 4).f1)
    batched = funcgrad.vmap(lambda s, y: metrics.confusion_matrix(y, s, 4))(scores, labels)
    for i in range(3):
        np.testing.assert_allclose(jitted(scores[i], labels[i]), eager[i])
        np.testing.assert_array_equal(batched[i], metrics.confusion_matrix(labels[i], scores[i], 4))
    np.testing.assert_allclose(
        funcgrad.jit(metrics.top_k_accuracy, static_argnums=2)(scores[0], labels[0], 2),
        metrics.top_k_accuracy(scores[0], labels[0], 2),
    )


def test_metric_errors_name_the_function():
    with pytest.raises(TypeError, match="accuracy.*integer"):
        metrics.accuracy(fnp.zeros((2, 3)), fnp.zeros(2))
    with pytest.raises(ValueError, match="top_k_accuracy.*k must"):
        metrics.top_k_accuracy(fnp.zeros((2, 3)), fnp.zeros(2, dtype=int), 4)
    with pytest.raises(ValueError, match="confusion_matrix.*shape"):
        metrics.confusion_matrix(fnp.zeros(3, dtype=int), fnp.zeros((2, 3)), 3)


# --------------------------------------------------------------------------- monitor


def _keras_early_stopping(values, patience, min_delta, mode):
    """The rule written as a plain loop: the index at which training stops, or None."""
    best, wait = (np.inf if mode == "min" else -np.inf), 0
    for i, v in enumerate(values):
        better = v < best - min_delta if mode == "min" else v > best + min_delta
        if better:
            best, wait = v, 0
        else:
            wait += 1
        if wait >= patience:
            return i, best
    return None, best


@given(
    values=st.lists(st.floats(0, 10), min_size=1, max_size=30),
    patience=st.integers(1, 5),
    min_delta=st.sampled_from([0.0, 0.1]),
    mode=st.sampled_from(["min", "max"]),
)
def test_early_stopping_follows_the_rule(values, patience, min_delta, mode):
    stopper = monitor.early_stopping(patience=patience, min_delta=min_delta, mode=mode)
    state = stopper.init()
    stopped = None
    for i, v in enumerate(values):
        state = stopper.update(state, v, i)
        if bool(state.should_stop):
            stopped = i
            break
    expected, best = _keras_early_stopping(values, patience, min_delta, mode)
    assert stopped == expected
    assert float(state.best) == best


def test_early_stopping_state_under_jit_and_nan_never_improves():
    stopper = monitor.early_stopping(patience=2)
    update = funcgrad.jit(stopper.update)
    state = stopper.init()
    for i, v in enumerate([1.0, float("nan"), float("nan")]):
        state = update(state, v, i)
    assert bool(state.should_stop) and float(state.best) == 1.0 and int(state.best_step) == 0


def test_finite_checks():
    tree = {"w": fnp.ones(3), "n": fnp.arange(3)}
    assert bool(monitor.all_finite(tree))
    bad = {"w": fnp.asarray([1.0, np.nan, np.inf])}
    assert not bool(monitor.all_finite(bad))
    assert not bool(funcgrad.jit(monitor.all_finite)(bad))
    with pytest.raises(
        FloatingPointError, match=r"loss not finite at step 4: \['w'\] holds 1 NaN and 1"
    ):
        monitor.check_finite(bad, step=4)


# --------------------------------------------------------------------------- logger


def _read_event_records(logdir):
    """Every Summary value in the event files (TFRecord framing: length, its CRC, the
    Event protobuf, its CRC), decoded with tensorboardX's own protobuf classes."""
    from tensorboardX.proto import event_pb2

    records = []
    for path in sorted(logdir.rglob("events.out.tfevents.*")):
        data = path.read_bytes()
        offset = 0
        while offset < len(data):
            (length,) = np.frombuffer(data[offset : offset + 8], dtype="<u8")
            start = offset + 12
            event = event_pb2.Event()
            event.ParseFromString(data[start : start + int(length)])
            for value in event.summary.value:
                records.append((event.step, value))
            offset = start + int(length) + 4
    return records


def test_logger_writes_event_files_csv_and_jsonl(tmp_path):
    with logger.Logger(tmp_path) as log:
        for step in range(3):
            log.scalar("loss", fnp.asarray(1.0 / (step + 1)), step)
        log.scalars({"accuracy": 0.75}, step=2)
        log.histogram("params", {"w": fnp.arange(6.0), "b": fnp.zeros(2)}, step=2)
        log.image("batch", np.random.default_rng(0).uniform(0, 1, (5, 4, 4, 3)), step=2)
        log.text("note", "hello", step=1)
        step_fn = funcgrad.jit(lambda x: fnp.sin(x) * 2)
        text = log.program("step", step_fn, fnp.ones(3))
        log.hparams({"lr": 1e-3, "optimizer": "adam"}, {"accuracy": 0.75})
    assert "sin" in text
    records = _read_event_records(tmp_path)
    scalars = [(s, v.tag, v.simple_value) for s, v in records if v.HasField("simple_value")]
    assert ("loss" in {t for _, t, _ in scalars}) and (2, "accuracy", 0.75) in scalars
    losses = sorted((s, val) for s, t, val in scalars if t == "loss")
    np.testing.assert_allclose([v for _, v in losses], [1.0, 0.5, 1 / 3], rtol=1e-6)
    histograms = {v.tag: v.histo for _, v in records if v.HasField("histo")}
    assert histograms["params/w"].num == 6 and histograms["params/w"].sum == 15.0
    images = [v.image for _, v in records if v.HasField("image")]
    assert images and images[0].height == 2 + (4 + 2) and images[0].width == 2 + 5 * (4 + 2)
    texts = [v.tag for _, v in records if v.tensor.string_val]
    assert any("note" in t for t in texts) and any("step" in t for t in texts)

    rows = list(csv.DictReader(io.StringIO((tmp_path / "scalars.csv").read_text())))
    assert [(int(r["step"]), r["tag"], float(r["value"])) for r in rows][:2] == [
        (0, "loss", 1.0),
        (1, "loss", 0.5),
    ]
    lines = [json.loads(line) for line in (tmp_path / "scalars.jsonl").read_text().splitlines()]
    assert lines[-1]["tag"] == "accuracy" and lines[-1]["value"] == 0.75
    assert json.loads((tmp_path / "hparams.json").read_text())["hparams"]["optimizer"] == "adam"


def test_logger_scalars_are_batched_and_all_reach_the_event_file(tmp_path):
    """Scalars reach the event file at flush/close, and every _ScalarEvents.SECONDS, with
    the tags tensorboardX would write (cleaned of characters TensorBoard rejects)."""
    batch = logger._ScalarEvents.BATCH
    log = logger.Logger(tmp_path, csv=False, jsonl=False)
    for step in range(batch + 10):
        log.scalar("train loss", float(step), step)
    log._scalar_events.SECONDS = 0.0  # the next scalar finds the flush due
    log.scalar("train loss", float(batch + 10), batch + 10)
    written = [(s, v.tag, v.simple_value) for s, v in _read_event_records(tmp_path)]
    assert written == [(s, "train_loss", float(s)) for s in range(batch + 11)]
    log._scalar_events.SECONDS = math.inf
    for step in range(batch + 11, batch + 20):
        log.scalar("train loss", float(step), step)
    log.flush()
    written = [(s, v.simple_value) for s, v in _read_event_records(tmp_path)]
    assert written == [(s, float(s)) for s in range(batch + 20)]
    log.scalar("nan", float("nan"), 0)
    log.close()
    assert math.isnan(_read_event_records(tmp_path)[-1][1].simple_value)


def test_logger_csv_and_jsonl_lines_parse_back_with_awkward_tags_and_values(tmp_path):
    tags = ["plain", "a,b", 'say "hi"', "line\nbreak", "ünï"]
    values = [0.1, -0.0, 1e300, float("inf"), float("nan")]
    with logger.Logger(tmp_path, tensorboard=False) as log:
        for step, (tag, value) in enumerate(zip(tags, values)):
            log.scalar(tag, value, step)
    with open(tmp_path / "scalars.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lines = [json.loads(line) for line in (tmp_path / "scalars.jsonl").read_text().splitlines()]
    for step, (tag, value) in enumerate(zip(tags, values)):
        for got in (float(rows[step]["value"]), lines[step]["value"]):
            assert (math.isnan(got) and math.isnan(value)) or got == value
        assert rows[step]["tag"] == lines[step]["tag"] == tag
        assert int(rows[step]["step"]) == lines[step]["step"] == step
    assert math.copysign(1.0, float(rows[1]["value"])) == -1.0


def test_logger_without_tensorboard_and_errors(tmp_path):
    log = logger.Logger(tmp_path, tensorboard=False, jsonl=False)
    log.scalar("x", 1, 0)
    with pytest.raises(RuntimeError, match="histogram.*tensorboard=False"):
        log.histogram("h", np.zeros(3), 0)
    with pytest.raises(ValueError, match="one number"):
        log.scalar("x", np.zeros(3), 0)
    log.close()
    log.close()
    assert not (tmp_path / "scalars.jsonl").exists()
    assert not list(tmp_path.glob("events.out.*"))


def test_make_grid_layout():
    images = np.arange(3 * 2 * 2 * 1, dtype=float).reshape(3, 2, 2, 1) + 1
    grid = logger.make_grid(images, nrow=2, padding=1, pad_value=-1)
    assert grid.shape == (1 + 2 * 3, 1 + 2 * 3, 1)
    np.testing.assert_array_equal(grid[1:3, 1:3], images[0])
    np.testing.assert_array_equal(grid[1:3, 4:6], images[1])
    np.testing.assert_array_equal(grid[4:6, 1:3], images[2])
    assert (grid[4:6, 4:6] == -1).all() and (grid[0] == -1).all()


# --------------------------------------------------------------------------- progress and plots


def test_progress_shows_metrics_and_is_quiet_on_request():
    out = io.StringIO()
    bar = progress.progress(range(4), desc="epoch", quiet=False, file=out, mininterval=0)
    for i in bar:
        bar.set_postfix(progress.format_metrics({"loss": 1 / (i + 1), "acc": fnp.asarray(0.5)}))
    bar.close()
    text = out.getvalue()
    assert "epoch" in text and "loss=0.25" in text and "4/4" in text
    quiet = io.StringIO()
    for _ in progress.progress(range(3), quiet=True, file=quiet):
        pass
    assert quiet.getvalue() == ""
    # not a terminal (a StringIO standard error under pytest): quiet by default
    assert progress.progress(range(2)).disable


def test_progress_postfix_is_formatted_when_drawn_not_when_set():
    class Counted:
        formatted = 0

        def __str__(self):
            Counted.formatted += 1
            return "counted"

    out = io.StringIO()
    bar = progress.progress(total=100, quiet=False, file=out, mininterval=1e9)
    value = Counted()
    for i in range(50):  # no draw between (mininterval): no formatting either
        bar.update()
        bar.set_postfix({"loss": fnp.asarray(1.0 / (i + 1))}, note=value, phase="warm-up")
    assert Counted.formatted == 0
    bar.refresh()
    assert Counted.formatted == 1
    assert out.getvalue().rstrip().endswith("loss=0.02, note=counted, phase=warm-up]")
    bar.set_postfix(step=fnp.asarray(7), refresh=True)  # drawn at once on request
    assert out.getvalue().rstrip().endswith("step=7]")
    bar.close()


def test_plots_write_pngs(tmp_path):
    from PIL import Image

    curves = plots.plot_curves(
        {"train loss": [1, 0.5, 0.3], "train accuracy": [0.3, 0.6, 0.9]}, tmp_path / "c.png"
    )
    matrix = plots.plot_confusion_matrix(
        np.eye(3) * 5, tmp_path / "m.png", class_names=["a", "b", "c"], normalize=True
    )
    for path in (curves, matrix):
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size[0] > 100
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)), tmp_path / "x.png")


# --------------------------------------------------------------------------- timing


def test_benchmark_waits_for_the_outputs(monkeypatch):
    """An asynchronous backend is simulated by a synchronize that takes 5 ms: the timed
    runs must include it, once per run."""
    import time

    from stax import timing

    x = fnp.ones(4)
    backend = type(x._backend)
    calls = []

    def slow_synchronize(self, buf):
        calls.append(buf.shape)
        time.sleep(0.005)

    monkeypatch.setattr(backend, "synchronize", slow_synchronize)
    result = timing.benchmark(lambda v: {"a": v * 2, "b": [v + 1]}, x, warmup=2, runs=6)
    assert result.runs == 6 and len(calls) == 2 * (2 + 6)
    assert result.min >= 0.009  # two outputs, each waited for
    assert result.min <= result.median <= result.max and result.stdev >= 0
    assert "median" in str(result)
    auto = timing.benchmark(lambda v: v, x, warmup=0, min_time=0.05)
    assert 5 <= auto.runs <= 1000
