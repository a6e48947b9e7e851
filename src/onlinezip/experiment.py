"""Rae's thought experiment, run for real: several model sizes, the same code.

An experiment TOML names a corpus and presets (``[sizes]``) and, optionally, two texts
to code separately and jointly (``[joint]``). For every run the corpus is really
compressed and decompressed (the roundtrip is verified) and we keep the per-byte code
lengths as the coder saw them, the MDL report, and the "send the weights" figures: the
size of the final weights and the NLL of the final, frozen model on the same data.

Results go to ``OUT/`` as ``summary.json`` (all figures, the configs that ran) and
``bits.npz`` (one float32 array of per-byte code lengths per run).
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinezip import api
from onlinezip.config import load_preset
from onlinezip.errors import OnlinezipError


@dataclass(frozen=True)
class ExperimentConfig:
    name: str  # a label for the results
    corpus: Path  # the file the model sizes are compared on
    presets: tuple[str, ...]  # the model sizes, as preset names (same code, same optimizer)
    max_bytes: int = 0  # use only the first max_bytes of every text (0 = all)
    joint_texts: tuple[Path, ...] = field(default_factory=tuple)  # two related texts
    joint_preset: str = "default"  # the model that codes them
    joint_streams: int = 1  # streams for the joint runs (1 = truly one after the other)


def load_experiment(path: str | Path) -> ExperimentConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        sizes, joint = data["sizes"], data.get("joint", {})
        resolve = lambda p: (path.parent / p).resolve()  # noqa: E731
        return ExperimentConfig(
            name=str(data.get("name", path.stem)),
            corpus=resolve(sizes["corpus"]),
            presets=tuple(sizes["presets"]),
            max_bytes=int(data.get("max_bytes", 0)),
            joint_texts=tuple(resolve(p) for p in joint.get("texts", ())),
            joint_preset=str(joint.get("preset", "default")),
            joint_streams=int(joint.get("streams", 1)),
        )
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise OnlinezipError(f"experiment config {str(path)!r}: {exc}") from None


def _read(path: Path, max_bytes: int) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise OnlinezipError(f"cannot read {str(path)!r}: {exc.strerror}") from None
    return data[:max_bytes] if max_bytes else data


def classical_sizes(data: bytes) -> dict[str, int]:
    """Reference codecs, measured on the same bytes."""
    return {
        "gzip -9": len(gzip.compress(data, 9, mtime=0)),
        "bzip2 -9": len(bz2.compress(data, 9)),
        "xz -9e": len(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)),
    }


def run_one(data: bytes, preset: str, streams: int | None = None) -> tuple[dict, np.ndarray]:
    """Compress, decompress (checked), and the frozen-weights comparison for one model."""
    config = load_preset(preset)
    if streams is not None:
        config = config.replace(run={"streams": streams})
    result, coder = api.compress_coded(data, config)
    if api.decompress(result.output) != data:
        raise OnlinezipError(f"roundtrip failed for preset {preset!r}")
    report = {**result.report, "preset": preset}
    report["weights_bytes_float32"] = 4 * coder.learner.num_parameters
    report["weights_bytes_float16"] = 2 * coder.learner.num_parameters
    report["frozen_nll_bits"] = coder.frozen_bits(data)
    return report, result.bits.astype(np.float32)


def run(exp: ExperimentConfig, out: Path, log=print) -> dict[str, Any]:
    corpus = _read(exp.corpus, exp.max_bytes)
    summary: dict[str, Any] = {
        "name": exp.name,
        "corpus": exp.corpus.name,
        "corpus_bytes": len(corpus),
        "classical_bytes": classical_sizes(corpus),
        "sizes": {},
    }
    arrays: dict[str, np.ndarray] = {}
    for preset in exp.presets:
        report, bits = run_one(corpus, preset)
        summary["sizes"][preset] = report
        arrays[f"sizes/{preset}"] = bits
        log(f"{preset}: {report['nll_bits_per_byte']:.3f} bits/byte, {report['seconds']:.1f} s")
    if exp.joint_texts:
        summary["joint"] = run_joint(exp, arrays, log)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    np.savez_compressed(out / "bits.npz", **arrays)
    return summary


def run_joint(exp: ExperimentConfig, arrays: dict, log=print) -> dict[str, Any]:
    """Code text A and text B separately, then A followed by B through one online model."""
    a, b = (_read(p, exp.max_bytes) for p in exp.joint_texts)
    result: dict[str, Any] = {"texts": [p.name for p in exp.joint_texts],
                              "preset": exp.joint_preset, "streams": exp.joint_streams}  # fmt: skip
    for label, data in (("separate_a", a), ("separate_b", b), ("joint", a + b)):
        report, bits = run_one(data, exp.joint_preset, exp.joint_streams)
        result[label] = {k: report[k] for k in ("container_bytes", "nll_bits", "seconds")}
        arrays[f"joint/{label}"] = bits
    joint_bits = arrays["joint/joint"]
    result["joint"]["nll_bits_of_b"] = float(joint_bits[len(a) :].sum())
    separate = result["separate_a"]["container_bytes"] + result["separate_b"]["container_bytes"]
    result["separate_total_bytes"] = separate
    result["joint_saves_bytes"] = separate - result["joint"]["container_bytes"]
    log(f"joint: {result['joint']['container_bytes']:,} bytes vs separate {separate:,}")
    return result
