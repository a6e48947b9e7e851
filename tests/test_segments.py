"""Parallel segments (-T N): split, segment table, same bytes with any engine and any
worker count, damaged tables refused, Ctrl-C ends the workers. No mocks: real spawned
worker processes, real subprocesses for the command line."""

from __future__ import annotations

import functools
import io
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import GOLDEN, TINY, run_cli
from onlinezip import api, container, runtime, segments
from onlinezip.engine import LocalEngine, SerialEngine, make_engine, usable_cores
from onlinezip.errors import OnlinezipError

MIN = 300  # min_segment_bytes in these tests: a few hundred bytes make a segment
CFG = TINY.replace(run={"min_segment_bytes": MIN})
CHUNKED = TINY.replace(run={"min_segment_bytes": MIN, "chunk_bytes": 256})  # several frames
TABLE = struct.Struct("<QQQIII")


@pytest.fixture(scope="module")
def text() -> bytes:
    return (GOLDEN / "sample.txt").read_bytes() * 3  # 1,800 bytes


@pytest.fixture(scope="module")
def local():
    """Two spawned worker processes, shared by the tests of this module."""
    with LocalEngine(2) as engine:
        yield engine


def test_segment_count_and_bounds():
    assert segments.segment_count(0, 4, MIN) == 1
    assert segments.segment_count(2 * MIN - 1, 4, MIN) == 1  # under twice the minimum
    assert segments.segment_count(2 * MIN, 4, MIN) == 2
    assert segments.segment_count(10 * MIN, 4, MIN) == 4
    assert segments.segment_count(10 * MIN, 1, MIN) == 1
    assert segments.bounds(1000, 3) == [0, 333, 666, 1000]
    cuts = segments.bounds(10**6 + 7, 7)
    assert cuts[0] == 0 and cuts[-1] == 10**6 + 7
    n = (10**6 + 7) // 7
    assert {b - a for a, b in zip(cuts, cuts[1:], strict=False)} <= {n, n + 1}


def _case(name: str, text: bytes) -> bytes:
    random = bytes(np.random.default_rng(5).integers(0, 256, 1000, dtype=np.uint8))
    return {
        "empty": b"",
        "one byte": b"x",
        "under the minimum": text[: MIN - 1],
        "just under two segments": text[: 2 * MIN - 1],
        "exactly two segments": text[: 2 * MIN],
        "exactly three segments": text[: 3 * MIN],
        "three uneven segments": text[:1000],
        "random bytes (stored frames)": random,
    }[name]


@functools.cache
def _one_segment(data: bytes) -> bytes:
    return api.compress(data, CFG)


CASES = [
    "empty", "one byte", "under the minimum", "just under two segments",
    "exactly two segments", "exactly three segments", "three uneven segments",
    "random bytes (stored frames)",
]  # fmt: skip


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("case", CASES)
def test_roundtrip_with_1_2_3_segments(text, case, threads):
    data = _case(case, text)
    result = api.compress_result(data, CFG, segments=threads)
    count = segments.segment_count(len(data), threads, MIN)
    reader = container.Reader(io.BytesIO(result.output))
    assert len(reader.segments or [None]) == count
    if count == 1:  # a small input is one segment: exactly the file -T 1 writes
        assert result.output == _one_segment(data)
    else:
        lengths = [s.length for s in reader.segments]
        assert lengths == np.diff(segments.bounds(len(data), count)).tolist()
        assert result.report["segments"] == count
    back = api.decompress_result(result.output)
    assert back.output == data
    np.testing.assert_array_equal(back.bits, result.bits)  # the same p_t, byte for byte
    assert result.report["container_bytes"] == len(result.output)


def test_segments_of_several_chunks_and_a_short_last_chunk(text):
    data = text[:1400]  # 3 segments of 466-467 bytes: chunks of 256 + a short one each
    blob = api.compress_result(data, CHUNKED, segments=3).output
    reader = container.Reader(io.BytesIO(blob))
    frames = [len(f) for _, _, f in reader.segment_frames()]
    assert frames == [2, 2, 2]
    assert api.decompress(blob) == data


