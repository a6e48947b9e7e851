"""Which contexts the counts are kept for (onlinezip.models.cm.contexts): the prose
contexts (cm.text_orders) read text case folded, with line ends as spaces."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm import contexts


def _hashes(text: bytes, **kw):
    window = jnp.asarray([list(text[-contexts.WINDOW :])], jnp.int32)
    words = jnp.zeros((1, 3), jnp.uint32)
    record = jnp.ones((1,), jnp.int32)
    return np.asarray(contexts.context_hashes(window, words, record, [3, 5], 0, 0, 0, **kw))[0]


def test_prose_contexts_fold_case_and_line_ends():
    wrapped, flowing = b"she said Alice.\nThe", b"she said alice. the"
    a, b = _hashes(wrapped, text_orders=(3, 5)), _hashes(flowing, text_orders=(3, 5))
    assert len(a) == 4  # orders 3 and 5, then the prose orders 3 and 5
    assert not np.any(a[:2] == b[:2])  # the bytes themselves differ
    assert np.array_equal(a[2:], b[2:])  # as prose they are the same
    assert len(_hashes(wrapped)) == 2  # none asked for: none added, the rest unchanged
    assert np.array_equal(_hashes(wrapped), a[:2])


def test_prose_reading_changes_only_letters_and_white_space():
    normal = contexts._NORMAL
    changed = {b for b in range(256) if normal[b] != b}
    assert changed == set(range(ord("A"), ord("Z") + 1)) | {9, 10, 13}
    assert normal[ord("Q")] == ord("q") and normal[10] == normal[13] == ord(" ")


def test_block_slots_are_one_run_of_rows_with_checks_of_their_own():
    hash_BC = jnp.asarray([[0x12345678, 0x9ABCDEF0, 0xFFFFFFFF]], jnp.uint32)
    bits = 12
    apart, apart_check = (np.asarray(a) for a in contexts.slot_rows(hash_BC, bits))
    block, check = (np.asarray(a) for a in contexts.slot_rows(hash_BC, bits, block=1))
    assert block.shape == apart.shape == (1, 3, 17)
    # 17 consecutive rows (wrapping at the end of the table) from slot 0's hashed row
    assert (block[..., 0] == apart[..., 0]).all()
    assert (np.diff(block, axis=-1) % 2**bits == 1).all()
    assert ((block >= 0) & (block < 2**bits)).all()
    assert len(np.unique(apart)) > 3 * 16  # hashed apart: scattered over the table
    # the checks are those of the hashed-apart slots: nonzero, 16 bits, mostly distinct
    assert (check == apart_check).all() and (check % 2 == 1).all() and (check < 2**16).all()
    # cm.nibbles takes one slot per stream: the same rows and checks as the full set's
    hash2_BC = jnp.concatenate([hash_BC, hash_BC[:, ::-1]])  # 2 streams
    for block_slots in (0, 1):
        full = contexts.slot_rows(hash2_BC, bits, block_slots)
        rows_BCS, check_BCS = (np.asarray(a) for a in full)
        for slots in ([0, 16], [5, 1], [16, 0]):
            one = contexts.slot_rows(hash2_BC, bits, block_slots, jnp.asarray(slots))
            for b, slot in enumerate(slots):
                np.testing.assert_array_equal(one[0][b], rows_BCS[b, :, slot : slot + 1])
                np.testing.assert_array_equal(one[1][b], check_BCS[b, :, slot : slot + 1])
