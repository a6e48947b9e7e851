"""The command line: gzip-style flags (``onlinezip FILE...``, ``-d``, ``-c``, ``-t``,
``-l``, ``-1``..``-9``) on top of the subcommands ``compress``, ``decompress``, ``info``
and ``experiment``.

Everything that can go wrong is reported as one line, ``onlinezip: error: ...``. Outputs
that are regular files are written to a temporary file beside the target and renamed into
place only once complete, so a failure leaves nothing behind; FIFOs and character devices
(``/dev/null``) are written through and never replaced; a symbolic link is refused unless
``--follow-symlinks``; a directory is refused. Inputs are never modified or deleted.

This module imports nothing heavy at the top: ``--help``, ``--version``, ``-l`` and
stored-only files never load JAX (``onlinezip.api`` is imported when a file is coded).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from onlinezip import __version__, container, mdl
from onlinezip.errors import OnlinezipError
from onlinezip.levels import DEFAULT_LEVEL, LEVEL_PRESETS

SUFFIX = ".oz"
SUBCOMMANDS = ("compress", "encode", "decompress", "decode", "info", "experiment")
OK, ERROR, WARNING = 0, 1, 2  # exit statuses, as gzip's


class Warned(Exception):
    """A file skipped with a warning (exit status 2 unless an error also happened)."""


# --------------------------------------------------------------------------- files


def _input_error(path: str, exc: OSError) -> OnlinezipError:
    if isinstance(exc, FileNotFoundError):
        return OnlinezipError(f"input {path!r} does not exist")
    return OnlinezipError(f"cannot read {path!r}: {exc.strerror}")


@contextlib.contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    """Regular files, FIFOs and character devices (``/dev/stdin``) are read, through a
    symbolic link too (reading destroys nothing); directories and others are refused."""
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _input_error(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise OnlinezipError(f"input {path!r} is a directory")
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode)):
        raise OnlinezipError(f"input {path!r} is not a regular file, FIFO or character device")
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise _input_error(path, exc) from None
    with f:
        yield f


def _exists_error(path: str) -> OnlinezipError:
    return OnlinezipError(f"output {path!r} already exists; use --force to overwrite it")


def _stat_for_output(stat_fn, target: str, path: str) -> os.stat_result | None:
    """``stat_fn(target)``, None if nothing is there; any other failure is a refusal to
    write ``path``."""
    try:
        return stat_fn(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OnlinezipError(f"cannot write {path!r}: {exc.strerror}") from None


def _classify_output(path: str, force: bool, follow: bool) -> tuple[str, str]:
    """("new" | "replace" | "stream", the path to write) for an output path, or a refusal.

    Only a regular file is ever replaced (with ``force``), and only by a file onlinezip
    wrote; a FIFO or character device is written through (no ``force`` needed); a
    symbolic link is refused unless ``follow``, then its target is classified."""
    target = path
    st = _stat_for_output(os.lstat, path, path)
    if st is not None and stat.S_ISLNK(st.st_mode):
        if not follow:
            raise OnlinezipError(
                f"output {path!r} is a symbolic link; it is not replaced "
                "(--follow-symlinks writes to the file it points to)"
            )
        target = os.path.realpath(path)
        st = _stat_for_output(os.stat, target, path)
    if st is None:
        parent = Path(target).parent
        if not parent.is_dir():
            raise OnlinezipError(f"output folder {str(parent)!r} does not exist")
        return "new", target
    if stat.S_ISDIR(st.st_mode):
        raise OnlinezipError(f"output {path!r} is a directory")
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return "stream", target
    if not stat.S_ISREG(st.st_mode):
        raise OnlinezipError(
            f"output {path!r} is not a regular file, FIFO or character device; not replaced"
        )
    if not force:
        raise _exists_error(path)
    return "replace", target


@contextlib.contextmanager
def _open_output(
    path: str, *, force: bool, follow: bool = False, compressed: bool = False
) -> Iterator[BinaryIO]:
    """Where the output goes. A regular file: a temporary file beside it, moved into place
    only if the block succeeds (on any error or Ctrl-C it is removed and ``path`` is left
    as it was). A FIFO or character device: written through. ``compressed`` data is not
    written to a terminal unless ``force``."""
    if path == "-":
        if compressed and not force and sys.stdout.isatty():
            raise _terminal_error()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    kind, target = _classify_output(path, force, follow)
    if kind == "stream":
        try:
            fd = os.open(target, os.O_WRONLY | os.O_NOCTTY)
        except OSError as exc:
            raise OnlinezipError(f"cannot write {path!r}: {exc.strerror}") from None
        if compressed and not force and os.isatty(fd):
            os.close(fd)
            raise _terminal_error()
        with os.fdopen(fd, "wb") as f:
            yield f
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name}.", suffix=".tmp",
                                   dir=Path(target).parent)  # fmt: skip
    except OSError as exc:
        raise OnlinezipError(f"cannot write {path!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would, not mkstemp's 0600
        if kind == "replace":
            with contextlib.suppress(FileNotFoundError):  # still a regular file?
                if not stat.S_ISREG(os.lstat(target).st_mode):
                    raise OnlinezipError(f"output {path!r} changed kind meanwhile; not replaced")
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


def _terminal_error() -> OnlinezipError:
    return OnlinezipError(
        "compressed data not written to a terminal; redirect it, or use -f to force"
    )


def _check_not_same(inp: str, output: str) -> None:
    if inp == "-" or output == "-":
        return
    with contextlib.suppress(OSError):
        if os.path.samefile(inp, output):
            raise OnlinezipError("output and input are the same file; choose another output")


# --------------------------------------------------------------------------- coding


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


class _Sink:
    """An output that keeps nothing (``-t``)."""

    def write(self, data: bytes) -> int:
        return len(data)


def _code(
    direction: str, inp: str, output: str | None, *, config: Any = None, force: bool = False,
    follow: bool = False, quiet: bool = False, ignore_environment: bool = False,
    threads: int = 1, cluster: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Compress or decompress ``inp`` into ``output`` (None: test, write nothing), with
    ``threads`` workers (``-T``; 0: every usable core) or on the Dask ``cluster``."""
    if output is not None and output != "-":
        _classify_output(output, force, follow)  # fail before the (long) work, not after
        _check_not_same(inp, output)
    if inp == "-" and direction != "compress" and not force and sys.stdin.isatty():
        raise OnlinezipError("compressed data not read from a terminal; use -f to force")
    show = not quiet and sys.stderr.isatty()
    from onlinezip import api  # loads numpy; JAX only once a model is needed
    from onlinezip.engine import make_engine

    with _open_input(inp) as src, make_engine(threads, cluster) as engine:
        total = _total(src, direction) if show else None
        segments = threads if threads > 0 else engine.workers  # -T 0, --cluster: every worker
        with contextlib.ExitStack() as stack:
            progress = stack.enter_context(_progress_bar(total, show))
            if output is None:
                dst = _Sink()
            else:
                dst = stack.enter_context(
                    _open_output(output, force=force, follow=follow,
                                 compressed=direction == "compress")  # fmt: skip
                )
            if direction == "compress":
                return api.compress_stream(
                    src, dst, config, progress, segments=segments, engine=engine
                )
            return api.decompress_stream(
                src, dst, ignore_environment=ignore_environment, progress=progress,
                engine=engine,
            )  # fmt: skip


