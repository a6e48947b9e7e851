"""The context-mixing predictor: every node of the byte tree at once, then its update.

``predict(state)`` looks up each context's 17 slots and the match model, mixes every
node's inputs with several mixers (weight sets chosen by the partial byte; by the match
state; by the last byte; and the optional ones: by known contexts, byte classes, pixels,
hashed recent bytes or the word so far), mixes those with a second layer, refines the
result with APMs and multiplies along the paths: 256 byte probabilities, computed in one
vectorised pass. ``update(state, saved, x_B, mask_B)`` trains all of it along the 8 nodes the coded
byte took: the counters of its two slots per context, the mixers' selected weights (one
gradient step of coding cost per node, larger for a set still young: set_boost), the
APMs, the match model's confidences; then the contexts move on. Everything but the
final products is integer arithmetic.

With cm.nibbles a prediction covers one nibble's 15 nodes (``nodes``): the high nibble's,
then, once it is coded, the low nibble's under it; each node's inputs and weights are
those the whole tree gives it, and ``update`` takes the two predictions' saved fields.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from onlinezip.config import CMConfig
from onlinezip.models.cm import (
    apm,
    contexts,
    counters,
    follow,
    lines,
    match,
    mixer,
    pixels,
    records,
    statemap,
    tree,
)
from onlinezip.models.cm.squash import stretch

BIAS = 256  # a constant input, so every weight set has a bias
APM3_BITS = 18  # the order-2 APM's contexts (hashed with the partial byte)
BOOST_BYTES = 16384  # cm.mixer_boost: the extra rate has halved after this many bytes
PIXEL_SETS = 1 << pixels.template_bits(pixels.TEMPLATES[1])  # cm.pixel_mixer
PIXEL_APM_CONTEXTS = 1 << pixels.template_bits(pixels.TEMPLATES[0])  # cm.pixel_apm


def _byte_classes() -> np.ndarray:
    """(256,) a class per byte: 0 other, 1 lower case, 2 upper case, 3 digit, 4 space,
    5 line end, 6 punctuation, 7 a byte >= 128."""
    cls = np.zeros(256, np.int32)
    for b in range(256):
        ch = chr(b)
        if b >= 128:
            cls[b] = 7
        elif ch.islower():
            cls[b] = 1
        elif ch.isupper():
            cls[b] = 2
        elif ch.isdigit():
            cls[b] = 3
        elif ch in " \t":
            cls[b] = 4
        elif ch in "\r\n":
            cls[b] = 5
        elif 33 <= b < 127:
            cls[b] = 6
    return cls


_CLASS = _byte_classes()
_TEXT = (_CLASS != 0) & (_CLASS != 7)  # (256,) a byte of a text class (not other, not high)
TEXT_BYTES = 8  # cm.text_rate: text is where the last 8 bytes are all of text classes
CLASSES = 8


def _class_context(window_BW, k):
    """(B,) the classes of the last ``k`` bytes as one number in 0..CLASSES**k - 1."""
    cls_BK = jnp.asarray(_CLASS)[window_BW[:, -k:]]
    cls_B = cls_BK[:, 0]
    for j in range(1, k):
        cls_B = cls_B * CLASSES + cls_BK[:, j]
    return cls_B


def num_contexts(c: CMConfig) -> int:
    record_contexts = (0, 2, records.CONTEXTS, records.CONTEXTS_2D)[c.column]
    n = len(c.orders) + c.word + c.sparse + record_contexts + c.lines + c.follow
    return n + len(c.text_orders)


class Predictor:
    def __init__(self, c: CMConfig, streams: int):
        self.c, self.streams = c, streams
        self.contexts = num_contexts(c)
        # per context its count (and state map, and unstretched), + match (+ neural,
        # + pixels) + bias
        self.inputs = self.contexts * (1 + c.indirect + c.linear) + 2 + bool(c.neural) + c.pixels
        # first-layer mixers, weights chosen by: the partial byte; the match state x
        # depth; the last byte x depth (byte_mixer: x node, on text_mixers' text); then
        # (known_mixer) how many contexts are known; (class_mixer) the last classes;
        # (pixel_mixer) the small pixel template; the hashed mixers (order_mixers,
        # word_mixer), each x depth, with one spare row per depth for "not text"
        byte_sets = 256 * (tree.NODES + 8 * c.text_mixers if c.byte_mixer else 8)
        self.sets = (tree.NODES, match.BUCKETS * 3 * 8, byte_sets)
        self.sets += ((self.contexts + 1) * 8,) if c.known_mixer else ()
        self.sets += (CLASSES**c.class_mixer * 8,) if c.class_mixer else ()
        self.sets += (PIXEL_SETS * 8 + 1,) if c.pixel_mixer else ()
        hashed_sets = (1 << c.mixer_bits) * 8 + 8 * c.text_mixers
        self.sets += (hashed_sets,) * (len(c.order_mixers) + c.word_mixer)
        # what ``predict`` saves per node for ``update``, in order: name -> width (0: one
        # number per node)
        m = len(self.sets)
        self.fields = {"x": self.inputs, "sels": m, "p1": m, "xf": m + 1}
        self.fields |= dict.fromkeys(["pf", "a1", "a2", "expect", "mindex"], 0)
        self.fields |= {"sidx": self.contexts} if c.indirect else {}
        self.fields |= {"a3": 0} if c.apm == 3 else {}
        self.fields |= {"fsel": 0} if c.final_classes else {}
        self.fields |= {"pix": c.pixels} if c.pixels else {}
        self.fields |= {"a4": 0} if c.pixel_apm else {}

    def init_state(self) -> dict[str, Any]:
        c, b = self.c, self.streams
        state = {
            "table": jnp.full((2**c.table_bits, 16), counters.FRESH, jnp.uint32),
            "mix": [mixer.init(s, self.inputs, c.mixer_init) for s in self.sets],
            "mixn": [jnp.zeros((s,), jnp.int32) for s in self.sets] if c.set_boost else [],
            "final": mixer.init(
                tree.NODES * CLASSES**c.final_classes, len(self.sets) + 1, 1.0 / len(self.sets)
            ),
            "apm1": apm.init(tree.NODES),
            "apm2": apm.init(tree.NODES * 256),
            "match_conf": jnp.full((match.BUCKETS * 8,), counters.FRESH, jnp.uint32),
            "window": jnp.zeros((b, contexts.WINDOW), jnp.int32),
            "words": jnp.zeros((b, 3), jnp.uint32),
            "record": jnp.ones((b,), jnp.int32),
        }
        if c.match_min:
            state |= {
                # flat (B * 2**bits,): a 2-D ring made XLA copy it at every step
                "hist": jnp.zeros((b * 2**c.match_bits,), jnp.int32),
                "last": jnp.zeros((b * 2**c.match_bits,), jnp.int32),
                "pos": jnp.zeros((b,), jnp.int32),
                "ptr": jnp.zeros((b,), jnp.int32),
                "len": jnp.zeros((b,), jnp.int32),
                "next": jnp.full((b,), -1, jnp.int32),  # the byte the match predicts
            }
        if c.column >= 2:
            state |= records.init(b)
        if c.lines:
            state |= lines.init(b)
        if c.follow:
            state |= follow.init(b)
        if c.final_boost:
            state["finaln"] = jnp.zeros((tree.NODES * CLASSES**c.final_classes,), jnp.int32)
        if c.indirect:
            state["smap"] = statemap.init(self.contexts, c.history)
        if c.pixels:
            state["pixels"] = pixels.init(c.pixels)
        if c.apm == 3:
            state["apm3"] = apm.init(2**APM3_BITS)
        if c.pixel_apm:
            state["apm4"] = apm.init(PIXEL_APM_CONTEXTS + 1)
        return state

    def nodes(self, high_B: jax.Array | None = None) -> tree.Nodes:
        """The nodes a prediction covers: the byte's 255, or with cm.nibbles the high
        nibble's 15 (``high_B`` None) or the low nibble's under ``high_B``."""
        if self.c.nibbles:
            return tree.nibble_nodes(self.streams, high_B)
        return tree.all_nodes(self.streams)

    def predict(
        self, s: dict[str, Any], net_probs_BV=None, high_B=None
    ) -> tuple[dict[str, Any], jax.Array]:
        """(saved: what ``update`` needs, probs_BV float32: the byte's 256, or with
        cm.nibbles a nibble's 16, see ``nodes``). ``net_probs_BV``: the neural input's
        prediction (cm.neural; None: no information, for shapes)."""
        c = self.c
        nodes = self.nodes(high_B)
        extra_BE = None
        if c.column >= 2:
            extra_BE = records.context_hashes(
                s["rec"], s["hist"], s["pos"], s["window"][:, -1], around=c.column == 3
            )
        if c.lines:
            line_BL = lines.context_hashes(
                s["lines"], s["hist"], s["pos"], s["window"][:, -1], c.lines
            )
            extra_BE = line_BL if extra_BE is None else jnp.concatenate([extra_BE, line_BL], 1)
        if c.follow:
            f_BF = follow.context_hashes(s, s["window"], c.follow)
            extra_BE = f_BF if extra_BE is None else jnp.concatenate([extra_BE, f_BF], 1)
        hash_BC = contexts.context_hashes(
            s["window"], s["words"], s["record"], c.orders, c.word, c.sparse, c.column, extra_BE,
            c.text_orders,
        )  # fmt: skip
        slot_B = None  # every slot, or with cm.nibbles the nibble's own: 0 or 1 + high
        if c.nibbles:
            slot_B = jnp.zeros((self.streams,), jnp.int32) if high_B is None else 1 + high_B
        index_BCS, check_BCS = contexts.slot_rows(hash_BC, c.table_bits, c.block_slots, slot_B)
        rows_BCSR = s["table"][index_BCS]  # (B, C, 17 or 1, 16)
        valid_BCS = rows_BCSR[..., 15] == check_BCS
        if c.ways == 2:
            index_BCS, rows_BCSR, valid_BCS = _second_way(
                s["table"], index_BCS, check_BCS, rows_BCSR, valid_BCS, c.history
            )
        if c.nibbles:  # the slot's 15 counters are the nibble's nodes, in order
            node_BCN = jnp.where(valid_BCS, rows_BCSR[:, :, 0, :15], counters.FRESH)
        else:
            node_BCN = tree.node_values(rows_BCSR)  # (B, C, 255)
            node_BCN = jnp.where(tree.node_slots(valid_BCS), node_BCN, counters.FRESH)
        node_BCN, hist_BCN = counters.split(node_BCN, c.history)
        known_BCN = counters.count(node_BCN) > 0
        x_BCN = jnp.where(known_BCN, stretch(counters.probability(node_BCN)), 0)
        parts = [jnp.moveaxis(x_BCN, 1, 2)]
        if c.linear:
            lin_BCN = jnp.where(known_BCN, (counters.probability(node_BCN) - 2048) >> 3, 0)
            parts.append(jnp.moveaxis(lin_BCN, 1, 2))
        extra = {}  # what the optional parts' updates need
        if c.indirect:
            xi_BCN, sidx_BCN = statemap.lookup(s["smap"], node_BCN, hist_BCN, c.history)
            parts.append(jnp.moveaxis(xi_BCN, 1, 2))
            extra["sidx"] = jnp.moveaxis(sidx_BCN, 1, 2)
        if c.match_min:
            byte_B, len_B = s["next"], s["len"]
        else:
            byte_B = jnp.full((self.streams,), -1, jnp.int32)
            len_B = jnp.zeros((self.streams,), jnp.int32)
        xm_BN, expect_BN, mindex_BN = match.node_inputs(byte_B, len_B, s["match_conf"], nodes)
        bias_BN = jnp.full_like(xm_BN, BIAS)
        parts.append(xm_BN[..., None])
        if c.neural:
            xn_BN = jnp.zeros_like(xm_BN)
            if net_probs_BV is not None:
                xn_BN = stretch(tree.bit_probabilities(net_probs_BV))
            parts.append(xn_BN[..., None])
        if c.pixels:
            extra["pix"], xp_BNT = pixels.predict(
                c.pixels, s["pixels"], s["rec"], s["hist"], s["pos"], s["window"][:, -1], nodes
            )
            parts.append(xp_BNT)
        x_BNI = jnp.concatenate(parts + [bias_BN[..., None]], axis=2)
        node_BN = nodes.node_BN
        mstate_BN = match.bucket(len_B)[:, None] * 3 + expect_BN + 1
        sels, w_BNI = self._weight_sets(s, x_BNI, nodes, mstate_BN, known_BCN, extra)
        outs = [
            mixer.predict(w, x_BNI, sel, w_BMN=wn)
            for w, sel, wn in zip(s["mix"], sels, w_BNI, strict=True)
        ]
        xf_BNK = jnp.stack([logit for logit, _ in outs] + [bias_BN], axis=2)
        fsel_BN = node_BN  # the final mixer's weight set: the node (x the last classes)
        if c.final_classes:
            cls_B = _class_context(s["window"], c.final_classes)
            fsel_BN = node_BN + tree.NODES * cls_B[:, None]
            extra["fsel"] = fsel_BN
        logit_BN, p_BN = mixer.predict(s["final"], xf_BNK, fsel_BN)
        p1_BN, a1_BN = apm.refine(s["apm1"], p_BN, node_BN)
        p2_BN, a2_BN = apm.refine(s["apm2"], p_BN, node_BN + tree.NODES * s["window"][:, -1:])
        if c.apm == 0:
            out_BN = p_BN
        elif c.apm == 1:
            out_BN = (p_BN + 3 * p1_BN) >> 2
        elif c.apm == 2:
            out_BN = (2 * p_BN + 3 * p1_BN + 3 * p2_BN) >> 3
        else:
            p3_BN, extra["a3"] = apm.refine(s["apm3"], p_BN, _order2_context(s["window"], node_BN))
            out_BN = (p_BN + p1_BN + p2_BN + p3_BN) >> 2
        if c.pixel_apm:  # a bitmap's pixel: also refined by its 16-pixel template
            t_BN = extra["pix"][..., 0]
            ctx_BN = jnp.where(t_BN >= 0, t_BN, PIXEL_APM_CONTEXTS)  # the spare: no bitmap
            p4_BN, extra["a4"] = apm.refine(s["apm4"], p_BN, ctx_BN)
            out_BN = jnp.where(t_BN >= 0, (out_BN + 3 * p4_BN) >> 2, out_BN)
        out_BN = jnp.clip(out_BN, 1, 4095)
        # every per-node quantity the update reads on the coded path, side by side in one
        # (B, N, F) array: the update takes its path's nodes with one gather, not one each
        fields = {
            "x": x_BNI, "sels": jnp.stack(sels, axis=2),
            "p1": jnp.stack([p for _, p in outs], axis=2), "xf": xf_BNK, "pf": p_BN,
            "a1": a1_BN, "a2": a2_BN, "expect": expect_BN, "mindex": mindex_BN, **extra,
        }  # fmt: skip
        node_BNF = [fields[k] if w else fields[k][..., None] for k, w in self.fields.items()]
        saved = {"index": index_BCS, "check": check_BCS, "node": jnp.concatenate(node_BNF, axis=2)}
        return saved, tree.byte_probs(out_BN)

    def _weight_sets(self, s, x_BNI, nodes, mstate_BN, known_BCN, extra):
        """Each first-layer mixer's selector of every node (B, N), and its selected weight
        sets (B, N, I) where they can be taken without a per-node gather (else None)."""
        c, node_BN = self.c, nodes.node_BN
        depth_1N = jnp.asarray(nodes.depth)[None, :]
        depths = nodes.depths  # (1, D)
        last_B = s["window"][:, -1]
        text_B = _is_text(s["window"])
        mix = s["mix"]
        # weight sets chosen by (something per stream) x depth are taken once a depth
        # and stream, spread over the nodes (tree.by_depth): no per-node gather of weights
        by_depth = lambda w, base_B: tree.by_depth(w[base_B[:, None] * 8 + depths])  # noqa: E731
        sels = [node_BN, mstate_BN * 8 + depth_1N, last_B[:, None] * 8 + depth_1N]
        if c.nibbles:  # a nibble's 15 sets of the partial byte's mixer: gathered
            w_BNI = [mix[0][node_BN], None, by_depth(mix[2], last_B)]
        else:
            w_BNI = [jnp.broadcast_to(mix[0][None], x_BNI.shape), None, by_depth(mix[2], last_B)]
        if c.byte_mixer:  # the last byte x the node (on text), 255 sets in a row per byte
            # (taken as one block per stream; a nibble's 15 are gathered)
            sels[2] = last_B[:, None] * tree.NODES + node_BN
            if c.nibbles:
                w_BNI[2] = mix[2][sels[2]]
            else:
                w_BNI[2] = mix[2][: 256 * tree.NODES].reshape(256, tree.NODES, -1)[last_B]
            if c.text_mixers:
                other_B = 256 * tree.NODES // 8 + last_B  # past the by-node sets, x depth
                sels[2] = jnp.where(text_B[:, None], sels[2], other_B[:, None] * 8 + depth_1N)
                w_BNI[2] = jnp.where(text_B[:, None, None], w_BNI[2], by_depth(mix[2], other_B))
        if c.known_mixer:
            sels.append(jnp.sum(known_BCN, axis=1, dtype=jnp.int32) * 8 + depth_1N)
            w_BNI.append(None)
        if c.class_mixer:
            cls_B = _class_context(s["window"], c.class_mixer)
            sels.append(cls_B[:, None] * 8 + depth_1N)
            w_BNI.append(by_depth(mix[len(w_BNI)], cls_B))
        if c.pixel_mixer:  # the small template's pixels x depth; the last set: no bitmap
            t_BN = extra["pix"][..., 1]
            sels.append(jnp.where(t_BN >= 0, t_BN * 8 + depth_1N, PIXEL_SETS * 8))
            w_BNI.append(None)
        for h_B in _mixer_hashes(c, s["window"], s["words"]):
            base_B = (h_B >> (32 - c.mixer_bits)).astype(jnp.int32)
            if c.text_mixers:  # the spare past the hashed sets: not text
                base_B = jnp.where(text_B, base_B, 1 << c.mixer_bits)
            sels.append(base_B[:, None] * 8 + depth_1N)
            w_BNI.append(by_depth(mix[len(w_BNI)], base_B))
        return tuple(sels), w_BNI

    def _path_fields(self, saved, node_BK) -> dict[str, jax.Array]:
        """The per-node fields ``predict`` saved, at the nodes ``node_BK`` (the 8 of the
        coded path, as rows of what was saved): (B, K, width) each, or (B, K) for one
        number per node."""
        path_BKF = jnp.take_along_axis(saved["node"], node_BK[:, :, None], axis=1)
        out, start = {}, 0
        for name, width in self.fields.items():
            part = path_BKF[:, :, start : start + max(width, 1)]
            out[name] = part if width else part[..., 0]
            start += max(width, 1)
        return out

    def update(self, s, saved, x_B, mask_B) -> dict[str, Any]:
        """The state once ``x_B`` is coded; ``saved``: what its prediction saved (with
        cm.nibbles, a pair: the high nibble's prediction's, the low nibble's)."""
        c = self.c
        s = dict(s)
        if c.nibbles:  # slots (B, C, 1) -> (B, C, 2); nodes (B, 15, F) -> (B, 30, F)
            hi, lo = saved
            saved = {k: jnp.concatenate([hi[k], lo[k]], 2) for k in ("index", "check")}
            saved["node"] = jnp.concatenate([hi["node"], lo["node"]], 1)
        node_BK, bit_BK = tree.path_nodes(x_B), tree.path_bits(x_B)
        f = self._path_fields(saved, _nibble_rows(node_BK) if c.nibbles else node_BK)
        s["table"] = self._train_counters(s["table"], saved, x_B, node_BK, bit_BK, mask_B)
        x_BKI, sels_BKM, p1_BKM = f["x"], f["sels"], f["p1"]
        rate = _mixer_rate(c, s["window"], s["pos"] if c.mixer_boost else None)
        rates = [rate] * len(s["mix"])
        if c.set_boost:
            boosted = [
                _boosted(c, rate, n, sels_BKM[..., m], mask_B) for m, n in enumerate(s["mixn"])
            ]
            rates, s["mixn"] = [r for r, _ in boosted], [n for _, n in boosted]
        s["mix"] = [
            mixer.train(w, x_BKI, sels_BKM[..., m], p1_BKM[..., m], bit_BK, r, mask_B)
            for m, (w, r) in enumerate(zip(s["mix"], rates, strict=True))
        ]
        fsel_BK = f.get("fsel", node_BK)
        final_rate = c.final_rate
        if c.final_boost:
            final_rate, s["finaln"] = _boosted(c, final_rate, s["finaln"], fsel_BK, mask_B)
        s["final"] = mixer.train(s["final"], f["xf"], fsel_BK, f["pf"], bit_BK, final_rate, mask_B)
        s["apm1"] = apm.train(s["apm1"], f["a1"], bit_BK, c.apm_rate, mask_B)
        s["apm2"] = apm.train(s["apm2"], f["a2"], bit_BK, c.apm_rate, mask_B)
        if c.apm == 3:
            s["apm3"] = apm.train(s["apm3"], f["a3"], bit_BK, c.apm_rate, mask_B)
        if c.indirect:
            s["smap"] = statemap.train(s["smap"], f["sidx"], bit_BK, mask_B)
        if c.pixels:
            s["pixels"] = pixels.train(s["pixels"], f["pix"], bit_BK, mask_B, c.pixel_limit)
        if c.pixel_apm:
            s["apm4"] = apm.train(s["apm4"], f["a4"], bit_BK, c.apm_rate, mask_B)
        s["match_conf"] = match.train(
            s["match_conf"], f["expect"], f["mindex"], bit_BK, mask_B, 1023
        )
        keep_B = mask_B > 0
        window_BW, words_B3 = contexts.advance(s["window"], s["words"], x_B)
        record_B = contexts.advance_record(s["record"], s["window"], x_B)
        if c.column >= 2:
            size = s["hist"].shape[0] // self.streams
            s |= records.advance(s, x_B, s["pos"], min(size // 4, 4096), mask_B)
        if c.lines:
            s["lines"] = lines.advance(s["lines"], x_B, s["pos"], mask_B)
        if c.follow:
            s |= follow.advance(s, s["window"], x_B, mask_B)
        if c.match_min:
            hist, pos, ptr, length, following, last = match.advance(
                s["hist"], s["pos"], s["ptr"], s["len"], s["next"], s["last"], window_BW,
                x_B, c.match_min, mask_B,
            )  # fmt: skip
            s |= {"hist": hist, "last": last}
            for key, new in (("pos", pos), ("ptr", ptr), ("len", length), ("next", following)):
                s[key] = jnp.where(keep_B, new, s[key])
        s["window"] = jnp.where(keep_B[:, None], window_BW, s["window"])
        s["words"] = jnp.where(keep_B[:, None], words_B3, s["words"])
        s["record"] = jnp.where(keep_B, record_B, s["record"])
        return s

    def _train_counters(self, table, saved, x_B, node_BK, bit_BK, mask_B):
        """Rewrite the two slots per context that the coded byte used: a slot whose check
        differs (another context had it) starts fresh; the 4 nodes of the byte's path in
        it learn their bit."""
        rows = table.shape[0]
        index_BC2, check_BC2 = saved["index"], saved["check"]  # cm.nibbles: these two
        if not self.c.nibbles:
            slot_B2 = jnp.stack([jnp.zeros_like(x_B), 1 + (x_B >> 4)], axis=1)  # (B, 2)
            index_BC2 = jnp.take_along_axis(index_BC2, slot_B2[:, None, :], axis=2)
            check_BC2 = jnp.take_along_axis(check_BC2, slot_B2[:, None, :], axis=2)
        old_BC2R = table[index_BC2]
        fresh_BC2 = old_BC2R[..., 15] != check_BC2
        counters_BC2R = jnp.where(fresh_BC2[..., None], counters.FRESH, old_BC2R[..., :15])
        # which of the 15 positions each slot's path nodes are, and their bits
        pos_BK = jnp.asarray(tree.POS_OF)[node_BK]  # (B, 8)
        onehot_BKR = pos_BK[..., None] == jnp.arange(15)[None, None, :]
        hit_B2R = jnp.stack([onehot_BKR[:, :4].any(1), onehot_BKR[:, 4:].any(1)], axis=1)
        bitpos_B2R = jnp.stack(
            [
                jnp.sum(onehot_BKR[:, :4] * bit_BK[:, :4, None], axis=1),
                jnp.sum(onehot_BKR[:, 4:] * bit_BK[:, 4:, None], axis=1),
            ],
            axis=1,
        )
        new_BC2R = jnp.where(
            hit_B2R[:, None],
            counters.update(
                counters_BC2R, bitpos_B2R[:, None], self.c.counter_limit, self.c.history
            ),
            counters_BC2R,
        )
        new_BC2R = jnp.concatenate([new_BC2R, check_BC2[..., None]], axis=-1)
        index_BC2 = jnp.where(mask_B[:, None, None] > 0, index_BC2, rows)  # dropped
        return table.at[index_BC2].set(new_BC2R, mode="drop")


BOOST_COUNT = 1 << 20  # cm.set_boost: a set's updates are counted up to here (the boost
# is 0 long before), so the count never overflows


def _boosted(c: CMConfig, rate, counts_S, sel_BK, mask_B):
    """(the step of each coded node's weight set, (B, K), the sets' update counts after
    this step): ``rate`` x (1 + X / 4 * H / (H + n)) with n the set's updates so far, at
    most 255 (|input| < 2**11 and |error| < 2**12: input x error x step fits in int32)."""
    h, n_BK = c.set_boost, counts_S[sel_BK]
    rate_BK = jnp.minimum(rate + (rate * c.set_boost_x * h) // (4 * (h + n_BK)), 255)
    counted_BK = (mask_B[:, None] > 0) & (n_BK < BOOST_COUNT)
    return rate_BK, counts_S.at[sel_BK].add(counted_BK.astype(jnp.int32))


def _nibble_rows(node_BK) -> jax.Array:
    """(B, 8) where cm.nibbles saved the path ``node_BK``: the high nibble's 15 nodes, then
    the low nibble's 15, each in its slot's order (``tree.POS_OF``, as ``nibble_nodes``)."""
    low_1K = jnp.asarray([[0, 0, 0, 0, 1, 1, 1, 1]], jnp.int32)  # the path's depths 4..7
    return jnp.asarray(tree.POS_OF)[node_BK] + 15 * low_1K


def _is_text(window_BW) -> jax.Array:
    """(B,) bool: the last TEXT_BYTES bytes are all of text classes (``_TEXT``)."""
    return jnp.all(jnp.asarray(_TEXT)[window_BW[:, -TEXT_BYTES:]], axis=1)


def _mixer_rate(c: CMConfig, window_BW, pos_B=None):
    """The first-layer mixers' step size: ``cm.text_rate`` where the last TEXT_BYTES bytes
    are all text (``_TEXT``: no byte of class 0, other, or 7, >= 128), else ``cm.mixer_rate``; with
    ``cm.mixer_boost`` (pass ``pos_B``), (1 + boost * H / (H + position)) times that.
    An int, or (B, 1) when it differs by stream."""
    rate = c.mixer_rate
    if c.text_rate:
        rate = jnp.where(_is_text(window_BW), c.text_rate, c.mixer_rate)
    if pos_B is not None:
        rate = rate + (rate * c.mixer_boost * BOOST_BYTES) // (BOOST_BYTES + pos_B)
    if c.text_rate or pos_B is not None:
        rate = jnp.broadcast_to(rate, window_BW.shape[:1])[:, None]  # (B, 1)
    return rate


def _mixer_hashes(c: CMConfig, window_BW, words_B3) -> list[jax.Array]:
    """(B,) uint32 hashes that choose the hashed mixers' weight sets: the last k bytes for
    each of ``cm.order_mixers``, then (``cm.word_mixer``) the word so far."""
    out = []
    if c.order_mixers:  # the same hashes as the order contexts', all in one pass
        h_BK = contexts._hash_spans(window_BW, [range(1, k + 1) for k in c.order_mixers])
        out += [h_BK[:, j] * jnp.uint32(0x9E3779B1) for j in range(len(c.order_mixers))]
    if c.word_mixer:
        out.append((words_B3[:, 0] + jnp.uint32(0x7F4A7C15)) * jnp.uint32(0x9E3779B1))
    return out


def _order2_context(window_BW, node_BN):
    """(B, N) the order-2 APM's context of every node: the last two bytes and the partial
    byte, hashed into 2**APM3_BITS."""
    last2_B = (window_BW[:, -1] << 8 | window_BW[:, -2]).astype(jnp.uint32)
    h_BN = (last2_B[:, None] * jnp.uint32(255) + node_BN.astype(jnp.uint32)) * jnp.uint32(
        0x9E3779B1
    )
    return (h_BN >> jnp.uint32(32 - APM3_BITS)).astype(jnp.int32)


def _second_way(table, index_BCS, check_BCS, rows_BCSR, valid_BCS, history):
    """Two-way buckets: a slot may also sit in the row beside its own (index ^ 1). The
    slot is the row whose check matches; if neither does, the update will take the row
    whose first counter has seen fewer updates (the less valuable one)."""
    other_BCS = index_BCS ^ 1
    rows2_BCSR = table[other_BCS]
    valid2_BCS = rows2_BCSR[..., 15] == check_BCS
    use2_BCS = ~valid_BCS & valid2_BCS
    first2_BCS, _ = counters.split(rows2_BCSR[..., 0], history)
    first_BCS, _ = counters.split(rows_BCSR[..., 0], history)
    poorer2_BCS = counters.count(first2_BCS) < counters.count(first_BCS)
    use2_BCS |= ~valid_BCS & ~valid2_BCS & poorer2_BCS
    index_BCS = jnp.where(use2_BCS, other_BCS, index_BCS)
    rows_BCSR = jnp.where(use2_BCS[..., None], rows2_BCSR, rows_BCSR)
    return index_BCS, rows_BCSR, valid_BCS | valid2_BCS
