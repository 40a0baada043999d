"""The README's Python examples run as written (the quick start and the tour)."""

from __future__ import annotations

import pathlib

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _python_block(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    return section.split("```python", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("heading", ["## Quickstart", "## A tour"])
def test_readme_example_runs(heading, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(_python_block(heading), f"README {heading}", "exec"), namespace)
    if heading == "## A tour":
        assert float(capsys.readouterr().out.strip().splitlines()[-1]) > 0.9
        assert (tmp_path / "model.safetensors").exists()


def test_readme_gradient_test_runs_and_passes():
    namespace: dict = {}
    block = _python_block("## Testing your gradients")
    exec(compile(block, "README testing section", "exec"), namespace)
    namespace["test_loss_gradients"]()