def _write_report(path: str, rep: dict[str, Any]) -> None:
    with _open_output(path, force=True) as f:
        f.write((json.dumps(rep, indent=2) + "\n").encode())


# --------------------------------------------------------------------------- subcommands


def _subcommand_parser() -> argparse.ArgumentParser:
    from onlinezip.config import preset_names

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
        p.add_argument("--follow-symlinks", action="store_true",
                       help="an output that is a symbolic link: write to its target")  # fmt: skip
        p.add_argument("-T", "--threads", type=_threads, default=None, metavar="N",  # fmt: skip
                       help="N worker processes, in independent segments (0: every core)")
        p.add_argument("--cluster", metavar="ADDRESS",  # fmt: skip
                       help="code the segments on this Dask scheduler (tcp://host:8786)")
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


def _default_output(inp: str, direction: str, suffix: str = SUFFIX) -> str:
    if inp == "-":
        return "-"
    if direction == "compress":
        return inp + suffix
    if inp.endswith(suffix) and len(Path(inp).name) > len(suffix):
        return inp[: -len(suffix)]
    raise OnlinezipError(f"cannot name the output: {inp!r} does not end in {suffix}; use -o")


def _info(args: argparse.Namespace) -> None:
    from onlinezip import api

    with _open_input(args.input) as src:
        reader = container.Reader(src)  # for the version; read_header checks the rest
        header, summary, rep = api.read_header_from(reader)
    environment = dict(header.environment)
    arithmetic = environment.pop("onlinezip", None)  # the step programs' release tag
    info = {
        "format_version": reader.version,
        "read_by": f"onlinezip {__version__}",
        "preset": header.preset,
        "original_bytes": summary.length,
        "streams": header.streams,
        "segments": len(reader.segments) if reader.segments is not None else 1,
        "chunk_bytes": header.config.run.chunk_bytes if header.model else None,
        "sha256": summary.sha256.hex() if summary.sha256 is not None else None,
        # the bytes of the SHA-256 the file holds: 32, or its first 8 (format 4)
        "sha256_bytes": len(summary.sha256) if summary.sha256 is not None else None,
        "crc32": f"{summary.crc32:08x}" if summary.crc32 is not None else None,
        "environment": environment,
        "arithmetic": arithmetic,
        "report": rep,
    }
    if args.json:
        print(json.dumps(info, indent=2, sort_keys=True))
        return
    print(f"format version    {info['format_version']} (read by onlinezip {__version__})")
    if info["sha256"] is not None:
        label = "sha256" if info["sha256_bytes"] == 32 else "sha256 (prefix)"
        print(f"{label:<18}{info['sha256']}")
    if info["crc32"] is not None:
        print(f"crc32             {info['crc32']}")
    if header.model:
        env = ", ".join(f"{k} {v}" for k, v in sorted(environment.items()))
        print(f"environment       {env}")
        print(f"step arithmetic   {arithmetic!r} (the tag the decoder's step programs must match)")
    print(mdl.format_report(rep))
    if header.model:
        print(f"config            {header.config.canonical_json()}")


