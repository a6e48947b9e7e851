"""The pixel model of the context mixer (models/cm/pixels.py): templates read the right
neighbours of a 1-bit bitmap, and a bitmap compresses better with them."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip import api
from onlinezip.config import Config
from onlinezip.errors import OnlinezipError
from onlinezip.models.cm import pixels, tree

ROW_BYTES = 6  # a bitmap 48 pixels wide


def _reference_template(image, y, x, shape) -> int:
    """The template of pixel (y, x) of a 0/1 image, pixel by pixel: left neighbours from
    the farthest, then each row above from its left end; 0 outside the image."""

    def at(yy, xx):
        inside = 0 <= yy and 0 <= xx < image.shape[1]
        return int(image[yy, xx]) if inside else 0

    left, *halves = shape
    value = 0
    for dx in range(left, 0, -1):
        value = value << 1 | at(y, x - dx)
    for dy, d in enumerate(halves, start=1):
        for dx in range(-d, d + 1) if d >= 0 else ():
            value = value << 1 | at(y - dy, x + dx)
    return value


def test_templates_match_the_neighbours_of_every_pixel():
    rng = np.random.default_rng(5)
    image = rng.integers(0, 2, (5, ROW_BYTES * 8))  # (rows, pixels)
    data = np.packbits(image.astype(np.uint8), axis=1).reshape(-1)  # MSB: leftmost pixel
    y, byte_x = 4, 3  # the byte to predict: row 4, pixels 24..31
    pos = y * ROW_BYTES + byte_x
    hist = jnp.asarray(np.pad(data[:pos].astype(np.int32), (0, 64 - pos)))
    rec = jnp.asarray([[ROW_BYTES, ROW_BYTES, 16]], jnp.int32)
    got = pixels.templates(
        3, rec, hist, jnp.asarray([pos]), jnp.asarray([data[pos - 1]]), tree.all_nodes(1)
    )
    for node in range(tree.NODES):
        depth, partial = int(tree.DEPTH[node]), int(tree.PARTIAL[node])
        row = image.copy()  # the pixels of the byte left of this node, as the node sees
        x = byte_x * 8 + depth
        known = [(partial >> (depth - 1 - i)) & 1 for i in range(depth)]
        row[y, byte_x * 8 : x] = known
        for k, shape in enumerate(pixels.TEMPLATES):
            assert int(got[0, node, k]) == _reference_template(row, y, x, shape), (node, k)
    no_rows = pixels.templates(
        3, rec.at[0, 0].set(0), hist, jnp.asarray([pos]), hist[:1], tree.all_nodes(1)
    )
    assert (no_rows == -1).all()  # no record length known: no template


def _bitmap(rows: int, width: int = 128) -> bytes:
    """A 1-bit picture whose pixels follow from their neighbours (a noisy automaton: the
    left pixel xor the one above-right, one pixel in 20 flipped), which no byte context
    sees but a pixel template does; a border byte starts every row, so the record model
    finds the row length."""
    rng = np.random.default_rng(7)
    image = np.zeros((rows, width), np.uint8)
    image[:, :8] = np.unpackbits(np.asarray([0xA7], np.uint8))
    image[0, 8:] = rng.integers(0, 2, width - 8)
    for y in range(1, rows):
        for x in range(8, width):
            left = image[y, x - 1] if x else 0
            image[y, x] = left ^ image[y - 1, min(x + 1, width - 1)] ^ (rng.random() < 0.05)
    return np.packbits(image, axis=1).tobytes()


def test_a_bitmap_compresses_better_with_pixels_and_roundtrips():
    config = Config().replace(
        model={"family": "cm"},
        run={"streams": 1},
        cm={"table_bits": 12, "match_bits": 12, "orders": [1, 2, 3], "column": 3, "match_min": 6},
    )
    with_pixels = config.replace(cm={"pixels": 3, "pixel_mixer": 1, "pixel_apm": 1})
    data = _bitmap(250)  # 4,000 bytes, rows of 16
    plain, blob = api.compress(data, config), api.compress(data, with_pixels)
    assert api.decompress(blob) == data
    assert len(blob) < 0.7 * len(plain)  # measured: 2,170 bytes; without, stored (4,034)


@pytest.mark.parametrize(
    "cm,message",
    [
        ({"pixels": 4}, "cm.pixels must be"),
        ({"pixels": 1, "column": 1}, "set cm.column"),
        ({"pixel_mixer": 1, "pixels": 1}, "set cm.pixels = 2 or 3"),
        ({"pixel_apm": 1}, "set cm.pixels >= 1"),
    ],
)
def test_pixel_options_say_what_they_need(cm, message):
    base = Config().replace(model={"family": "cm"}, cm={"column": 3, "match_min": 6})
    with pytest.raises(OnlinezipError, match=message):
        base.replace(cm=cm)