def test_every_engine_and_worker_count_gives_the_same_file(text, local):
    """Coded in spawned worker processes or here, the file is the same; a 3-segment file
    decodes the same on one worker (this process) as on two."""
    data = text[:1000]
    here = api.compress_result(data, CFG, segments=3)
    there = api.compress_result(data, CFG, segments=3, engine=local)
    assert there.output == here.output
    np.testing.assert_array_equal(there.bits, here.bits)
    assert api.decompress_result(here.output, engine=SerialEngine()).output == data
    back = api.decompress_result(here.output, engine=local)
    assert back.output == data
    np.testing.assert_array_equal(back.bits, here.bits)
    assert len(local.pids()) == 2  # really two other processes
    assert os.getpid() not in local.pids()


def test_two_runs_give_the_same_bytes(text, local):
    data = text[:1000]  # segments under 512 bytes: one stream, as in the test above
    first = api.compress_result(data, CFG, segments=2, engine=local).output
    second = api.compress_result(data, CFG, segments=2, engine=local).output
    assert first == second
    assert first != api.compress(data, CFG)  # (and it is not the one-segment file)


def test_engine_map_keeps_the_order_and_check_refuses(local):
    assert local.map(abs, [-3, 2, -1, 0]) == [3, 2, 1, 0]
    assert SerialEngine().map(abs, [-1, -2]) == [1, 2]
    with pytest.raises(OnlinezipError, match="odd"):
        SerialEngine().map(abs, [2, 3], check=lambda r: "odd" if r % 2 else None)
    assert make_engine(1).workers == 1
    assert make_engine(0).workers == usable_cores()


def test_a_worker_error_is_raised_again_and_the_pool_still_works(local):
    with pytest.raises(ValueError):
        local.map(int, ["1", "x"])
    assert local.map(int, ["4", "5"]) == [4, 5]  # a fresh pool after the failure


# --------------------------------------------------------------------------- damaged files


@pytest.fixture(scope="module")
def three(text):
    data = text[:1000]
    return data, api.compress_result(data, CFG, segments=3).output


def _table_start(blob: bytes) -> int:
    """Where the segment table starts: after the header's 12 fixed bytes, its LEB128
    streams and meta length (one byte each here), the meta and the CRC."""
    assert blob[12] < 0x80 and blob[13] < 0x80
    return 14 + blob[13] + 4


def _with_row(blob: bytes, index: int, **changes) -> bytes:
    """The file with row ``index`` of its table changed, the table's CRC made to match."""
    start = _table_start(blob)
    count = struct.unpack_from("<I", blob, start + 1)[0]
    out = bytearray(blob)
    at = start + 5 + index * TABLE.size
    row = dict(zip(("offset", "size", "length", "streams", "data", "frames"),
                   TABLE.unpack_from(blob, at), strict=True))  # fmt: skip
    row.update(changes)
    TABLE.pack_into(out, at, *row.values())
    end = start + 5 + count * TABLE.size
    struct.pack_into("<I", out, end, zlib.crc32(bytes(out[start:end])))
    return bytes(out)


def _refused(blob: bytes, fragment: str) -> None:
    with pytest.raises(OnlinezipError) as info:
        api.decompress(blob)
    message = str(info.value)
    assert fragment in message and "\n" not in message, message


def test_a_table_that_disagrees_with_the_payload_is_refused(three):
    data, blob = three
    seg = container.Reader(io.BytesIO(blob)).segments
    _refused(_with_row(blob, 1, offset=seg[1].offset + 1), "said to start at byte")
    _refused(_with_row(blob, 1, length=seg[1].length + 1), "the table says")
    _refused(_with_row(blob, 2, length=seg[2].length - 1), "the table says")
    _refused(_with_row(blob, 0, frames=seg[0].frames_crc32 ^ 1), "segment 0: checksum mismatch")
    _refused(_with_row(blob, 2, size=seg[2].size - 4), "segment 2")
    _refused(_with_row(blob, 1, streams=0), "implausible sizes")
    # the table and the frames agree, the decoded bytes do not: refused, nothing returned
    _refused(_with_row(blob, 1, data=seg[1].data_crc32 ^ 1), "segment 1 does not match its CRC-32")
    assert api.decompress(blob) == data


