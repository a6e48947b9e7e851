"""The gzip-style command line, with cases modelled on gzip's own test suite
(tests/help-version, keep, null-suffix-clobber, stdin, list, trailing-nul, and the
special files: FIFOs, /dev/null, symbolic links, directories). Each call is a fresh
process; the presets are the small ones (tests/cli_tiny.toml, ``tiny``)."""

from __future__ import annotations

import os
import pty
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GOLDEN, REPO, run_cli

TINY = str(GOLDEN.parent / "cli_tiny.toml")
TEXT = b"the rain in spain stays mainly in the plain; " * 40  # 1,800 bytes, compressible
RANDOM_100K = b"".join(  # 100 KB no model can shrink, the same on every run
    __import__("hashlib").sha256(i.to_bytes(4, "little")).digest() for i in range(3125)
)


def _ok(proc):
    assert proc.returncode == 0, proc.stderr.decode()
    return proc


def _one_line(proc, status: int, fragment: str, kind: str = "error"):
    err = proc.stderr.decode()
    assert proc.returncode == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"onlinezip: {kind}: "), err
    assert fragment in lines[0], err


def _modules_after(args: list[str], cwd: Path, stdin: bytes | None = None):
    """Run the CLI in a fresh process; (process, whether it had imported jax at exit)."""
    code = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: os.write(2, b'\\nJAX=%d' % ('jax' in sys.modules)))\n"
        "from onlinezip.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, input=stdin, capture_output=True, env=env,
        timeout=600,
    )  # fmt: skip
    err, _, flag = proc.stderr.rpartition(b"\nJAX=")
    assert flag in (b"0", b"1"), proc.stderr
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout, err), flag == b"1"


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """a.txt and its a.txt.oz (coded with the tiny config)."""
    work = tmp_path_factory.mktemp("gz")
    (work / "a.txt").write_bytes(TEXT)
    _ok(run_cli("--config", TINY, "a.txt", cwd=work))
    return work


# --------------------------------------------------------------------------- help-version


def test_help_and_version_without_jax(tmp_path):
    proc, jax = _modules_after(["--help"], tmp_path)
    out = _ok(proc).stdout.decode()
    assert not jax
    for flag in ("-d, --decompress", "-c, --stdout", "-k, --keep", "-t, --test", "-l, --list",
                 "-1 .. -9", "-f, --force", "-q, --quiet", "-v, --verbose", "--version"):
        assert flag in out, flag
    assert "NEVER deleted" in out and "-1 fast" in out and "-9 ultra" in out
    proc, jax = _modules_after(["--version"], tmp_path)
    assert _ok(proc).stdout.decode() == "onlinezip 0.3.0\n" and not jax


def test_version_is_the_package_version():
    from importlib import metadata

    import onlinezip

    assert onlinezip.__version__ == metadata.version("onlinezip") == "0.3.0"


def test_bad_option_is_one_line_exit_1(tmp_path):
    proc = run_cli("--no-such-flag", cwd=tmp_path)
    assert proc.returncode == 1 and len(proc.stderr.decode().strip().splitlines()) == 1


def test_info_reports_the_release_not_the_internal_tag(packed):
    out = _ok(run_cli("info", "a.txt.oz", cwd=packed)).stdout.decode()
    assert "onlinezip 0.3.0" in out and "format version    4" in out
    assert "onlinezip 0.1.0" not in out and "onlinezip': '0.1.0" not in out


# --------------------------------------------------------------------------- keep, suffix


def test_compress_keeps_input_and_decompress_restores(packed, tmp_path):
    assert (packed / "a.txt").read_bytes() == TEXT  # input kept (no -k needed)
    work = tmp_path
    (work / "a.txt.oz").write_bytes((packed / "a.txt.oz").read_bytes())
    _ok(run_cli("-d", "-k", "a.txt.oz", cwd=work))
    assert (work / "a.txt").read_bytes() == TEXT and (work / "a.txt.oz").exists()
    _one_line(run_cli("-d", "a.txt.oz", cwd=work), 1, "already exists")  # no -f: refused
    (work / "a.txt").write_bytes(b"changed")
    _ok(run_cli("-d", "-f", "a.txt.oz", cwd=work))
    assert (work / "a.txt").read_bytes() == TEXT


