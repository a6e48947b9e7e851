"""The command line: parse arguments, move bytes between files and the library.

Everything that can go wrong is reported as one line, ``onlinezip: error: ...``, with
exit code 1 (2 for usage errors). Outputs are written to a temporary file beside the
target and renamed into place only once complete, so a failure leaves nothing behind;
inputs are never modified.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from onlinezip import api, container, mdl
from onlinezip.config import load_config, preset_names
from onlinezip.errors import OnlinezipError

SUFFIX = ".oz"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onlinezip",
        description="Compress with a model that learns online: send the training code, "
        "not the weights.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, aliases in (("compress", ["encode"]), ("decompress", ["decode"])):
        p = sub.add_parser(name, aliases=aliases, help=f"{name} a file ('-' = stdin)")
        p.add_argument("input", help="input file, or - for stdin")
        p.add_argument("-o", "--output", help="output file, or - for stdout")
        p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
        p.add_argument("-v", "--verbose", action="store_true", help="print the MDL report")
        p.add_argument("--report", metavar="FILE.json", help="write the MDL report as JSON")
        p.set_defaults(direction=name)
    compress, decompress = sub.choices["compress"], sub.choices["decompress"]
    group = compress.add_mutually_exclusive_group()
    group.add_argument("--preset", help=f"bundled preset: {', '.join(preset_names())}")
    group.add_argument("--config", metavar="FILE.toml", help="your own config file")
    decompress.add_argument(
        "--ignore-environment",
        action="store_true",
        help="decode even if the file was made with other library versions or another CPU "
        "level (RISKY: may fail the checksum; wrong bytes are still never written)",
    )
    info = sub.add_parser("info", help="print a .oz file's header and MDL figures")
    info.add_argument("input")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(direction="info")
    exp = sub.add_parser("experiment", help="run a model-size experiment (see configs/experiments)")
    exp.add_argument("config", metavar="EXPERIMENT.toml")
    exp.add_argument("--out", help="results folder (default: results/NAME)")
    exp.set_defaults(direction="experiment")
    return parser


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError:
        raise OnlinezipError(f"input {path!r} does not exist") from None
    except IsADirectoryError:
        raise OnlinezipError(f"input {path!r} is a directory") from None
    except OSError as exc:
        raise OnlinezipError(f"cannot read {path!r}: {exc.strerror}") from None
    with f:
        yield f


def _default_output(args: argparse.Namespace) -> str:
    if args.input == "-":
        return "-"
    if args.direction == "compress":
        return args.input + SUFFIX
    if args.input.endswith(SUFFIX) and len(Path(args.input).name) > len(SUFFIX):
        return args.input[: -len(SUFFIX)]
    raise OnlinezipError(f"cannot name the output: {args.input!r} does not end in {SUFFIX}; use -o")


def _exists_error(path: str) -> OnlinezipError:
    return OnlinezipError(f"output {path!r} already exists; use --force to overwrite it")


@contextlib.contextmanager
def _atomic_output(path: str, force: bool) -> Iterator[BinaryIO]:
    """A temporary file beside ``path``, moved into place only if the block succeeds;
    on any error (or Ctrl-C) it is removed and ``path`` is left as it was."""
    if path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    if target.exists() and not force:
        raise _exists_error(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OnlinezipError(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would, not mkstemp's 0600
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails rather than clobber a file created meanwhile
    except FileExistsError:
        raise _exists_error(path) from None
    except OSError as exc:
        raise OnlinezipError(f"cannot write {path!r}: {exc.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _check_output_free(args: argparse.Namespace, output: str) -> None:
    """Fail before the (long) work, not after it."""
    if output == "-":
        return
    out = Path(output)
    if out.exists() and not args.force:
        raise _exists_error(output)
    if args.input != "-" and out.exists() and out.resolve() == Path(args.input).resolve():
        raise OnlinezipError("output and input are the same file; choose another output")
    if not out.parent.is_dir():
        raise OnlinezipError(f"output folder {str(out.parent)!r} does not exist")


@contextlib.contextmanager
def _progress_bar(total: int | None, enabled: bool):
    if not enabled or total == 0:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, leave=False) as bar:

        def update(done: int, bits: float) -> None:
            bar.set_postfix_str(f"{bits / max(done, 1):.3f} bits/byte", refresh=False)
            bar.update(done - bar.n)

        yield update


def _total(src: BinaryIO, direction: str) -> int | None:
    """The original's length for the progress bar, where it can be known in advance."""
    if not src.seekable():
        return None
    if direction == "compress":
        return os.fstat(src.fileno()).st_size
    origin = src.tell()
    try:
        return container.scan(src)[1].length
    except OnlinezipError:
        return None  # decompress_stream reports the problem
    finally:
        src.seek(origin)


def _run_codec(args: argparse.Namespace) -> dict[str, Any]:
    output = args.output or _default_output(args)
    _check_output_free(args, output)
    show = not args.quiet and sys.stderr.isatty()
    with _open_input(args.input) as src:
        total = _total(src, args.direction) if show else None
        with _progress_bar(total, show) as progress, _atomic_output(output, args.force) as dst:
            if args.direction == "compress":
                config = load_config(args.config) if args.config else args.preset
                return api.compress_stream(src, dst, config, progress)
            return api.decompress_stream(
                src, dst, ignore_environment=args.ignore_environment, progress=progress
            )


def _info(args: argparse.Namespace) -> None:
    with _open_input(args.input) as src:
        reader = container.Reader(src)  # for the version; read_header checks the rest
        header, summary, rep = api.read_header_from(reader)
    info = {
        "format_version": reader.version,
        "preset": header.preset,
        "original_bytes": summary.length,
        "streams": header.streams,
        "chunk_bytes": header.config.run.chunk_bytes,
        "sha256": summary.sha256.hex(),
        "environment": header.environment,
        "report": rep,
    }
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return
    print(f"format version    {info['format_version']}")
    print(f"sha256            {info['sha256']}")
    env = ", ".join(f"{k} {v}" for k, v in sorted(header.environment.items()))
    print(f"environment       {env}")
    print(mdl.format_report(rep))
    print(f"config            {header.config.canonical_json()}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.direction == "info":
            _info(args)
            return 0
        if args.direction == "experiment":
            from onlinezip import experiment

            exp = experiment.load_experiment(args.config)
            out = Path(args.out or f"results/{exp.name}")
            experiment.run(exp, out, log=lambda line: print(line, file=sys.stderr))
            print(f"results in {out}/ (summary.json, bits.npz)", file=sys.stderr)
            return 0
        rep = _run_codec(args)
        if args.report:
            with _atomic_output(args.report, force=True) as f:
                f.write((json.dumps(rep, indent=2) + "\n").encode())
        if args.verbose:
            print(mdl.format_report(rep), file=sys.stderr)
    except OnlinezipError as exc:
        print(f"onlinezip: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("onlinezip: error: interrupted; no output was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`onlinezip info x.oz | head`): quietly, as cat
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except MemoryError:
        print("onlinezip: error: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"onlinezip: error: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
