"""The compiled programs of the context-mixing learner: ``init`` and ``step`` (and, with
cm.nibbles, ``half``).

The same interface as ``learner.Programs``, so that ``Learner`` and the codec's one loop
drive either: ``init(key) -> (buffers, probs_BV)`` and ``step(buffers, x_B, mask_B) ->
(buffers, probs_BV)``. The state (tables, weights, contexts, and what the last
prediction saved for its update) is packed into a few flat buffers and donated back at
every step, so the big tables are updated in place.

With cm.nibbles a byte takes two programs: ``step`` trains on the coded byte and predicts
the next byte's high nibble (16 probabilities); ``half(buffers, high_B)`` predicts the
low nibble under the coded high nibble, reading the state and writing only what that
prediction saves for the update (the last buffers).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from onlinezip import runtime
from onlinezip.config import Config, neural_config
from onlinezip.models import VOCAB
from onlinezip.models.cm.predictor import Predictor

# leaves of at least this many elements get a buffer of their own: packing the small
# ones costs a concatenation per step (64 against 16384: a step about 10% faster)
OWN_BUFFER_SIZE = 64


# XLA compiler options for the cm programs (None: XLA's defaults). Compilation takes a
# good part of a mid-sized file's time (the default's programs: about 6 s); options that
# shorten it were measured (benchmarks/compile_time.py, results/speed-13) and not kept.
COMPILER_OPTIONS = None


class CMPrograms:
    def __init__(self, config: Config, streams: int):
        from onlinezip.learner import RUNTIME_BYTES, FlatPacker, compile_programs

        runtime.ensure_backend()
        self.config, self.streams = config, streams
        self.predictor = Predictor(config.cm, streams)
        # nothing random to draw for the counts and mixers (every table starts from fixed
        # values); the key is the neural input's (cm.neural), drawn as its family's own
        self.init_key = jax.random.fold_in(jax.random.key(config.run.seed), 0)
        self.net = None
        if config.cm.neural:
            from onlinezip.learner import Programs

            self.net = Programs(neural_config(config), streams, compile=False)
            self.init_key = self.net.init_key
        state = jax.eval_shape(lambda: self._initial_state()[0])  # (s, saved)
        self._saved_shapes = state[1]  # for init_fn: predict traced once, not three times
        leaves = jax.tree.leaves(state)
        needed = RUNTIME_BYTES + 2 * sum(x.size * x.dtype.itemsize for x in leaves)
        runtime.check_memory(needed, "the cm model")
        tables = jax.tree.leaves((state[0]["table"], state[0]["mix"], state[0]["final"]))
        tables += [state[0]["apm1"], state[0]["apm2"], state[0]["match_conf"]]
        tables += jax.tree.leaves([state[0].get("pixels"), state[0].get("apm4")])
        self.num_parameters = int(sum(np.prod(t.shape) for t in tables))
        self.num_parameters += self.net.num_parameters if self.net else 0
        self.packer = FlatPacker(state, own_buffer_size=OWN_BUFFER_SIZE)
        self.num_packed = len(self.packer.groups)
        self.nibbles = bool(config.cm.nibbles)
        if self.nibbles:  # the low nibble's saved fields, as buffers after the state's
            high_B = jax.ShapeDtypeStruct((streams,), jnp.int32)
            low = jax.eval_shape(
                lambda s, h: self.predictor.predict(s, None, h)[0], state[0], high_B
            )
            self.low_leaves, self.low_def = jax.tree.flatten(low)
        buffers, _ = jax.eval_shape(self.init_fn, self.init_key)
        self._init, self.step, *half = compile_programs(
            self.init_fn, self.step_fn, self.init_key, buffers, streams,
            options=None if self.net else COMPILER_OPTIONS,
            half_fn=self.half_fn if self.nibbles else None,
        )  # fmt: skip
        self._half = half[0] if half else None

    def init(self, key: jax.Array):
        """(buffers, probs_BV) of the fresh model. Without a neural input the first
        prediction is the step program's, after a step with every stream masked out
        (which trains nothing and moves no context: the state stays the fresh one), so
        the init program holds no copy of ``predict`` and compiles in a fraction of the
        time (default: 2.3 s of 7 s of compilation on the AMD EPYC 25/1)."""
        buffers, probs_BV = self._init(key)
        if self.net is not None:
            return buffers, probs_BV
        x_B = np.zeros(self.streams, np.int32)
        return self.step(buffers, x_B, x_B.astype(np.float32))

    def _initial_state(self, net_probs_BV=None):
        s = self.predictor.init_state()
        saved, probs_BV = self.predictor.predict(s, net_probs_BV)
        return (s, saved), probs_BV

    def half(self, buffers: tuple, high_B: np.ndarray):
        """(buffers, probs_B16) of the low nibble under the coded ``high_B`` (cm.nibbles)."""
        low, probs_BV = self._half(buffers, high_B)
        return (*buffers[: self.num_packed], *low), probs_BV

    def init_fn(self, key: jax.Array):
        """The buffers: the counts' and mixers' (packed), then the neural input's (or,
        with cm.nibbles, the low nibble's saved fields: zeros); and the first prediction,
        made here only with a neural input (see ``init``: without one, what the fresh
        state saves for its update is zeros, and the probabilities are left to the first,
        masked step)."""
        if self.net is None:
            s = self.predictor.init_state()
            saved = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), self._saved_shapes)
            probs_BV = jnp.zeros((self.streams, 16 if self.nibbles else VOCAB), jnp.float32)
            low = [jnp.zeros(a.shape, a.dtype) for a in self.low_leaves] if self.nibbles else []
            return (*self.packer.pack((s, saved)), *low), probs_BV
        net_buffers, net_probs_BV = self.net.init_fn(key)
        state, probs_BV = self._initial_state(net_probs_BV)
        return (*self.packer.pack(state), *net_buffers), probs_BV

    def step_fn(self, buffers: tuple, x_B: jax.Array, mask_B: jax.Array):
        s, saved = self.packer.unpack(buffers[: self.num_packed])
        if self.nibbles:  # (the high nibble's saved fields, the low nibble's)
            low = buffers[self.num_packed :]
            s = self.predictor.update(
                s, (saved, jax.tree.unflatten(self.low_def, low)), x_B.astype(jnp.int32), mask_B
            )
            saved, probs_BV = self.predictor.predict(s)
            return (*self.packer.pack((s, saved)), *low), probs_BV
        net_buffers, net_probs_BV = buffers[self.num_packed :], None
        if self.net:  # the neural input takes its own step on the same bytes first
            net_buffers, net_probs_BV = self.net.step_fn(net_buffers, x_B, mask_B)
        s = self.predictor.update(s, saved, x_B.astype(jnp.int32), mask_B)
        saved, probs_BV = self.predictor.predict(s, net_probs_BV)
        return (*self.packer.pack((s, saved)), *net_buffers), probs_BV

    def half_fn(self, buffers: tuple, high_B: jax.Array):
        """The low nibble's prediction: (its saved fields' leaves, probs_B16)."""
        s, _ = self.packer.unpack(buffers[: self.num_packed])
        low, probs_BV = self.predictor.predict(s, None, high_B.astype(jnp.int32))
        return jax.tree.leaves(low), probs_BV
