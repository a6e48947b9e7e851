"""The experiment runner, the corpora it reads, and the notebook that reads its results
(executed, so it cannot rot)."""

import hashlib
import json
import lzma
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from onlinezip import api, experiment
from onlinezip.config import config_from_dict
from onlinezip.errors import OnlinezipError

REPO = Path(__file__).resolve().parents[1]
EXPERIMENTS = REPO / "configs" / "experiments"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    exp = experiment.load_experiment(EXPERIMENTS / "smoke.toml")
    out = tmp_path_factory.mktemp("smoke")
    experiment.run(exp, out, log=lambda _: None, progress=False)
    summary = json.loads((out / "summary.json").read_text())
    return exp, out, summary, dict(np.load(out / "bits.npz"))


def test_corpora_match_their_checksums():
    sums = (REPO / "corpora" / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 3
    for line in sums:
        digest, name = line.split("  ")
        text = lzma.decompress((REPO / "corpora" / f"{name}.xz").read_bytes())
        assert hashlib.sha256(text).hexdigest() == digest
    assert len(experiment.read_text(REPO / "corpora" / "bible.txt.xz")) >= 4_000_000


def test_a_corpus_that_does_not_match_its_checksum_is_refused(tmp_path):
    shutil.copy(REPO / "corpora" / "alice29.txt.xz", tmp_path)
    (tmp_path / "SHA256SUMS").write_text("0" * 64 + "  alice29.txt\n")
    with pytest.raises(OnlinezipError, match="SHA-256"):
        experiment.read_text(tmp_path / "alice29.txt.xz")


def test_every_experiment_config_loads():
    for path in EXPERIMENTS.glob("*.toml"):
        exp = experiment.load_experiment(path)
        assert exp.corpus.is_file(), path
        assert all(p.is_file() for p in exp.joint_texts), path


@pytest.mark.parametrize(
    "body, message",
    [
        ('corpus = "x"\n[models.a]\npreset = "tiny"\nrun = { streams = "one" }', "run.streams"),
        ('corpus = "x"\n[models.a]\npreset = "tiny"\nmodel = { widht = 3 }', "widht"),
        ('corpus = "x"\n[models.a]\npreset = "nope"', "unknown preset"),
        ('corpus = "x"\n[models.a]\npreset = "tiny"\nspeed = 3', "speed"),
        ('corpus = "x"\nverify = "yes"\n[models.a]\npreset = "tiny"', "verify"),
        ('corpus = "x"', "no models"),
        ('[models.a]\npreset = "tiny"', "no corpus"),
    ],
)
def test_bad_experiment_configs_are_refused_by_name(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(OnlinezipError, match=message):
        experiment.load_experiment(path)


def test_model_overrides_are_typed_and_applied():
    exp = experiment.load_experiment(EXPERIMENTS / "crossover.toml")
    specs = {m.label: m for m in exp.models}
    assert specs["transformer-32"].config().model.hidden_dim == 32
    assert specs["lstm-64"].config().run.streams == 1
    widths = {m.config().model.hidden_dim for m in exp.models if m.preset == "rae"}
    assert widths == {32, 64, 128}  # same code, optimizer and seed; only the width differs
    assert len({m.config().optimizer for m in exp.models if m.preset == "rae"}) == 1


def test_prefix_grid_is_log_spaced_and_ends_at_n():
    grid = experiment.prefix_grid(4_047_392)
    assert grid[0] == 1000 and grid[-1] == 4_047_392
    ratios = np.diff(np.log10(grid[:-1]))
    assert np.allclose(ratios, 1 / experiment.GRID_PER_DECADE, atol=1e-3)
    assert experiment.prefix_grid(500) == [500]


def test_runner_records_every_term(smoke):
    exp, out, summary, bits = smoke
    assert summary["corpus_bytes"] == exp.max_bytes
    for spec in exp.models:
        rep = summary["models"][spec.label]
        b = bits[f"models/{spec.label}"]
        assert len(b) == exp.max_bytes and rep["verified"]
        assert rep["nll_bits"] == pytest.approx(float(b.sum()), rel=1e-5)
        assert rep["weights_bytes_float32"] == 4 * rep["num_parameters"]
        assert rep["family"] == spec.config().model.family
        if rep["family"] != "cm":
            assert 0 < rep["frozen_nll_bits"]
    joint = summary["joint"]
    assert (
        joint["separate_total_bytes"] - joint["joint"]["container_bytes"]
        == (joint["joint_saves_bytes"])
    )
    assert set(summary["classical"]) >= {"gzip -9", "bzip2 -9", "xz -9e"}
    for c in summary["classical"].values():
        assert c["roundtrip"] and len(c["sizes"]) == len(summary["grid"])
        assert 1000 < c["code_bytes"] < 1_000_000
    assert summary["dependencies"]["groups"]["third-party packages"]["bytes"] > 10_000_000
    assert summary["machine"]["wall_seconds"] > 0
    assert (out / "crossover.json").is_file()


def test_a_prefix_coded_alone_costs_the_running_sum(smoke):
    """One stream: a prefix's code lengths are exactly the first bytes' of the whole run,
    and its container is the header plus their sum, to within the coder's last bytes."""
    exp, _, summary, bits = smoke
    spec = exp.models[0]
    corpus = experiment.read_text(exp.corpus, exp.max_bytes)
    result = api.compress_result(
        corpus[:1500], config_from_dict(summary["models"][spec.label]["config"])
    )
    run_bits = bits[f"models/{spec.label}"][:1500]
    np.testing.assert_array_equal(result.bits.astype(np.float32), run_bits)
    predicted = (
        summary["models"][spec.label]["header_bytes"] + run_bits.astype(np.float64).sum() / 8
    )
    assert abs(result.report["container_bytes"] - predicted) < 8


def test_crossovers_are_consistent_with_the_curves(smoke):
    _, out, summary, bits = smoke
    found = experiment.crossovers(summary, bits)
    curves = experiment.description_lengths(summary, bits)
    for label, row in found["vs_codecs"].items():
        m = curves[label]
        for name, cell in row.items():
            if name == "reached":
                continue
            end_below = m["bytes"][-1] < curves[name]["bytes"][len(m["n"]) - 1]
            assert cell["below_at_end"] == end_below
            assert (cell["below_from"] is not None) <= end_below
    assert set(found["vs_smaller"]) == {"lstm-128", "transformer-64"}
    compact = dict(np.load(out / "curves.npz"))  # what the notebook reads: the same lengths
    for name, c in experiment.description_lengths(summary, compact).items():
        np.testing.assert_allclose(c["bytes"], curves[name]["bytes"], rtol=1e-9)
    assert json.loads((out / "crossover.json").read_text()) == json.loads(json.dumps(found))
    assert found["dependency_bytes"] > 10_000_000  # the libraries dwarf the source
    assert experiment.format_crossovers(found)


def test_notebook_executes_on_the_smoke_results(smoke, monkeypatch):
    _, out, _, _ = smoke
    monkeypatch.setenv("ONLINEZIP_RESULTS", str(out))
    monkeypatch.setenv("ONLINEZIP_FIGURES", "")  # leave the committed figures alone
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
    assert len(images) == 9
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.get("output_type") == "error"
    ]
    assert not errors


def test_a_stopped_experiment_resumes_from_its_finished_runs(smoke, tmp_path):
    exp, out, summary, bits = smoke
    again = tmp_path / "again"
    shutil.copytree(out / "parts", again / "parts")
    second = experiment.run(exp, again, log=lambda _: None, progress=False)
    assert second["machine"]["runs"] == 0
    assert len(second["machine"]["runs_reused"]) == len(exp.models) + 3
    for label in summary["models"]:
        np.testing.assert_array_equal(
            np.load(again / "bits.npz")[f"models/{label}"], bits[f"models/{label}"]
        )
