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
import sys
import tempfile
from pathlib import Path
from typing import Any

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


def _read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise OnlinezipError(f"input {path!r} does not exist") from None
    except IsADirectoryError:
        raise OnlinezipError(f"input {path!r} is a directory") from None
    except OSError as exc:
        raise OnlinezipError(f"cannot read {path!r}: {exc.strerror}") from None


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


def _write_atomic(path: str, data: bytes, force: bool) -> None:
    """Write to a temporary file beside ``path``, then move it into place."""
    target = Path(path)
    if target.exists() and not force:
        raise _exists_error(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would, not mkstemp's 0600
        if force:
            os.replace(tmp, target)
        else:
            os.link(tmp, target)  # fails rather than clobber a file created meanwhile
            os.unlink(tmp)
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
def _progress_bar(total: int, enabled: bool):
    if not enabled or total == 0:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="B", unit_scale=True, file=sys.stderr, leave=False) as bar:

        def update(done: int, bits: float) -> None:
            bar.set_postfix_str(f"{bits / max(done, 1):.3f} bits/byte", refresh=False)
            bar.update(done - bar.n)

        yield update


def _run_codec(args: argparse.Namespace) -> dict[str, Any]:
    output = args.output or _default_output(args)
    _check_output_free(args, output)
    data = _read_input(args.input)
    show = not args.quiet and sys.stderr.isatty()
    if args.direction == "compress":
        config = load_config(args.config) if args.config else args.preset
        with _progress_bar(len(data), show) as progress:
            result = api.compress_result(data, config, progress)
    else:
        # parse (and check) once, inside decompress_result; the bar needs only the length
        with _progress_bar(container.claimed_length(data), show) as progress:
            result = api.decompress_result(
                data, ignore_environment=args.ignore_environment, progress=progress
            )
    if output == "-":
        sys.stdout.buffer.write(result.output)
        sys.stdout.buffer.flush()
    else:
        _write_atomic(output, result.output, args.force)
    return result.report


def _info(args: argparse.Namespace) -> None:
    header, rep = api.read_header(_read_input(args.input))
    info = {
        "format_version": container.VERSION,
        "preset": header.preset,
        "original_bytes": header.length,
        "streams": header.streams,
        "sha256": header.sha256.hex(),
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
            _write_atomic(args.report, (json.dumps(rep, indent=2) + "\n").encode(), force=True)
        if args.verbose:
            print(mdl.format_report(rep), file=sys.stderr)
    except OnlinezipError as exc:
        print(f"onlinezip: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("onlinezip: error: interrupted; no output was written", file=sys.stderr)
        return 130
    except MemoryError:
        print("onlinezip: error: out of memory", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"onlinezip: error: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