def test_null_suffix_and_unknown_suffix_never_clobber(tmp_path):
    (tmp_path / "F").write_bytes(b"precious")
    _one_line(run_cli("-d", "F", cwd=tmp_path), 2, "unknown suffix -- ignored", "warning")
    proc = run_cli("-d", "-S", "", "F", cwd=tmp_path)
    assert proc.returncode == 1 and b"bad suffix" in proc.stderr
    assert (tmp_path / "F").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["F"]


def test_already_suffixed_is_a_warning_unless_forced(packed):
    _one_line(run_cli("a.txt.oz", cwd=packed), 2, "already has .oz suffix", "warning")
    assert run_cli("-q", "a.txt.oz", cwd=packed).stderr == b""  # -q: no warning, still 2


def test_levels_map_to_presets(tmp_path):
    from onlinezip.levels import LEVEL_PRESETS

    assert LEVEL_PRESETS[1] == "fast" and LEVEL_PRESETS[6] == "default"
    assert LEVEL_PRESETS[8] == "max" and LEVEL_PRESETS[9] == "ultra"
    (tmp_path / "s.txt").write_bytes(TEXT[:200])
    _ok(run_cli("-1", "-v", "s.txt", cwd=tmp_path))
    out = _ok(run_cli("-l", "s.txt.oz", cwd=tmp_path)).stdout.decode()
    assert " fast " in out


# --------------------------------------------------------------------------- stdin, -c, -t


def test_stdin_to_stdout_and_back(packed):
    blob = _ok(run_cli("--config", TINY, stdin=TEXT, cwd=packed)).stdout
    assert blob == (packed / "a.txt.oz").read_bytes()  # same bytes: deterministic
    assert _ok(run_cli("-d", stdin=blob, cwd=packed)).stdout == TEXT
    assert _ok(run_cli("-dc", "-", stdin=blob, cwd=packed)).stdout == TEXT
    assert _ok(run_cli("-c", "a.txt.oz", "-d", cwd=packed)).stdout == TEXT


def test_ozcat_and_unoz(packed, tmp_path):
    code = "import sys; from onlinezip import cli; sys.argv[1:] = ['{}']; sys.exit(cli.{}())"
    run = lambda fn, arg, cwd: subprocess.run(  # noqa: E731
        [sys.executable, "-c", code.format(arg, fn)], cwd=cwd, capture_output=True
    )
    assert _ok(run("ozcat", str(packed / "a.txt.oz"), tmp_path)).stdout == TEXT
    (tmp_path / "b.txt.oz").write_bytes((packed / "a.txt.oz").read_bytes())
    _ok(run("unoz", "b.txt.oz", tmp_path))
    assert (tmp_path / "b.txt").read_bytes() == TEXT


def test_test_mode_writes_nothing_and_catches_damage(packed, tmp_path):
    before = sorted(p.name for p in packed.iterdir())
    assert b"a.txt.oz: OK" in _ok(run_cli("-t", "-v", "a.txt.oz", cwd=packed)).stderr
    assert sorted(p.name for p in packed.iterdir()) == before
    blob = bytearray((packed / "a.txt.oz").read_bytes())
    blob[-20] ^= 1
    (tmp_path / "bad.oz").write_bytes(bytes(blob))
    _one_line(run_cli("-t", "bad.oz", cwd=tmp_path), 1, "checksum")


def test_several_files_one_failing(tmp_path):
    (tmp_path / "x").write_bytes(b"xx")
    (tmp_path / "y").write_bytes(b"yyy")
    proc = run_cli("x", "missing", "y", cwd=tmp_path)
    _one_line(proc, 1, "'missing' does not exist")
    assert (tmp_path / "x.oz").exists() and (tmp_path / "y.oz").exists()
    proc = run_cli("-dc", "x.oz", "y.oz", cwd=tmp_path)
    assert _ok(proc).stdout == b"xxyyy"  # as zcat: the originals one after the other
    proc = run_cli("-c", "x", "y", cwd=tmp_path)
    assert proc.returncode == 1 and b"several files to standard output" in proc.stderr


