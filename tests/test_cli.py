"""The command line, each call in a fresh process (so decoding is cross-process)."""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import GOLDEN, LEGACY_FLOAT_CPUS, run_cli
from onlinezip import container, runtime

TESTS = GOLDEN.parent
needs_taskset = pytest.mark.skipif(shutil.which("taskset") is None, reason="needs taskset")


def _ok(proc):
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


def _one_line_error(proc, fragment: str):
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onlinezip: error: "), err
    assert fragment in lines[0], err


@pytest.fixture(scope="module")
def encoded(tmp_path_factory, alice_slice):
    work = tmp_path_factory.mktemp("cli")
    (work / "a.txt").write_bytes(alice_slice)
    proc = _ok(
        run_cli(
            "compress",
            "a.txt",
            "--config",
            str(TESTS / "cli_tiny.toml"),
            "--report",
            "r.json",
            "-v",
            cwd=work,
        )
    )
    assert b"description length" in proc.stderr
    return work


def test_compress_writes_oz_and_report(encoded, alice_slice):
    rep = json.loads((encoded / "r.json").read_text())
    assert rep["container_bytes"] == (encoded / "a.txt.oz").stat().st_size
    assert rep["original_bytes"] == len(alice_slice)
    assert (encoded / "a.txt").read_bytes() == alice_slice  # input untouched


def test_decompress_in_another_process(encoded, alice_slice):
    _ok(run_cli("decompress", "a.txt.oz", "-o", "back.txt", "--report", "d.json", cwd=encoded))
    assert (encoded / "back.txt").read_bytes() == alice_slice
    assert json.loads((encoded / "d.json").read_text())["seconds"] > 0


def test_aliases_and_stdio(encoded, alice_slice):
    blob = _ok(
        run_cli(
            "encode", "-", "--config", str(TESTS / "cli_tiny.toml"), stdin=alice_slice, cwd=encoded
        )
    ).stdout
    assert blob == (encoded / "a.txt.oz").read_bytes()  # same bytes: deterministic
    back = _ok(run_cli("decode", "-", stdin=blob, cwd=encoded)).stdout
    assert back == alice_slice


def test_info(encoded):
    out = _ok(run_cli("info", "a.txt.oz", "--json", cwd=encoded)).stdout
    info = json.loads(out)
    assert info["environment"]["isa"] == "AVX2"
    assert info["report"]["nll_bits"] > 0
    text = _ok(run_cli("info", "a.txt.oz", cwd=encoded)).stdout.decode()
    assert "format version" in text and "jaxlib" in text


@needs_taskset
@pytest.mark.parametrize(
    "config,enc_cores,dec_cores",
    [
        ("cli_threads.toml", "0,1", "0"),
        ("cli_threads.toml", "1", "0,1"),
        ("cli_threads_p2.toml", "0,1", "0"),
        ("cli_threads_p2.toml", "1", "0,1"),
    ],
)
def test_bit_exact_across_core_counts(tmp_path, alice_slice, config, enc_cores, dec_cores):
    """1,500 bytes: 5 streams of the wide transformer (what matters is the width of its
    matrix products, not the length; the whole 3,000 took a minute a case on 2 cores)."""
    alice_slice = alice_slice[:1500]
    (tmp_path / "a.txt").write_bytes(alice_slice)
    _ok(
        run_cli(
            "compress",
            "a.txt",
            "--config",
            str(TESTS / config),
            cwd=tmp_path,
            cores=enc_cores,
        )
    )
    _ok(run_cli("decompress", "a.txt.oz", "-o", "back.txt", cwd=tmp_path, cores=dec_cores))
    assert (tmp_path / "back.txt").read_bytes() == alice_slice


@pytest.mark.parametrize("name", ["sample.v1.oz", "sample.v2.oz"])
def test_golden_files_still_decode(tmp_path, name):
    """Format stability: files written by earlier releases (v1: one payload; v2: three
    256-byte frames) keep decoding to the same bytes, on the CPU models their float bits
    replay on; elsewhere they are refused in one line and nothing is written."""
    proc = run_cli("decompress", str(GOLDEN / name), "-o", "out.txt", cwd=tmp_path)
    if runtime.cpu_model() in LEGACY_FLOAT_CPUS:
        assert proc.returncode == 0, proc.stderr.decode()
        assert (tmp_path / "out.txt").read_bytes() == (GOLDEN / "sample.txt").read_bytes()
    else:
        assert proc.returncode == 1 and not (tmp_path / "out.txt").exists()
        message = proc.stderr.decode().strip()
        assert "decoded data is wrong" in message and len(message.splitlines()) == 1


