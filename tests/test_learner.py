import jax
import jax.numpy as jnp
import numpy as np
import pytest

from onlinezip.config import Config
from onlinezip.learner import FlatPacker, Learner
from onlinezip.models import build_model


def _probs_after(cfg: Config, data: bytes, streams: int = 1) -> list[np.ndarray]:
    learner = Learner(cfg, streams)
    out = [learner.first_probs()]
    for byte in data:
        out.append(learner.step(np.full(streams, byte, np.int32), np.ones(streams, np.float32)))
    return out


def test_packer_roundtrips_mixed_dtypes():
    tree = {
        "w": jnp.arange(6.0).reshape(2, 3),
        "n": jnp.arange(3, dtype=jnp.int32),
        "b": jnp.ones(4),
    }
    packer = FlatPacker(tree)
    back = packer.unpack(packer.pack(tree))
    for key in tree:
        np.testing.assert_array_equal(back[key], tree[key])
        assert back[key].dtype == tree[key].dtype


def test_every_family_gives_logits_of_the_right_shape():
    for family in ("lstm", "gru", "transformer"):
        cfg = Config().replace(
            model={
                "family": family,
                "hidden_dim": 16,
                "embed_dim": 8,
                "context": 8,
                "num_heads": 2,
                "num_layers": 2,
            }
        )
        model = build_model(cfg.model)
        params, ctx = model.init(jax.random.key(0), 3)
        logits_BV, aux = model.logits(params, ctx)
        assert logits_BV.shape == (3, 256)
        ctx = model.advance(ctx, aux, jnp.array([1, 2, 3], jnp.int32))
        assert model.logits(params, ctx)[0].shape == (3, 256)


def test_same_seed_same_bits_and_learning_happens(tiny):
    a = _probs_after(tiny, b"abababababababab")
    b = _probs_after(tiny, b"abababababababab")
    for pa, pb in zip(a, b, strict=True):
        np.testing.assert_array_equal(pa, pb)
    assert a[-1][0, ord("a")] > 4 * a[0][0, ord("a")]  # it learned the pattern


def test_seed_changes_the_model(tiny):
    other = tiny.replace(run={"seed": 1})
    assert not np.array_equal(_probs_after(tiny, b"x")[0], _probs_after(other, b"x")[0])


def test_divergent_learning_rate_falls_back_without_crashing():
    cfg = Config().replace(
        model={"hidden_dim": 16, "embed_dim": 8}, optimizer={"name": "sgd", "learning_rate": 100.0}
    )
    probs = _probs_after(cfg, bytes(range(256)) * 2)
    for p in probs:
        assert np.isfinite(p).all() and (p > 0).all()


def test_masked_stream_does_not_train(tiny):
    learner_a, learner_b = Learner(tiny, 2), Learner(tiny, 2)
    x = np.array([7, 9], np.int32)
    pa = learner_a.step(x, np.array([1, 0], np.float32))
    pb = learner_b.step(np.array([7, 200], np.int32), np.array([1, 0], np.float32))
    # Stream 1's byte is masked out of the loss, so only its own context differs.
    np.testing.assert_array_equal(pa[0], pb[0])


def test_context_hash_is_integer_exact_and_spreads():
    from onlinezip.models.hashctx import context_rows

    window = jnp.array([[0, 0, 104, 105], [1, 0, 104, 105]], jnp.int32)
    rows = np.asarray(context_rows(window, 18))
    assert rows.shape == (2, 4) and rows.min() >= 0 and rows.max() < 2**18
    np.testing.assert_array_equal(rows[0, :3], rows[1, :3])  # same last 3 bytes
    assert rows[0, 3] != rows[1, 3] and len(set(rows[0].tolist())) == 4


def test_word_contexts_fold_case_and_remember_the_previous_word():
    from onlinezip.models.hashctx import advance_words

    def words_after(text: bytes) -> np.ndarray:
        words = jnp.zeros((1, 2), jnp.uint32)
        for byte in text:
            words = advance_words(words, jnp.array([byte], jnp.int32))
        return np.asarray(words)[0]

    the_cat = words_after(b"the Cat")
    assert the_cat[0] == words_after(b"a cat")[0] == words_after(b"THE CAT")[0]  # word
    assert the_cat[1] == words_after(b"the")[0] != words_after(b"a cat")[1]  # previous word
    assert words_after(b"the cat, ")[0] == 0 and words_after(b"the cat, ")[1] == the_cat[0]


def test_sparse_sgd_touches_only_looked_up_rows_and_counts_them(tiny):
    from onlinezip.optim import sparse_sgd

    table = jnp.zeros((8, 3), jnp.float32)
    idx_BK = jnp.array([[1, 5], [5, 2]], jnp.int32)
    grad_BKD = jnp.ones((2, 2, 2), jnp.float32)
    cfg = tiny.optimizer.__class__(row_learning_rate=0.5, row_decay=1.0, row_min_scale=0.1)
    out = np.asarray(sparse_sgd(table, idx_BK, grad_BKD, jnp.array([1.0, 0.0]), cfg))
    np.testing.assert_array_equal(out[[0, 3, 4, 6, 7]], 0.0)
    np.testing.assert_allclose(out[1], [-0.5, -0.5, 1.0])
    np.testing.assert_allclose(out[5], [-1.0, -1.0, 1.0])  # two updates; one masked stream
    np.testing.assert_allclose(out[2], [-0.5, -0.5, 0.0])  # a masked stream's row: not counted


def test_a_model_that_cannot_fit_fails_before_any_work(tiny, monkeypatch):
    from onlinezip import runtime
    from onlinezip.errors import OnlinezipError

    monkeypatch.setattr(runtime, "available_memory", lambda: 100 << 20)
    big = tiny.replace(model={"family": "hashctx", "table_bits": 24, "hidden_dim": 6})
    with pytest.raises(OnlinezipError, match=r"needs about 0\.\d GiB of memory but only 0\.1"):
        Learner(big, 1)