def test_exit_status_error_beats_warning(tmp_path):
    (tmp_path / "x.oz").write_bytes(b"not really")
    proc = run_cli("-d", "plain", "x.oz", cwd=tmp_path)  # warning, then error
    assert proc.returncode == 1 and b"warning" in proc.stderr and b"error" in proc.stderr


# --------------------------------------------------------------------------- list


def test_list_sizes_ratio_preset_mdl_terms_without_jax(packed):
    proc, jax = _modules_after(["-l", "a.txt.oz", "a.txt.oz"], packed)
    lines = _ok(proc).stdout.decode().splitlines()
    assert not jax
    assert lines[0].split() == ["compressed", "uncompressed", "ratio", "preset", "NLL",
                                "bytes", "code", "bytes", "DL", "bytes", "name"]  # fmt: skip
    packed_size = (packed / "a.txt.oz").stat().st_size
    fields = lines[1].split()
    assert fields[:2] == [str(packed_size), str(len(TEXT))] and fields[3] == "custom"
    assert fields[2] == f"{100 * (1 - packed_size / len(TEXT)):.1f}%"
    assert lines[-1].split()[:2] == [str(2 * packed_size), str(2 * len(TEXT))]  # totals


# --------------------------------------------------------------------------- trailing garbage


def test_trailing_garbage_is_refused_and_nothing_written(packed, tmp_path):
    blob = (packed / "a.txt.oz").read_bytes() + b"\0\0\0\0"
    (tmp_path / "g.txt.oz").write_bytes(blob)
    _one_line(run_cli("-d", "g.txt.oz", cwd=tmp_path), 1, "unexpected bytes")
    assert not (tmp_path / "g.txt").exists()
    _one_line(run_cli("-t", "g.txt.oz", cwd=tmp_path), 1, "unexpected bytes")
    _one_line(run_cli("-d", stdin=blob, cwd=tmp_path), 1, "unexpected bytes")


# --------------------------------------------------------------------------- terminals


def _on_a_pty(args: list[str], cwd: Path, stdin: bytes = b"data") -> tuple[int, bytes, bytes]:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "onlinezip.cli", *args], cwd=cwd, input=stdin,
            stdout=slave, stderr=subprocess.PIPE, timeout=600,
        )  # fmt: skip
        os.close(slave)
        out = b""
        while True:
            try:
                part = os.read(master, 65536)
            except OSError:
                break
            if not part:
                break
            out += part
        return proc.returncode, out, proc.stderr
    finally:
        os.close(master)


def test_compressed_data_is_not_written_to_a_terminal(tmp_path):
    code, out, err = _on_a_pty([], tmp_path)
    assert code == 1 and out == b"", err
    assert err.decode().strip() == (
        "onlinezip: error: compressed data not written to a terminal; redirect it, "
        "or use -f to force"
    )
    code, out, err = _on_a_pty(["compress", "-"], tmp_path)  # the subcommand too
    assert code == 1 and b"not written to a terminal" in err
    code, out, err = _on_a_pty(["-f"], tmp_path)
    assert code == 0 and out.startswith(b"\x89OZIP"), err


# --------------------------------------------------------------------------- special files


def test_fifo_output_is_written_through_not_replaced(packed, tmp_path):
    (tmp_path / "a.txt").write_bytes(TEXT)
    fifo = tmp_path / "a.txt.oz"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        _ok(run_cli("-f", "--config", TINY, "a.txt", cwd=tmp_path))  # even with -f
        got, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert got == (packed / "a.txt.oz").read_bytes()


def test_fifo_output_through_the_subcommand_with_force(packed, tmp_path):
    """The issue's case: ``compress -o NODE --force`` used to replace the node."""
    fifo = tmp_path / "node"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    try:
        proc = run_cli("decompress", str(packed / "a.txt.oz"), "-o", "node", "--force",
                       cwd=tmp_path)  # fmt: skip
        got, _ = reader.communicate(timeout=60)
    finally:
        reader.kill()
    _ok(proc)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and got == TEXT


def test_fifo_input_is_read(tmp_path, packed):
    fifo = tmp_path / "in"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat '{packed / 'a.txt.oz'}' > '{fifo}'"])
    try:
        proc = run_cli("-dc", "in", cwd=tmp_path)
    finally:
        writer.wait(timeout=60)
    assert _ok(proc).stdout == TEXT


