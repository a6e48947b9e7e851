"""The experiment runner and the notebook that reads its results (executed, so it cannot rot)."""

import json
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from onlinezip import experiment

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    exp = experiment.load_experiment(REPO / "configs" / "experiments" / "smoke.toml")
    out = tmp_path_factory.mktemp("smoke")
    experiment.run(exp, out, log=lambda _: None)
    return exp, out


def test_runner_records_every_term(smoke):
    exp, out = smoke
    summary = json.loads((out / "summary.json").read_text())
    bits = np.load(out / "bits.npz")
    assert summary["corpus_bytes"] == exp.max_bytes
    for preset in exp.presets:
        rep = summary["sizes"][preset]
        assert len(bits[f"sizes/{preset}"]) == exp.max_bytes
        assert rep["nll_bits"] == pytest.approx(float(bits[f"sizes/{preset}"].sum()), rel=1e-5)
        assert rep["weights_bytes_float32"] == 4 * rep["num_parameters"]
        assert 0 < rep["frozen_nll_bits"]
    joint = summary["joint"]
    assert (
        joint["separate_total_bytes"] - joint["joint"]["container_bytes"]
        == (joint["joint_saves_bytes"])
    )
    assert set(summary["classical_bytes"]) == {"gzip -9", "bzip2 -9", "xz -9e"}


def test_notebook_executes_on_the_smoke_results(smoke, monkeypatch):
    _, out = smoke
    monkeypatch.setenv("ONLINEZIP_RESULTS", str(out))
    monkeypatch.setenv("ONLINEZIP_CORPUS", str(REPO / "samples" / "alice-excerpt.txt"))
    path = REPO / "notebooks" / "rae_mdl.ipynb"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    ]
    assert len(images) == 6