def _main_subcommand(argv: list[str]) -> int:
    args = _subcommand_parser().parse_args(argv)

    def run() -> int:
        if args.direction == "info":
            _info(args)
            return OK
        if args.direction == "experiment":
            from onlinezip import experiment

            exp = experiment.load_experiment(args.config)
            out = Path(args.out or f"results/{exp.name}")
            experiment.run(exp, out, log=lambda line: print(line, file=sys.stderr))
            print(f"results in {out}/ (summary.json, bits.npz)", file=sys.stderr)
            return OK
        config = None
        if args.direction == "compress":
            from onlinezip.config import load_config

            config = load_config(args.config) if args.config else args.preset
        output = args.output or _default_output(args.input, args.direction)
        rep = _code(
            args.direction, args.input, output, config=config, force=args.force,
            follow=args.follow_symlinks, quiet=args.quiet,
            ignore_environment=getattr(args, "ignore_environment", False),
            threads=_threads_for(args), cluster=args.cluster,
        )  # fmt: skip
        if args.report:
            _write_report(args.report, rep)
        if args.verbose:
            print(mdl.format_report(rep), file=sys.stderr)
        return OK

    return _guard(run, "onlinezip")


# --------------------------------------------------------------------------- gzip style

HELP = """\
usage: {prog} [OPTION]... [FILE]...

Compress or decompress FILEs with a model that learns online (default: compress).
FILE.oz is written beside FILE (and FILE beside FILE.oz with -d). With no FILE, or
when FILE is -, read standard input and write standard output.
Inputs are NEVER deleted or modified: -k/--keep is accepted and is always in effect.

  -d, --decompress   decompress (also --uncompress; `unoz` is `onlinezip -d`)
  -z, --compress     compress (the default)
  -c, --stdout       write to standard output (`ozcat` is `onlinezip -dc`)
  -o, --output FILE  write to FILE (one input only)
  -k, --keep         keep the inputs (always: onlinezip never deletes them)
  -t, --test         test: decode each file whole, check every checksum, write nothing
  -l, --list         list sizes, ratio, preset and MDL terms (no decoding)
  -1 .. -9           speed against ratio, as presets: {levels} (default -{default})
      --fast, --best -1, -9
      --preset NAME  a bundled preset: {presets}
      --config FILE  your own config (TOML)
  -f, --force        overwrite existing outputs; write compressed data to a terminal;
                     compress a file that already ends in the suffix
  -S, --suffix SUF   use SUF instead of .oz
      --follow-symlinks  an output that is a symbolic link: write to its target
                     (without it such an output is refused, never replaced)
      --report FILE  write the MDL report as JSON (one input only)
      --ignore-environment  decode a file made with other library versions or another
                     CPU model or level (RISKY: it may fail its checksum; then nothing
                     is written)
  -T, --threads N    N worker processes (0: every usable core); compressing, the input
                     is cut into up to N independent segments (each >= run.min_segment_bytes)
      --cluster ADDRESS  code the segments on a Dask scheduler (tcp://host:8786); with
                     no -T, as many segments as the cluster has worker threads
  -q, --quiet        no warnings, no progress bar
  -v, --verbose      a line per file (-vv: the MDL report too)
  -h, --help         this help
  -V, --version      the version

Only regular files that onlinezip writes ever replace an output (atomically, and only
with -f); FIFOs and character devices such as /dev/null are written through; symbolic
links and directories are refused.
Exit status: 0 ok, 1 error, 2 warning (a file skipped: wrong suffix, already .oz).
Subcommands (unchanged): {prog} compress|decompress|info|experiment ... (see
`{prog} compress --help`); a file named like one needs ./NAME.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 1, as gzip
        print(f"{self.prog}: error: {message} (try --help)", file=sys.stderr)
        sys.exit(ERROR)


def _threads(value: str) -> int:
    """``-T N``: 0 (every usable core) up to the most segments a file holds."""
    from onlinezip.container import MAX_SEGMENTS

    try:
        n = int(value)
    except ValueError:
        n = -1
    if not 0 <= n <= MAX_SEGMENTS:
        raise argparse.ArgumentTypeError(f"-T takes 0..{MAX_SEGMENTS}, not {value!r}")
    return n


def _threads_for(args: argparse.Namespace) -> int:
    """-T as given; without it 1, or with --cluster 0 (as many as the cluster's workers)."""
    if args.threads is not None:
        return args.threads
    return 0 if args.cluster else 1


def _gzip_parser(prog: str) -> argparse.ArgumentParser:
    p = _Parser(prog=prog, add_help=False)
    p.add_argument("files", nargs="*")
    mode = p.add_mutually_exclusive_group()
    for flags, value in (
        (("-d", "--decompress", "--uncompress"), "decompress"),
        (("-z", "--compress"), "compress"),
        (("-t", "--test"), "test"),
        (("-l", "--list"), "list"),
    ):
        mode.add_argument(*flags, dest="mode", action="store_const", const=value)
    p.add_argument("-c", "--stdout", "--to-stdout", action="store_true")
    p.add_argument("-o", "--output")
    p.add_argument("-k", "--keep", action="store_true")
    for level in LEVEL_PRESETS:
        p.add_argument(f"-{level}", dest="level", action="store_const", const=level)
    p.add_argument("--fast", dest="level", action="store_const", const=min(LEVEL_PRESETS))
    p.add_argument("--best", dest="level", action="store_const", const=max(LEVEL_PRESETS))
    p.add_argument("--preset")
    p.add_argument("--config")
    p.add_argument("-f", "--force", action="store_true")
    p.add_argument("-S", "--suffix", default=SUFFIX)
    p.add_argument("--follow-symlinks", action="store_true")
    p.add_argument("--report")
    p.add_argument("--ignore-environment", action="store_true")
    p.add_argument("-T", "--threads", type=_threads, default=None)
    p.add_argument("--cluster")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-h", "--help", action="store_true")
    p.add_argument("-V", "--version", action="store_true")
    return p


def _help(prog: str) -> str:
    from onlinezip.config import preset_names

    levels = ", ".join(f"-{k} {v}" for k, v in LEVEL_PRESETS.items())
    return HELP.format(
        prog=prog, levels=levels, default=DEFAULT_LEVEL, presets=", ".join(preset_names())
    )


def _main_gzip(argv: list[str], prog: str) -> int:
    parser = _gzip_parser(prog)
    args = parser.parse_args(argv)
    if args.help:
        sys.stdout.write(_help(prog))
        return OK
    if args.version:
        print(f"onlinezip {__version__}")
        return OK
    mode = args.mode or "compress"
    files = args.files or ["-"]
    if not args.suffix or "/" in args.suffix:
        parser.error(f"bad suffix {args.suffix!r}: it must be non-empty, without '/'")
    if sum(x is not None for x in (args.level, args.preset, args.config)) > 1:
        parser.error("choose one of -1..-9, --preset and --config")
    if args.output and (len(files) > 1 or args.stdout):
        parser.error("-o takes one input, and not with -c")
    if args.report and len(files) > 1:
        parser.error("--report takes one input")
    if mode == "compress" and len(files) > 1 and (args.stdout or "-" in files):
        parser.error("cannot compress several files to standard output (a .oz holds one)")
    say = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))

    config: Any = None
    if mode == "compress":
        if args.config:
            config = args.config
        else:
            config = args.preset or LEVEL_PRESETS[args.level or DEFAULT_LEVEL]

    if mode == "list":
        return _guard(lambda: _list(files, args.force), prog)

    def one(inp: str) -> None:
        cfg = config
        if mode == "compress" and args.config:
            from onlinezip.config import load_config

            cfg = load_config(args.config)
        if mode == "test":
            output = None
        elif args.output:
            output = args.output
        elif args.stdout or inp == "-":
            output = "-"
        elif mode == "compress":
            if inp.endswith(args.suffix) and not args.force:
                raise Warned(f"{inp} already has {args.suffix} suffix -- unchanged")
            output = inp + args.suffix
        elif inp.endswith(args.suffix) and len(Path(inp).name) > len(args.suffix):
            output = inp[: -len(args.suffix)]
        else:
            raise Warned(f"{inp}: unknown suffix -- ignored")
        threads = _threads_for(args)
        rep = _code(
            "compress" if mode == "compress" else "decompress", inp, output, config=cfg,
            force=args.force, follow=args.follow_symlinks, quiet=args.quiet,
            ignore_environment=args.ignore_environment, threads=threads, cluster=args.cluster,
        )  # fmt: skip
        if args.report:
            _write_report(args.report, rep)
        if args.verbose:
            if mode == "test":
                print(f"{inp}: OK", file=sys.stderr)
            else:
                where = "standard output" if output == "-" else output
                orig, packed = rep["original_bytes"], rep["container_bytes"]
                print(f"{inp}:\t{_ratio(packed, orig):>6} -- created {where}", file=sys.stderr)
        if args.verbose > 1:
            print(mdl.format_report(rep), file=sys.stderr)

    status = OK
    for inp in files:
        code = _guard(lambda inp=inp: one(inp), prog, say=say)
        status = ERROR if ERROR in (status, code) else max(status, code)
        if code not in (OK, ERROR, WARNING):  # Ctrl-C, closed pipe: stop here
            return code
    return status


