import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from onlinezip.config import Config, OptimizerConfig
from onlinezip.learner import FlatPacker, Learner
from onlinezip.models import build_model
from onlinezip.optim import GuardedUpdate


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


@pytest.mark.parametrize("step_program", [1, 2])
def test_divergent_learning_rate_falls_back_without_crashing(step_program):
    cfg = Config().replace(
        model={"hidden_dim": 16, "embed_dim": 8},
        optimizer={"name": "sgd", "learning_rate": 100.0},
        run={"step_program": step_program},
    )
    probs = _probs_after(cfg, bytes(range(256)) * 2)
    for p in probs:
        assert np.isfinite(p).all() and (p > 0).all()


@pytest.mark.parametrize("step_program", [1, 2])
def test_masked_stream_does_not_train(tiny, step_program):
    cfg = tiny.replace(run={"step_program": step_program})
    learner_a, learner_b = Learner(cfg, 2), Learner(cfg, 2)
    x = np.array([7, 9], np.int32)
    pa = learner_a.step(x, np.array([1, 0], np.float32))
    pb = learner_b.step(np.array([7, 200], np.int32), np.array([1, 0], np.float32))
    # Stream 1's byte is masked out of the loss, so only its own context differs.
    np.testing.assert_array_equal(pa[0], pb[0])


FAMILIES = {
    "lstm": {"family": "lstm", "hidden_dim": 16, "embed_dim": 8},
    "gru": {"family": "gru", "hidden_dim": 16, "embed_dim": 8, "num_layers": 2},
    "transformer": {"family": "transformer", "hidden_dim": 16, "context": 8, "num_heads": 2,
                    "num_layers": 2},
    "hashctx": {"family": "hashctx", "hidden_dim": 8, "orders": 3, "table_bits": 10,
                "word_orders": 2, "direct_orders": 2, "direct_bits": 8},
}  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_step_program_2_takes_the_steps_program_1_takes(family):
    """Program 2 backpropagates from the activations its prediction saved instead of
    running the forward pass again: the same gradients, tables and masks included. Under
    plain SGD (which, unlike Adam, does not amplify rounding) the two stay together."""
    sgd = {"name": "sgd", "learning_rate": 0.3, "row_learning_rate": 0.05}
    base = Config().replace(model=FAMILIES[family], optimizer=sgd)
    data = b"the training code, not the weights. " * 2
    runs = []
    for step_program in (1, 2):
        learner = Learner(base.replace(run={"step_program": step_program}), 2)
        probs = [learner.first_probs()]
        for t, byte in enumerate(data):
            mask_B = np.array([1.0, float(t % 3 != 0)], np.float32)  # stream 1: some masked
            probs.append(learner.step(np.array([byte, byte ^ 0x55], np.int32), mask_B))
        runs.append(np.stack(probs))
    bits_T = -np.log2(runs[0][np.arange(len(data)), 0, np.frombuffer(data, np.uint8)])
    assert bits_T[36:].sum() < 0.9 * bits_T[:36].sum()  # it learned: the repeat costs less
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-4)


def test_guarded_update_is_adam_and_skips_a_whole_step():
    cfg = OptimizerConfig(learning_rate=0.01, b1=0.8, b2=0.99, eps=1e-6)
    update = GuardedUpdate(cfg)
    assert update.fused
    reference = optax.adam(0.01, b1=0.8, b2=0.99, eps=1e-6)
    weights_P = ref_P = jnp.linspace(-1.0, 1.0, 50)
    state, ref_state = update.init(weights_P), reference.init(ref_P)
    grads = np.random.default_rng(0).normal(size=(6, 50)).astype(np.float32)
    for grad_P in grads:
        weights_P, state = update(jnp.asarray(grad_P), state, weights_P, jnp.bool_(True))
        step_P, ref_state = reference.update(jnp.asarray(grad_P), ref_state, ref_P)
        ref_P = ref_P + step_P
    np.testing.assert_allclose(weights_P, ref_P, rtol=1e-6, atol=1e-7)
    assert int(state.count) == 6
    skipped_P, skipped = update(jnp.full(50, jnp.nan), state, weights_P, jnp.bool_(False))
    np.testing.assert_array_equal(skipped_P, weights_P)
    for new, old in zip(jax.tree.leaves(skipped), jax.tree.leaves(state), strict=True):
        np.testing.assert_array_equal(new, old)


def test_guarded_update_through_optax_skips_a_whole_step_too():
    update = GuardedUpdate(OptimizerConfig(name="sgd", learning_rate=0.5, momentum=0.9))
    assert not update.fused
    weights_P = jnp.ones(4)
    state = update.init(weights_P)
    moved_P, moved = update(jnp.ones(4), state, weights_P, jnp.bool_(True))
    np.testing.assert_allclose(moved_P, 0.5)
    kept_P, kept = update(jnp.ones(4), moved, moved_P, jnp.bool_(False))
    np.testing.assert_array_equal(kept_P, moved_P)
    for new, old in zip(jax.tree.leaves(kept), jax.tree.leaves(moved), strict=True):
        np.testing.assert_array_equal(new, old)


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
