"""Each example end to end with a tiny budget: it learns and writes the files it promises."""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np

from funcgrad import io

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_main_job_learns_logs_checkpoints_and_resumes_exactly(tmp_path):
    main_job = _example("digits_mlp")
    out = tmp_path / "run"
    result = main_job.main(["--epochs", "3", "--out", str(out), "--quiet"])
    history = result["history"]
    assert history["train loss"][-1] < history["train loss"][0]
    assert history["test accuracy"][-1] > 0.5  # chance is 0.1
    assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert list((out / "logs").glob("events.out.tfevents.*"))
    assert "test/accuracy" in (out / "logs" / "scalars.csv").read_text()
    checkpoints = sorted((out / "checkpoints").glob("*.safetensors"))
    assert len(checkpoints) == 3

    # An interrupted run (only the first epoch's checkpoint survives) resumes to the
    # same bits as the uninterrupted one.
    resumed = tmp_path / "resumed"
    (resumed / "checkpoints").mkdir(parents=True)
    (resumed / "checkpoints" / checkpoints[0].name).write_bytes(checkpoints[0].read_bytes())
    again = main_job.main(["--epochs", "3", "--out", str(resumed), "--quiet", "--resume"])
    assert again["history"] == history
    for a, b in zip(
        io.load(checkpoints[-1])["run"]["params"],
        io.load(resumed / "checkpoints" / checkpoints[-1].name)["run"]["params"],
    ):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_digits_cnn_learns_with_augmentation_and_plateau_schedule():
    result = _example("digits_cnn").main(["--epochs", "2"])
    assert result["test_accuracy"] > 0.5
    assert result["lr_scale"] in (1.0, 0.1)


def test_finetune_freezes_the_body_then_trains_it():
    results = _example("finetune").main(["--epochs", "2"])
    assert results["pretrained on 0-4"] > 0.6
    assert results["head trained, body frozen"] > results["new head, before training"]
    assert results["all trained, body lr / 10"] > 0.5


def test_himmelblau_finds_all_four_minima():
    module = _example("himmelblau")
    found = module.main(["--steps", "1500"])
    for point, minimum in zip(found, module.MINIMA):
        np.testing.assert_allclose(point, minimum, atol=1e-4)


def test_kfold_reports_one_accuracy_per_fold():
    scores = _example("kfold").main(["--folds", "3", "--epochs", "2"])
    assert scores.shape == (3,) and np.all(scores > 0.5)


def test_grad_cam_trains_the_cnn_and_saves_a_grid_of_heat_maps(tmp_path):
    out = tmp_path / "cams" / "grid.png"
    result = _example("grad_cam").main(["--epochs", "2", "--num", "10", "--out", str(out)])
    assert result["train_loss"][-1] < result["train_loss"][0]
    assert result["test_accuracy"] > 0.5  # chance is 0.1
    cams = result["cams"]
    # one 8x8 map per digit (the 4x4 feature map upsampled), each normalised to [0, 1]
    assert cams.shape == (10, 8, 8)
    assert np.all((cams >= 0) & (cams <= 1))
    np.testing.assert_allclose(cams.max(axis=(1, 2)), 1.0, rtol=1e-5)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_sequence_lstm_learns_adding_and_ctc_decodes_alignments(tmp_path):
    result = _example("sequence").main(
        ["--steps", "200", "--length", "10", "--ctc-steps", "60", "--eval-every", "20",
         "--out", str(tmp_path)]
    )  # fmt: skip
    adding, ctc = result["adding"], result["ctc"]
    # always answering 1.0 (the targets' mean) scores about 1/6; the LSTM does much better
    assert adding["test_mse"] < 0.5 * adding["baseline_mse"]
    assert adding["adding test mse"][-1] < adding["adding test mse"][0]
    assert ctc["ctc train loss"][-1] < 0.25 * ctc["ctc train loss"][0]
    assert ctc["test_accuracy"] > 0.8  # exact matches of sequences of 1-4 labels out of 4
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
