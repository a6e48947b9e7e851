"""Ideal code length of a file's first N bytes under a preset or a config file.

    python benchmarks/prefix_bits.py max ../shared/data/large/bible.txt 1000000
    python benchmarks/prefix_bits.py benchmarks/baselines/max-order12.toml FILE N

Prints the config, the file, N, bits per byte (the sum of -log2 p over the coded bits)
and the encoder's speed (compilation included). For prefixes of files too long to run
whole in a session; the benchmarks' sizes are of written files.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from onlinezip.codec import Codec
from onlinezip.config import load_config, load_preset


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    name, path, limit = argv[0], Path(argv[1]), int(argv[2])
    config = load_config(Path(name)) if name.endswith(".toml") else load_preset(name)
    data = path.read_bytes()[:limit]
    start = time.perf_counter()
    _, bits = Codec(config, 1).encode_chunk(data)
    seconds = time.perf_counter() - start
    bpb = float(np.sum(bits)) / len(data)
    print(f"{name}\t{path.name}\t{len(data)}\t{bpb:.4f}\t{len(data) / seconds / 1000:.2f} KB/s")


if __name__ == "__main__":
    main(sys.argv[1:])