def test_a_table_claiming_huge_segments_is_refused_without_reading_them(three):
    """A CRC-valid table that says segment 0 holds 2**41 bytes: a one-line truncation
    error, with memory only for the bytes that are there (no MemoryError)."""
    _, blob = three
    seg = container.Reader(io.BytesIO(blob)).segments
    bad = _with_row(blob, 0, length=2**39, size=2**41)
    for i in (1, 2):
        bad = _with_row(bad, i, offset=seg[i].offset + 2**41 - seg[0].size)
    with pytest.raises(OnlinezipError, match="the segment 0 is incomplete"):
        container.scan(io.BytesIO(bad))


def test_a_missing_segment_or_one_too_many_is_refused(three):
    _, blob = three
    seg = container.Reader(io.BytesIO(blob)).segments
    start = _table_start(blob)
    # the last segment's bytes gone, the table still lists it
    cut = blob[: seg[2].offset] + blob[seg[2].offset + seg[2].size :]
    _refused(cut, "segment 2")
    # a table of two segments in front of the three segments' bytes (its CRC made to match)
    table = bytearray(blob[start : start + 5 + 2 * TABLE.size])
    struct.pack_into("<I", table, 1, 2)
    table += struct.pack("<I", zlib.crc32(bytes(table)))
    two = blob[:start] + bytes(table) + blob[seg[0].offset :]
    shift = TABLE.size
    for i in range(2):
        two = _with_row(two, i, offset=seg[i].offset - shift)
    _refused(two, "fewer segments than the file holds")
    # a table of two segments and only those two: the end record disagrees
    two_only = two[: seg[2].offset - shift] + blob[seg[2].offset + seg[2].size :]
    _refused(two_only, "corrupt end record: length")


def test_every_truncation_and_every_damaged_table_byte_is_refused(three):
    _, blob = three
    start = _table_start(blob)
    for n in range(len(blob)):
        with pytest.raises(OnlinezipError):
            container.parse(blob[:n])
    for at in range(start, container.Reader(io.BytesIO(blob)).segments[0].offset):
        damaged = bytearray(blob)
        damaged[at] ^= 0x10
        with pytest.raises(OnlinezipError):
            container.parse(bytes(damaged))
    with pytest.raises(OnlinezipError, match="unexpected bytes"):
        container.parse(blob + b"\0")


def test_flag_and_kind_must_agree(three):
    _, blob = three
    start = _table_start(blob)
    wrong_kind = bytearray(blob)
    wrong_kind[start] = container.KIND_CODED
    _refused(bytes(wrong_kind), "frame kind 1 where it belongs")
    # a one-segment file whose header claims a table
    one = api.compress(b"abc" * 500, CFG)
    head = container.header_size(one)
    forged = bytearray(one[:head])
    struct.pack_into("<H", forged, 10, container.FLAG_MODEL | container.FLAG_SEGMENTS)
    struct.pack_into("<I", forged, head - 4, zlib.crc32(bytes(forged[: head - 4])))
    _refused(bytes(forged) + one[head:], "corrupt segment table")


# --------------------------------------------------------------------------- golden file


def test_golden_segmented_file(monkeypatch):
    """tests/golden/sample.segments.oz: sample.txt as three segments (-T 3, min segment
    200 bytes, the tiny LSTM; format 3); sample.segments.v4.oz: the same in format 4.
    They pin the segment format and its bits: re-encoded under the environment they
    record (0.3's, without the CPU model), the format-4 file's header, segments, frames
    and end record come out (the frames byte for byte; the meta's deflated bytes, and so
    the offsets, may differ: format 4's dictionary grows at its front, session 11), and
    its segments hold the format-3 file's payloads."""
    blob = (GOLDEN / "sample.segments.oz").read_bytes()
    v4 = (GOLDEN / "sample.segments.v4.oz").read_bytes()
    sample = (GOLDEN / "sample.txt").read_bytes()
    reader = container.Reader(io.BytesIO(blob))
    assert [s.length for s in reader.segments] == [200, 200, 200]
    assert reader.header.config.run.min_segment_bytes == 200
    assert api.decompress(blob) == sample == api.decompress(v4)
    monkeypatch.setattr(runtime, "fingerprint", lambda: dict(reader.header.environment))
    again = api.compress(sample, reader.header.config, segments=3)
    assert container.parse(again) == container.parse(v4)
    table = [
        [(g.size, g.length, g.streams, g.data_crc32, g.frames_crc32) for g in r.segments]
        for r in (container.Reader(io.BytesIO(again)), container.Reader(io.BytesIO(v4)))
    ]
    assert table[0] == table[1] and container.Reader(io.BytesIO(v4)).version == 4
    assert [f.payload for f in container.parse(v4)[2]] == [
        f.payload for f in container.parse(blob)[2]
    ]


