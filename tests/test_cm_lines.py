"""Text contexts of the context mixer: the line model (models/cm/lines.py) and the word
history (models/cm/contexts.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm import contexts, lines


def _feed(text: bytes, size: int = 1024):
    """The line state and a history ring after ``text``, one byte at a time."""
    state = lines.init(1)["lines"]
    hist = np.zeros(size, np.int32)
    mask = jnp.ones(1, jnp.float32)
    for pos, byte in enumerate(text):
        hist[pos % size] = byte
        state = lines.advance(state, jnp.asarray([byte]), jnp.asarray([pos]), mask)
    return state, jnp.asarray(hist)


def test_line_starts_follow_line_feeds_and_skip_masked_bytes():
    state, _ = _feed(b"ab\ncde\nf")
    assert state.tolist() == [[7, 3]]  # this line starts at 7, the one before at 3
    masked = lines.advance(state, jnp.asarray([10]), jnp.asarray([8]), jnp.zeros(1))
    assert masked.tolist() == state.tolist()


def test_line_contexts_see_the_column_and_the_byte_above():
    # the next byte is at column 2 of the third line; above it, "e" of "cdefg"
    text = b"xyz\ncdefg\nhi"
    state, hist = _feed(text)
    pos, last = jnp.asarray([len(text)]), jnp.asarray([text[-1]])
    here = lines.context_hashes(state, hist, pos, last, 3)
    # the same column and byte above, other bytes before: the same three contexts
    other_text = b"q\nzzefg\nhi"
    other_state, other_hist = _feed(other_text)
    other = lines.context_hashes(
        other_state, other_hist, jnp.asarray([len(other_text)]), last, 3
    )
    assert here.tolist() == other.tolist()
    # another column (one byte more on the line): column contexts change
    moved_text = text + b"i"
    moved_state, moved_hist = _feed(moved_text)
    moved = lines.context_hashes(moved_state, moved_hist, jnp.asarray([len(moved_text)]), last, 3)
    assert moved[0, 0] != here[0, 0] and moved[0, 2] != here[0, 2]
    # a line above too short to reach the column: no byte above (a context of its own)
    short_text = b"c\nhi"
    short_state, short_hist = _feed(short_text)
    short = lines.context_hashes(short_state, short_hist, jnp.asarray([4]), last, 3)
    assert short[0, 1] != here[0, 1]


def test_word_history_keeps_the_two_words_before():
    window = jnp.zeros((1, contexts.WINDOW), jnp.int32)
    words = jnp.zeros((1, 3), jnp.uint32)
    seen = []
    for byte in b"the cat the dog":
        window, words = contexts.advance(window, words, jnp.asarray([byte]))
        seen.append(words[0].tolist())
    the, cat = seen[2][0], seen[6][0]  # the word hashes once "the" and "cat" were read
    assert seen[-1][1:] == [the, cat]  # in "dog": the word before is "the", then "cat"
    assert seen[10][1:] == [cat, the]  # a repeated word still moves the history on
