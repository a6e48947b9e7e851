"""``-1`` .. ``-9``: compression levels, from fastest to best, as bundled presets.

One table, to change as presets come and go. Measured on alice29.txt: fast 80 KB/s at
2.275 bits/byte, default 60 KB/s at 2.036 (0.3.0, benchmarks/results/results.md); the
context mixer (0.4.0-dev, benchmarks/results/cm-0.5/small-files): cm (2 streams) 4.9 KB/s
at 1.953, max (1 stream) 3.9 KB/s at 1.946; since session 6 (benchmarks/results/cm-0.9)
max 4.1 KB/s at 1.879, and at -9 ultra 2.8 KB/s at 1.859 (max with a neural input; its
files are bound to the CPU model); session 9's max (benchmarks/results/cm-1.2, an AMD
EPYC 25/1, about half the Intel's speed) 2.5 KB/s at 1.877, session 10's
(benchmarks/results/cm-1.3) at about the same speed at 1.872, session 11's
(benchmarks/results/cm-1.4) at about 0.6x that speed at 1.848 (then smaller than
ultra's on text; ultra then kept session 9's context mixer). The other presets are
slower *and* worse there (tiny 42 KB/s 2.854, small 24 KB/s 2.687, base 11 KB/s 2.592,
rae 5 KB/s 2.813: they exist for the model-size experiment and Rae's setup), so no level
names them. With no level, the default preset is used, as ``-6``: gzip's default level.
Since session 12 that preset is a lean context mixer in up to 16 streams
(benchmarks/results/default-cm, an AMD EPYC 25/1: alice29 1.954 at 9 KB/s, whole calls;
the hashed-context learner it replaced, now the preset ``hashctx``, 2.034 at 20 KB/s in
the same run), and a small input asked of it goes to max (``SMALL_INPUT_PRESETS``).
Since session 14 it codes a byte as two nibbles in up to 32 streams
(benchmarks/results/speed-14). Since session 15 ultra is max's whole context mixer with
the neural input (benchmarks/results/cm-1.5: alice29 1.835 at 1.0 KB/s, against max's
1.848), so -9 is again below -8 on text.
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
    9: "ultra",
}
DEFAULT_LEVEL = 6

# A preset that hands small inputs to another, as zstd picks its parameters by the size
# of the source: an input that is one chunk shorter than the bound is coded by the named
# preset instead (the file's header records the one that coded it). Below 32 KB the
# best model costs seconds whatever it is, and the default's many streams cannot help
# (measured in session 12, benchmarks/results/default-cm: on the four Canterbury files
# under 32 KB the default's context mixer wrote 8-14% more than max and lost to PPMd o12).
SMALL_INPUT_PRESETS = {"default": ("max", 32 * 1024)}


def preset_for_input(preset: str, length: int) -> str:
    """The preset that codes a one-chunk input of ``length`` bytes asked of ``preset``."""
    small, bound = SMALL_INPUT_PRESETS.get(preset, (preset, 0))
    return small if length < bound else preset