def _ratio(packed: int, original: int) -> str:
    """gzip's ratio: the share of the original saved (negative when it grew)."""
    return f"{100 * (1 - packed / original):.1f}%" if original else "0.0%"


def _list(files: list[str], force: bool) -> int:
    """``-l``: sizes, ratio, preset and MDL terms, from the headers and end records."""
    from onlinezip import api

    print(f"{'compressed':>12} {'uncompressed':>12} {'ratio':>7} {'preset':<10}"
          f" {'NLL bytes':>12} {'code bytes':>10} {'DL bytes':>12}  name")  # fmt: skip
    total_packed = total_orig = 0
    status = OK
    for inp in files:
        try:
            if inp == "-" and not force and sys.stdin.isatty():
                raise OnlinezipError("compressed data not read from a terminal; use -f to force")
            with _open_input(inp) as src:
                _, summary, rep = api.read_header_from(container.Reader(src))
        except OnlinezipError as exc:
            print(f"onlinezip: error: {inp}: {exc}", file=sys.stderr)
            status = ERROR
            continue
        packed, orig = rep["container_bytes"], rep["original_bytes"]
        total_packed, total_orig = total_packed + packed, total_orig + orig
        print(f"{packed:>12} {orig:>12} {_ratio(packed, orig):>7} {rep['preset']:<10}"
              f" {rep['nll_bits'] / 8:>12.1f} {rep['code_bytes']:>10}"
              f" {rep['description_length_bytes']:>12}  {inp}")  # fmt: skip
    if len(files) > 1:
        print(f"{total_packed:>12} {total_orig:>12} {_ratio(total_packed, total_orig):>7}"
              f" {'':<10} {'':>12} {'':>10} {'':>12}  (totals)")  # fmt: skip
    return status


