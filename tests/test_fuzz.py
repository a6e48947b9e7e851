"""Fuzzing: random inputs roundtrip exactly; mutated .oz files are refused cleanly.

A mutated file must either decode to exactly the original bytes or be refused with an
``OnlinezipError`` whose message is one line, through the API and through the CLI (exit
code 1, one line on stderr, no output or temporary file left behind). A larger campaign
with the same rules is ``benchmarks/fuzz.py``.
"""

import os
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import TINY, run_cli
from mutations import (
    FAILED,
    KINDS,
    SINGLE,
    Mutation,
    Sample,
    check,
    make_header_donors,
    make_samples,
    mutate,
    swap_header,
)
from onlinezip import api

# Even without a database, Hypothesis caches what it reads from source files under
# ./.hypothesis; keep that out of the repository (it reads this variable lazily).
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "onlinezip-hypothesis")
)

# --- property: random inputs roundtrip exactly -------------------------------------------

MAX_BYTES = 600  # TINY uses two streams from 513 bytes on: both layouts are covered


def _small_alphabet() -> st.SearchStrategy[bytes]:
    alphabet = st.lists(st.integers(0, 255), min_size=1, max_size=3, unique=True)
    return alphabet.flatmap(
        lambda values: st.lists(st.sampled_from(values), max_size=MAX_BYTES).map(bytes)
    )


def _all_256() -> st.SearchStrategy[bytes]:
    """Every byte value once, in some order, then a few more bytes."""
    order = st.permutations(list(range(256))).map(bytes)
    return st.tuples(order, st.binary(max_size=MAX_BYTES - 256)).map(b"".join)


INPUTS = st.one_of(
    st.binary(max_size=MAX_BYTES),
    st.builds(lambda value, n: bytes([value]) * n, st.integers(0, 255), st.integers(1, MAX_BYTES)),
    _small_alphabet(),
    _all_256(),
    # around the point where the input is split into two streams
    st.integers(505, 520).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
)


@settings(
    max_examples=24,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    database=None,  # and nothing is written into the repository
)
@given(data=INPUTS, chunk_bytes=st.sampled_from([TINY.run.chunk_bytes, 256]))
def test_random_inputs_roundtrip_exactly(data, chunk_bytes):
    config = TINY.replace(run={"chunk_bytes": chunk_bytes})  # 256: up to three frames
    assert api.decompress(api.compress(data, config)) == data


# --- mutation fuzzer over valid blobs ----------------------------------------------------

SEED = 20_240_601
PER_KIND = 50  # 7 kinds x 50 = 350 mutations


@pytest.fixture(scope="module")
def samples(alice_slice) -> list[Sample]:
    return make_samples(TINY, alice_slice)


def test_samples_are_valid_and_their_headers_differ(samples):
    for sample in samples:
        assert api.decompress(sample.blob) == sample.original
    headers = {sample.blob[: sample.header_bytes] for sample in samples}
    assert len(headers) == len(samples)


def _failures(mutations: list[Mutation]) -> list[str]:
    """Decompress every mutated blob; describe those that broke the rule."""
    failures = []
    for mutation in mutations:
        outcome = check(mutation)
        if outcome.status == FAILED:
            failures.append(f"{mutation.describe()}: {outcome.detail}")
    return failures


def test_mutated_blobs_decode_exactly_or_are_refused_in_one_line(samples):
    rng = np.random.default_rng(SEED)
    mutations = [mutate(rng, kind, samples) for kind in KINDS for _ in range(PER_KIND)]
    failures = _failures(mutations)
    summary = f"{len(failures)} of {len(mutations)} mutations failed (the first 10):"
    assert not failures, "\n".join([summary, *failures[:10]])


def test_payloads_under_headers_of_other_seeds(alice_slice):
    """The header of a file made under another seed, then the frames of a 300-byte text:
    the decoder runs a model the payload was not coded with, and must refuse cleanly."""
    text = alice_slice[:300]
    body = Sample("text, one frame", text, api.compress(text, TINY))
    donors = make_header_donors(TINY, range(1, 17))
    failures = _failures([swap_header(donor, body) for donor in donors])
    assert not failures, "\n".join(failures)


# --- the same through the command line ---------------------------------------------------


def _cli_case(samples: list[Sample], kind: str) -> bytes:
    if kind == "swap-header":
        return swap_header(samples[0], samples[2]).data
    return SINGLE[kind](np.random.default_rng(SEED), samples[0])[0]


@pytest.mark.parametrize("kind", ["bit-flip", "truncate", "swap-header"])
def test_mutated_file_through_cli_fails_cleanly(samples, tmp_path, kind):
    (tmp_path / "bad.oz").write_bytes(_cli_case(samples, kind))
    proc = run_cli("decompress", "bad.oz", cwd=tmp_path, timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("onlinezip: error:"), err
    assert proc.stdout == b""
    # nothing written: neither the output "bad" nor a temporary file beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.oz"]