# The rae preset (a transformer on step program 2): its float bits depend on the CPU model,
# so its golden files are per CPU. 0.3's file records none; it was made on this one.
RAE_GOLDENS = {"sample.rae.oz": "AuthenticAMD 26/2", "sample.rae.GenuineIntel-6-167.oz": None}


@pytest.mark.parametrize("name", sorted(RAE_GOLDENS))
def test_rae_golden_files_decode_on_their_cpu_and_are_refused_elsewhere(tmp_path, name):
    """On the CPU model a file was made on, it decodes to the same bytes. Elsewhere a file
    that records its CPU is refused before any decoding, in one line naming the CPUs; a
    0.3 file (no CPU recorded) decodes, or fails its checksum; no output is left behind."""
    golden = (GOLDEN / name).read_bytes()
    made_on = RAE_GOLDENS[name] or container.parse(golden)[0].environment["cpu"]
    proc = run_cli("decompress", str(GOLDEN / name), "-o", "out.txt", cwd=tmp_path)
    if made_on == runtime.cpu_model():
        _ok(proc)
        assert (tmp_path / "out.txt").read_bytes() == (GOLDEN / "sample.txt").read_bytes()
    elif RAE_GOLDENS[name] is None:
        _one_line_error(proc, f"cpu {made_on} (file) vs {runtime.cpu_model()} (here)")
        assert not (tmp_path / "out.txt").exists()
    elif proc.returncode == 0:
        assert (tmp_path / "out.txt").read_bytes() == (GOLDEN / "sample.txt").read_bytes()
    else:
        _one_line_error(proc, "does not match its CRC-32")
        assert not (tmp_path / "out.txt").exists()


def test_chunked_file_through_pipes(tmp_path, alice_slice):
    """Several frames, stdin to stdout both ways, and the same bytes as from a file."""
    cfg = str(TESTS / "cli_chunked.toml")
    (tmp_path / "a.txt").write_bytes(alice_slice)
    blob = _ok(run_cli("compress", "-", "--config", cfg, stdin=alice_slice, cwd=tmp_path)).stdout
    _ok(run_cli("compress", "a.txt", "--config", cfg, cwd=tmp_path))
    assert blob == (tmp_path / "a.txt.oz").read_bytes()
    assert _ok(run_cli("decompress", "-", stdin=blob, cwd=tmp_path)).stdout == alice_slice


@pytest.mark.parametrize("isa", ["SSE4_2", "AVX512"])
def test_a_file_made_at_another_isa_level_is_refused_unless_replayed_there(tmp_path, isa):
    if isa == "AVX512" and "avx512f" not in Path("/proc/cpuinfo").read_text():
        pytest.skip("this CPU has no AVX-512")
    cfg = str(TESTS / "cli_tiny.toml")
    data = b"instruction sets: the file records the level it was made at. " * 10
    (tmp_path / "a.txt").write_bytes(data)
    _ok(run_cli("compress", "a.txt", "--config", cfg, cwd=tmp_path, env={"ONLINEZIP_ISA": isa}))
    _one_line_error(run_cli("decompress", "a.txt.oz", "-o", "-", cwd=tmp_path), f"isa {isa} (file)")
    back = run_cli("decompress", "a.txt.oz", "-o", "-", cwd=tmp_path, env={"ONLINEZIP_ISA": isa})
    assert _ok(back).stdout == data


def test_unknown_isa_level_is_a_one_line_error(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 100)  # long enough for the model to run
    proc = run_cli("compress", "a.txt", cwd=tmp_path, env={"ONLINEZIP_ISA": "AVX9"})
    _one_line_error(proc, "ONLINEZIP_ISA='AVX9' is not a level")