# --------------------------------------------------------------------------- command line


def _config_file(tmp_path, cfg=CFG):
    lines = []
    for section, values in cfg.to_dict().items():
        if section == "cm":
            continue
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {value!r}".replace("'", '"'))
    path = tmp_path / "cfg.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _one_line_error(proc, fragment: str):
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("onlinezip: error: "), err
    assert fragment in lines[0], err


def test_cli_T2_file_decodes_with_T1_and_T2_in_other_processes(tmp_path, text):
    data = text[:1500]
    (tmp_path / "a.txt").write_bytes(data)
    cfg = _config_file(tmp_path)
    proc = run_cli("-T", "2", "--config", cfg, "-v", "a.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr.decode()
    blob = (tmp_path / "a.txt.oz").read_bytes()
    assert blob == api.compress(data, CFG, segments=2)  # another process, the same file
    assert len(container.Reader(io.BytesIO(blob)).segments) == 2
    proc = run_cli("-T", "1", "-dc", "a.txt.oz", cwd=tmp_path)  # (-T 2: the API tests)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == data
    info = run_cli("info", "a.txt.oz", "--json", cwd=tmp_path)
    assert b'"segments": 2' in info.stdout


def test_cli_refuses_a_damaged_table_and_leaves_no_output(tmp_path, three):
    _, blob = three
    seg = container.Reader(io.BytesIO(blob)).segments
    (tmp_path / "bad.oz").write_bytes(_with_row(blob, 1, data=seg[1].data_crc32 ^ 1))
    proc = run_cli("-d", "bad.oz", cwd=tmp_path)
    _one_line_error(proc, "segment 1 does not match its CRC-32")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.oz"]


def test_cli_bad_T_and_cluster_without_the_extra(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"hello " * 100)
    proc = run_cli("-T", "99999", "a.txt", cwd=tmp_path)
    _one_line_error(proc, "-T takes 0..")
    # an interpreter that cannot import distributed, as without the extra installed
    blocker = tmp_path / "no-dask"
    (blocker / "distributed").mkdir(parents=True)
    (blocker / "distributed" / "__init__.py").write_text("raise ImportError('not here')\n")
    proc = run_cli("--cluster", "tcp://127.0.0.1:9", "a.txt", cwd=tmp_path,
                   env={"PYTHONPATH": str(blocker)})  # fmt: skip
    _one_line_error(proc, "pip install 'onlinezip[cluster]'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "no-dask"]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_ends_every_worker_and_leaves_nothing(tmp_path):
    data = bytes(np.random.default_rng(4).integers(0, 256, 400_000, dtype=np.uint8))
    (tmp_path / "big.bin").write_bytes(data)
    cfg = _config_file(tmp_path, CFG.replace(run={"min_segment_bytes": 100_000}))
    cmd = [sys.executable, "-m", "onlinezip.cli", "-T", "2", "-q", "--config", cfg, "big.bin"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while len(workers) < 2:  # both workers started (the resource tracker may be a third)
        assert proc.poll() is None and time.monotonic() < deadline, "no workers seen"
        time.sleep(0.2)
        workers = [p for p in _children(proc.pid) if b"--multiprocessing-fork" in _cmdline(p)]
    time.sleep(1.0)  # into the work
    everyone = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["onlinezip: error: interrupted; no output was written"]
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in everyone) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in everyone if _alive(p)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "cfg.toml"]
    assert (tmp_path / "big.bin").read_bytes() == data