# --------------------------------------------------------------------------- entry points


def _guard(fn: Callable[[], int | None], prog: str, say: Callable[[str], None] | None = None):
    """Run ``fn``; every failure becomes one line on stderr and an exit status."""
    try:
        return fn() or OK
    except Warned as exc:
        (say or (lambda m: print(m, file=sys.stderr)))(f"{prog}: warning: {exc}")
        return WARNING
    except OnlinezipError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print(f"{prog}: error: interrupted; no output was written", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`onlinezip info x.oz | head`): quietly, as cat
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except MemoryError:
        print(f"{prog}: error: out of memory", file=sys.stderr)
        return ERROR
    except Exception as exc:  # a bug: still one line, never a traceback
        print(f"{prog}: error: internal error ({type(exc).__name__}: {exc})", file=sys.stderr)
        return ERROR


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _main_subcommand(argv)
    return _main_gzip(argv, "onlinezip")


def unoz() -> int:
    """``unoz FILE...`` = ``onlinezip -d FILE...`` (as gunzip, unxz)."""
    return _main_gzip(["-d", *sys.argv[1:]], "unoz")


def ozcat() -> int:
    """``ozcat FILE...`` = ``onlinezip -dc FILE...`` (as zcat, xzcat)."""
    return _main_gzip(["-dc", *sys.argv[1:]], "ozcat")


if __name__ == "__main__":
    sys.exit(main())
