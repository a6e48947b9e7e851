"""Shared fixtures. JAX runs strict here: implicit rank promotion raises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from onlinezip.config import Config  # importing onlinezip pins XLA's flags

jax.config.update("jax_numpy_rank_promotion", "raise")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
ALICE = SHARED_DATA / "canterbury" / "alice29.txt"
GOLDEN = Path(__file__).resolve().parent / "golden"
# The CPU models on which the float goldens of 0.1-0.3 (the default preset's network in
# sample.v1/v2/v3.oz; they record no CPU model) are known to replay. On another one
# (an AMD EPYC 23/1 does not) decoding them stops at a chunk's CRC-32 or the SHA-256 with
# a one-line error, writing nothing: the checks catch what the header could not say.
LEGACY_FLOAT_CPUS = ("AuthenticAMD 26/2", "GenuineIntel 6/167")

# Small and quick to compile; min_stream_bytes keeps B = 1 for tiny inputs.
TINY = Config().replace(
    model={"family": "lstm", "hidden_dim": 16, "embed_dim": 8},
    optimizer={"learning_rate": 0.01},
    run={"streams": 4, "min_stream_bytes": 512},
)


@pytest.fixture(scope="session")
def tiny() -> Config:
    return TINY


@pytest.fixture(scope="session")
def alice_slice() -> bytes:
    if ALICE.exists():
        return ALICE.read_bytes()[:3000]
    return (REPO / "samples" / "alice-excerpt.txt").read_bytes()[:3000]


def run_cli(
    *args: str,
    cwd: Path,
    stdin: bytes | None = None,
    cores: str | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run ``onlinezip ARGS`` in a fresh process, optionally pinned to ``cores``, with
    ``env`` added to the environment."""
    cmd = [sys.executable, "-m", "onlinezip.cli", *args]
    if cores is not None:
        cmd = ["taskset", "-c", cores, *cmd]
    base = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    return subprocess.run(
        cmd, cwd=cwd, input=stdin, capture_output=True, timeout=timeout, env={**base, **(env or {})}
    )
