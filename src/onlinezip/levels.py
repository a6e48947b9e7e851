"""``-1`` .. ``-9``: compression levels, from fastest to best, as bundled presets.

One table, to change as presets come and go. Measured on alice29.txt (README, "alice29
every preset", benchmarks/results/results.md): fast 80 KB/s at 2.275 bits/byte,
default 60 KB/s at 2.036, max 13 KB/s at 1.991. The other presets are slower *and*
worse there (tiny 42 KB/s 2.854, small 24 KB/s 2.687, base 11 KB/s 2.592, rae 5 KB/s
2.813: they exist for the model-size experiment and Rae's setup), so no level names
them. With no level, the default preset is used, as ``-6``: gzip's default level.
"""

LEVEL_PRESETS = {
    1: "fast",
    2: "fast",
    3: "fast",
    4: "default",
    5: "default",
    6: "default",
    7: "cm",
    8: "max",
    9: "max",
}
DEFAULT_LEVEL = 6
