import jax.numpy as jnp
import numpy as np

from onlinezip.probs import code_lengths, coder_probs


def test_probs_are_positive_and_normalised():
    logits = jnp.array([[1000.0, -1000.0] + [0.0] * 254], jnp.float32)
    p = np.asarray(coder_probs(logits, 1e-5))
    assert (p > 0).all()
    assert abs(p.sum() - 1) < 1e-5


def test_non_finite_row_falls_back_to_uniform():
    logits = jnp.zeros((2, 256), jnp.float32).at[0, 3].set(jnp.nan)
    p = np.asarray(coder_probs(logits, 1e-5))
    np.testing.assert_array_equal(p[0], np.full(256, 1 / 256, np.float32))
    assert np.isfinite(p[1]).all()


def test_code_lengths_are_minus_log2_p():
    p = np.full((3, 256), 1 / 256, np.float32)
    np.testing.assert_allclose(code_lengths(p, np.array([0, 5, 255])), [8.0, 8.0, 8.0])
    q = np.zeros((1, 256), np.float32)
    q[0, :2] = 0.5
    np.testing.assert_allclose(code_lengths(q, np.array([1])), [1.0])