def test_dev_stdin_is_read_and_a_socket_refused(packed, tmp_path):
    blob = (packed / "a.txt.oz").read_bytes()
    assert _ok(run_cli("-dc", "/dev/stdin", stdin=blob, cwd=tmp_path)).stdout == TEXT
    import socket

    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        _one_line(run_cli("-c", "sock", cwd=tmp_path), 1, "not a regular file, FIFO")


def test_dev_null_is_written_through(packed, tmp_path):
    # never with -f here: a release without this change, run as root, would replace it
    before = os.stat("/dev/null")
    _ok(run_cli("-d", "-o", "/dev/null", str(packed / "a.txt.oz"), cwd=tmp_path))
    _ok(run_cli("compress", str(packed / "a.txt"), "--config", TINY, "-o", "/dev/null",
                cwd=tmp_path))  # fmt: skip
    after = os.stat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_symlink_output_is_refused_unless_followed(packed, tmp_path):
    (tmp_path / "a.txt").write_bytes(TEXT)
    (tmp_path / "target").write_bytes(b"keep me")
    link = tmp_path / "a.txt.oz"
    link.symlink_to("target")
    _one_line(run_cli("-f", "--config", TINY, "a.txt", cwd=tmp_path), 1, "symbolic link")
    proc = run_cli("compress", "a.txt", "-o", "a.txt.oz", "--force", cwd=tmp_path)
    _one_line(proc, 1, "symbolic link")
    assert link.is_symlink() and (tmp_path / "target").read_bytes() == b"keep me"
    _ok(run_cli("-f", "--follow-symlinks", "--config", TINY, "a.txt", cwd=tmp_path))
    assert link.is_symlink()
    assert (tmp_path / "target").read_bytes() == (packed / "a.txt.oz").read_bytes()


def test_directories_are_refused(tmp_path):
    (tmp_path / "a.txt").write_bytes(TEXT)
    (tmp_path / "a.txt.oz").mkdir()
    _one_line(run_cli("-f", "a.txt", cwd=tmp_path), 1, "output 'a.txt.oz' is a directory")
    assert (tmp_path / "a.txt.oz").is_dir()
    (tmp_path / "d").mkdir()
    _one_line(run_cli("d", cwd=tmp_path), 1, "input 'd' is a directory")
    assert not (tmp_path / "d.oz").exists()


# --------------------------------------------------------------------------- tiny, random


@pytest.mark.parametrize("data,limit", [(b"", 32), (b"x", 40)], ids=["empty", "one byte"])
def test_empty_and_tiny_files_cost_almost_nothing_and_never_load_jax(tmp_path, data, limit):
    (tmp_path / "f").write_bytes(data)
    proc, jax = _modules_after(["f"], tmp_path)
    _ok(proc)
    assert not jax and (tmp_path / "f.oz").stat().st_size <= limit
    (tmp_path / "f").unlink()
    proc, jax = _modules_after(["-d", "f.oz"], tmp_path)
    _ok(proc)
    assert not jax and (tmp_path / "f").read_bytes() == data


def test_random_bytes_are_stored_grow_at_most_64_bytes(tmp_path):
    (tmp_path / "r").write_bytes(RANDOM_100K)
    _ok(run_cli("--config", TINY, "r", cwd=tmp_path))
    size = (tmp_path / "r.oz").stat().st_size
    assert size - len(RANDOM_100K) <= 64
    proc, jax = _modules_after(["-dc", "r.oz"], tmp_path)  # stored only: no model to run
    assert _ok(proc).stdout == RANDOM_100K and not jax
    proc, jax = _modules_after(["-l", "r.oz"], tmp_path)
    assert " stored " in _ok(proc).stdout.decode() and not jax


def test_import_onlinezip_is_light_and_still_pins_jax():
    code = (
        "import sys, onlinezip\n"
        "assert 'jax' not in sys.modules\n"
        "import jax, jax.numpy as jnp\n"
        "jnp.ones(3).block_until_ready()  # user JAX code first: the pool is pinned already\n"
        "d = b'abc' * 50\n"
        "assert onlinezip.decompress(onlinezip.compress(d, 'tiny')) == d\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=REPO)
    assert proc.stdout == b"ok\n", proc.stderr.decode()