def _mutations(blob: bytes) -> dict[str, tuple[bytes, str]]:
    flip = lambda at: blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1 :]  # noqa: E731
    first_frame = container.header_size(blob)
    return {
        "truncated": (blob[: len(blob) // 2], "truncated"),
        "header byte": (flip(30), "header checksum"),
        "payload byte": (flip(first_frame + 20), "frame 0's checksum"),
        "end record": (flip(len(blob) - 10), "end record: checksum"),
        "magic": (b"GIF89a" + blob[6:], "not an onlinezip"),
        "version": (blob[:8] + struct.pack("<H", 7) + blob[10:], "unsupported format version"),
        "empty": (b"", "empty file"),
    }


MUTATIONS = ["truncated", "header byte", "payload byte", "end record", "magic", "version", "empty"]


@pytest.mark.parametrize("case", MUTATIONS)
def test_bad_input_gives_one_line_and_no_output(encoded, tmp_path, case):
    blob, fragment = _mutations((encoded / "a.txt.oz").read_bytes())[case]
    (tmp_path / "bad.oz").write_bytes(blob)
    _one_line_error(run_cli("decompress", "bad.oz", cwd=tmp_path), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.oz"]


def test_missing_input(tmp_path):
    _one_line_error(run_cli("compress", "nope.txt", cwd=tmp_path), "does not exist")
    assert list(tmp_path.iterdir()) == []


def test_existing_output_is_not_overwritten(encoded, tmp_path):
    (tmp_path / "a.txt").write_bytes(b"new")
    (tmp_path / "a.txt.oz").write_bytes(b"precious")
    _one_line_error(run_cli("compress", "a.txt", cwd=tmp_path), "already exists")
    assert (tmp_path / "a.txt.oz").read_bytes() == b"precious"
    shutil.copy(encoded / "a.txt.oz", tmp_path / "b.txt.oz")
    (tmp_path / "b.txt").write_bytes(b"keep me")
    _one_line_error(run_cli("decompress", "b.txt.oz", cwd=tmp_path), "already exists")
    assert (tmp_path / "b.txt").read_bytes() == b"keep me"


def test_bad_config_and_usage_errors(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"abc")
    (tmp_path / "c.toml").write_text("[model]\nfamilly = 'gru'\n")
    _one_line_error(
        run_cli("compress", "a.txt", "--config", "c.toml", cwd=tmp_path), "unknown key 'familly'"
    )
    _one_line_error(
        run_cli("compress", "a.txt", "--preset", "huge", cwd=tmp_path), "unknown preset 'huge'"
    )
    assert run_cli("compress", cwd=tmp_path).returncode == 2
    # not a subcommand: a file name, as gzip's (onlinezip FILE...), and it does not exist
    _one_line_error(run_cli("frobnicate", cwd=tmp_path), "input 'frobnicate' does not exist")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.toml"]


def test_decompress_needs_a_name_for_output(tmp_path):
    (tmp_path / "data.bin").write_bytes(b"x")
    _one_line_error(run_cli("decompress", "data.bin", cwd=tmp_path), "use -o")


EDGE_CASES = {
    "empty": b"",
    "one-byte": b"\x7f",
    "all-256": bytes(range(256)),
    "repeated-10k": b"a" * 10_000,
    "random": bytes(np.random.default_rng(7).integers(0, 256, 3000, dtype=np.uint8)),
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_edge_case_roundtrip_through_cli(tmp_path, case):
    data = EDGE_CASES[case]
    (tmp_path / "in.bin").write_bytes(data)
    _ok(run_cli("compress", "in.bin", "--config", str(TESTS / "cli_tiny.toml"), cwd=tmp_path))
    _ok(run_cli("decompress", "in.bin.oz", "-o", "out.bin", cwd=tmp_path))
    assert (tmp_path / "out.bin").read_bytes() == data


@pytest.mark.parametrize(
    "when,cache,delay",
    [("while compiling", "off", 0.5), ("well into the work", "", 1.0)],
)
def test_ctrl_c_leaves_nothing_behind(tmp_path, when, cache, delay):
    """SIGINT mid-way: exit 130, one line, no output or temporary file, input intact.
    The output's temporary file appears before the model is compiled."""
    data = bytes(np.random.default_rng(3).integers(0, 256, 400_000, dtype=np.uint8))
    (tmp_path / "big.bin").write_bytes(data)
    cmd = [sys.executable, "-m", "onlinezip.cli", "compress", "big.bin", "-q",
           "--config", str(TESTS / "cli_tiny.toml")]  # fmt: skip
    env = {**os.environ, "ONLINEZIP_CACHE": cache} if cache else None
    # (a test run whose shell ignores SIGINT, as `cmd &` does, passes that on: run in front)
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, "no temporary file seen"
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1].decode()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["onlinezip: error: interrupted; no output was written"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]
    assert (tmp_path / "big.bin").read_bytes() == data


def test_a_conflicting_xla_isa_flag_is_a_one_line_error(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 100)  # long enough for the model to run
    env = {"XLA_FLAGS": "--xla_cpu_max_isa=SSE4_2"}
    _one_line_error(run_cli("compress", "a.txt", cwd=tmp_path, env=env), "needs AVX2: unset it")


def test_a_reader_that_leaves_early_is_not_an_error(tmp_path):
    """`onlinezip info x.oz | head -1`: the closed pipe ends the command quietly."""
    cmd = [sys.executable, "-m", "onlinezip.cli", "info", str(GOLDEN / "sample.v2.oz")]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    ) as proc:
        proc.stdout.close()  # the reader is gone before the first line is written
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 128 + signal.SIGPIPE
    assert err == ""
