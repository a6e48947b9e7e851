"""One tuning measurement: the max preset with some fields changed, on some files.

    python benchmarks/tune_one.py NAME '{"cm": {"history": 3}}' canterbury/alice29.txt \
        canterbury/kennedy.xls:200000

Prints, per file, NAME, the file (``:N`` keeps its first N bytes), the ideal code length
in bits per byte (the sum of -log2 p over the coded bits: the container adds a header
and the coder's few bytes) and the encoder's speed. Files are read under ../shared/data
(or $ONLINEZIP_DATA); $ONLINEZIP_TUNE_PRESET names another preset to start from. This
is how benchmarks/results/*/tuning.md were measured; the sizes in the benchmarks
themselves are of written files. The input is cut into the preset's streams as the CLI
cuts a one-chunk file.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from onlinezip.codec import Codec, effective_streams
from onlinezip.config import load_preset

DATA = Path(os.environ.get("ONLINEZIP_DATA", Path(__file__).parents[2] / "shared" / "data"))


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        raise SystemExit(__doc__)
    name, overrides = argv[0], json.loads(argv[1])
    config = load_preset(os.environ.get("ONLINEZIP_TUNE_PRESET", "max")).replace(**overrides)
    for spec in argv[2:]:
        path, _, limit = spec.partition(":")
        data = (DATA / path).read_bytes()
        data = data[: int(limit)] if limit else data
        start = time.perf_counter()
        streams = effective_streams(len(data), config.run)
        _, bits = Codec(config, streams).encode_chunk(data)
        seconds = time.perf_counter() - start
        bpb = float(np.sum(bits)) / len(data)
        print(f"{name}\t{spec}\t{bpb:.4f}\t{len(data) / seconds / 1000:.2f} KB/s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
