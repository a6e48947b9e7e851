"""Mixing and refining: the logistic mixers and the APMs."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from onlinezip.models.cm import apm, mixer


def test_mixer_step_lowers_the_coding_cost():
    w = mixer.init(4, 3, 0.2)
    x = jnp.asarray([[[800, -300, 256]]], jnp.int32)  # (B=1, K=1, N=3)
    sel = jnp.asarray([[2]], jnp.int32)
    before = int(mixer.predict(w, x, sel)[1][0, 0])
    for _ in range(20):
        _, p = mixer.predict(w, x, sel)
        w = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.ones(1, jnp.float32))
    after = int(mixer.predict(w, x, sel)[1][0, 0])
    assert after > before + 80
    assert np.all(np.asarray(w)[[0, 1, 3]] == np.asarray(mixer.init(4, 3, 0.2))[[0, 1, 3]])
    masked = mixer.train(w, x, sel, p, jnp.asarray([[1]]), 6, jnp.zeros(1, jnp.float32))
    assert np.array_equal(np.asarray(masked), np.asarray(w))


def test_apm_starts_as_the_identity_and_learns():
    t = apm.init(2)
    p = jnp.asarray([[100, 2048, 4000]], jnp.int32)
    ctx = jnp.zeros((1, 3), jnp.int32)
    out, idx = apm.refine(t, p, ctx)
    assert np.max(np.abs(np.asarray(out) - np.asarray(p))) <= 40
    for _ in range(30):
        _, idx = apm.refine(t, p[:, 1:2], ctx[:, :1])
        t = apm.train(t, idx, jnp.asarray([[1]]), 5, jnp.ones(1, jnp.float32))
    assert int(apm.refine(t, p[:, 1:2], ctx[:, :1])[0][0, 0]) > 3000
