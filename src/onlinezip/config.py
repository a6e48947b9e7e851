"""Typed, frozen configuration: model, optimizer and run, loaded from TOML.

The whole ``Config`` is written into every .oz header as canonical JSON, so a file
decodes without flags. Loading is strict: an unknown key or an out-of-range value is an
``OnlinezipError`` that names the key and says what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onlinezip.errors import OnlinezipError

FAMILIES = ("hashctx", "lstm", "gru", "transformer", "cm")
OPTIMIZERS = ("sgd", "adam")
STEP_PROGRAMS = (1, 2)

# Upper bound on model parameters (hashed-table rows included) a config may ask for:
# refuses absurd headers before any allocation (128M float32 = 512 MiB of weights).
MAX_PARAMETERS = 128_000_000


@dataclass(frozen=True)
class ModelConfig:
    family: str = "lstm"  # "hashctx" | "lstm" | "gru" | "transformer" | "cm" (see
    # onlinezip.models; "cm", context mixing, is configured by the [cm] section)
    embed_dim: int = 32  # width of the byte embedding (recurrent families)
    hidden_dim: int = 128  # recurrent state / transformer model / hashctx row width
    num_layers: int = 1  # stacked recurrent cells, or transformer blocks
    num_heads: int = 4  # attention heads (transformer only); must divide hidden_dim
    context: int = 32  # bytes the transformer attends over (transformer only)
    mlp_ratio: int = 4  # transformer MLP width = mlp_ratio * hidden_dim
    orders: int = 6  # hashctx: contexts of the last 1..orders bytes are hashed
    table_bits: int = 18  # hashctx: the hashed table has 2**table_bits rows
    word_orders: int = 0  # hashctx: + 1 context (the word so far) or 2 (+ the word before)
    direct_orders: int = 1  # hashctx: logit rows for order 1 (exact), and hashed for
    # orders 2..direct_orders (256 logits each: no D-wide bottleneck)
    direct_bits: int = 16  # hashctx: the hashed logit-row table has 2**direct_bits rows


@dataclass(frozen=True)
class OptimizerConfig:
    name: str = "adam"  # "sgd" | "adam"
    learning_rate: float = 1e-3  # step size of every per-byte update
    momentum: float = 0.0  # SGD momentum (0 = plain SGD); ignored by Adam
    b1: float = 0.9  # Adam first-moment decay
    b2: float = 0.999  # Adam second-moment decay
    eps: float = 1e-8  # Adam denominator epsilon
    grad_clip: float = 0.0  # clip the gradient's global norm to this (0 = no clipping)
    row_learning_rate: float = 0.02  # hashctx rows: plain SGD at this rate ...
    row_decay: float = 0.1  # ... times 1 / (1 + row_decay * times the row was updated) ...
    row_min_scale: float = 0.05  # ... but never less than row_min_scale times the rate


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0  # the one seed every initial weight is derived from
    streams: int = 1  # B: segments coded in lockstep by one shared model (1 = Rae's setup)
    min_stream_bytes: int = 4096  # fewer streams for small inputs: at most ceil(n / this)
    prob_floor: float = 1e-5  # mass mixed in from the uniform distribution, keeps p > 0
    chunk_bytes: int = 1 << 20  # input is coded in chunks of this many bytes (one frame
    # each), each cut into B streams: memory stays flat however long the input
    step_program: int = 1  # the learner's step (see onlinezip.learner): 1 runs the forward
    # pass again before the backward pass; 2 reuses the activations its prediction saved and
    # writes Adam out by hand (the same math, fewer ops: faster, with other bits)
    min_segment_bytes: int = 1 << 20  # -T N: the input is cut into at most N independent
    # segments (a fresh learner each) of at least this many bytes (see onlinezip.segments)


@dataclass(frozen=True)
class CMConfig:
    """The context-mixing learner (model.family = "cm", see onlinezip.models.cm): counted
    statistics of hashed contexts, a match model, logistic mixers and APMs, in integers."""

    orders: tuple = (1, 2, 3, 4, 6)  # byte contexts: the last k bytes for each k (0..12)
    word: int = 2  # word contexts: 0 none, 1 the word so far, 2 also it with the word before
    sparse: int = 2  # sparse contexts: the first 0..4 of 2nd+3rd, 2nd, 3rd+4th, 4th last bytes
    column: int = 0  # 1: two record/column contexts (byte above, and it with the last byte)
    # within 16 bytes; 2: three, with paq8's record detector, records up to 4096 bytes;
    # 3: five, with the bytes left and right of the one above (bitmaps)
    table_bits: int = 22  # the counters' hash table has 2**table_bits rows of 64 bytes
    ways: int = 1  # 2: a slot may sit in either of two rows (the less used one is replaced)
    counter_limit: int = 255  # a counter's rate falls as 1/(n + 1.5) until n reaches this
    match_min: int = 6  # the match model looks up the last match_min bytes (0 = no match model)
    match_bits: int = 20  # each stream's match history and table hold 2**match_bits entries
    mixer_rate: int = 6  # mixer step size (weight units 2**-16 per unit of error x input)
    text_rate: int = 0  # the first-layer mixers' step size where the last 8 bytes are all
    # text (letters, digits, spaces, line ends, punctuation); 0: mixer_rate everywhere
    mixer_init: float = 0.2  # every mixer weight starts at this
    mixer_boost: int = 0  # 1..3: the first-layer mixers learn (1 + boost) x faster at
    # the start, the extra halved after 16 KB of a stream (needs the match model's count)
    final_rate: int = 2  # step size of the second mixer layer
    apm_rate: int = 7  # APMs move 1/2**apm_rate of the way towards each coded bit
    apm: int = 2  # refinement stages: 0 none, 1 by the partial byte, 2 also with the last
    # byte, 3 also with the last two bytes (hashed)
    known_mixer: int = 0  # 1: a fourth mixer, its weights chosen by how many contexts are known
    indirect: int = 0  # 1: each context also gives its counter's state through a state map
    lines: int = 0  # line contexts (0..3, needs the match model's history): the column with
    # the last byte; the byte above (same column, line before) with the last byte; both
    class_mixer: int = 0  # 1..4: one more first-layer mixer, its weights chosen by the
    # classes (lower, upper, digit, space, line end, punctuation, high, other) of the
    # last 1..4 bytes (and the depth)
    neural: str = ""  # a neural family ("hashctx", "lstm", "gru", "transformer"): that
    # model, sized by [model] and trained by [optimizer], learns beside the counts and
    # gives every mixer one more input (its bit probabilities); "" = none. Float
    # arithmetic then: the file is bound to the CPU model, as the neural families' are
    final_classes: int = 0  # 1..3: the final mixer's weights chosen by the node and the
    # classes of the last 1..3 bytes (0: by the node alone)
    history: int = 0  # each counter also keeps its last 0..4 bits, which the state map
    # reads with its count and probability (needs indirect = 1 and counter_limit <= 63)
    follow: int = 0  # 1..2 indirect contexts: the last byte (2: and the last two) with
    # the two bytes that followed it the previous times (models/cm/follow.py)
    pixels: int = 0  # 1..3: a 1-bit bitmap's pixels predicted from templates of their
    # neighbours in the rows above and to the left (pixels.TEMPLATES: 16, 8, 22 pixels),
    # each a direct table of counters, one mixer input each (needs column >= 2)
    pixel_limit: int = 127  # the pixel counters' count limit (as counter_limit)
    pixel_mixer: int = 0  # 1: one more first-layer mixer, its weights chosen by the
    # pixels of the small template and the depth (needs pixels >= 2)
    pixel_apm: int = 0  # 1: a pixel's probability also refined by an APM of its
    # 16-pixel template, 3/4 of the output where a record length is known (pixels >= 1)
    # session 11: text contexts, more first-layer mixers, and weight sets that learn
    # fast while young
    text_orders: tuple = ()  # byte contexts of the last k bytes (each k in 1..12) as prose
    # reads them: letters case folded, line ends and tabs as spaces
    linear: int = 0  # 1: each context also gives (its counter's probability - 1/2) / 8,
    # unstretched: the mixer can average in the probability domain too
    byte_mixer: int = 0  # 1: the last byte's mixer chooses its weights by the last byte and
    # the node (the partial byte), not the depth
    order_mixers: tuple = ()  # one more first-layer mixer per order k here (1..8), its
    # weights chosen by the last k bytes hashed to mixer_bits bits, and the depth
    word_mixer: int = 0  # 1: one more, chosen by the word so far (hashed) and the depth
    mixer_bits: int = 12  # the hashed mixers' selector bits
    text_mixers: int = 0  # 1: the byte mixer and the hashed mixers choose by their context
    # only where the last 8 bytes are text; elsewhere by the depth alone (the byte
    # mixer: by the last byte and the depth)
    set_boost: int = 0  # H > 0: a first-layer weight set's step is (1 + X / 4 * H / (H +
    # n)) times the rate (at most 255), n its updates so far: young sets learn fast
    set_boost_x: int = 4  # X, in quarters
    final_boost: int = 0  # 1: the final mixer's weight sets too (needs set_boost)
    # session 13
    block_slots: int = 0  # 1: a context's 17 slots are 17 consecutive rows from one hashed
    # row (one run of memory per context, fetched far faster), not 17 rows hashed apart
    # session 14
    nibbles: int = 0  # 1: each byte is coded as two 16-way symbols, its high nibble, then
    # its low nibble under it, each predicted by its own step over that nibble's 15
    # nodes (30 a byte, not 255); the same node predictions, the same training


@dataclass(frozen=True)
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    run: RunConfig = field(default_factory=RunConfig)
    cm: CMConfig = field(default_factory=CMConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def canonical_json(self) -> str:
        """Sorted keys, no whitespace: equal configs give equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def replace(self, **sections: Any) -> Config:
        """``cfg.replace(run={"streams": 4})`` returns a validated copy."""
        merged = self.to_dict()
        for name, values in sections.items():
            if name not in merged:
                raise OnlinezipError(f"unknown config section {name!r}")
            merged[name] = {**merged[name], **values}
        return config_from_dict(merged)


_SECTIONS = {"model": ModelConfig, "optimizer": OptimizerConfig, "run": RunConfig, "cm": CMConfig}


def _check_type(where: str, value: Any, expected: type) -> Any:
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if expected is tuple and isinstance(value, list):
        if not all(type(v) is int for v in value):
            raise OnlinezipError(f"{where} must be a list of integers, got {value!r}")
        value = tuple(value)
    if type(value) is not expected:
        raise OnlinezipError(
            f"{where} must be {expected.__name__}, got {type(value).__name__} {value!r}"
        )
    return value


def _section(name: str, cls: type, values: Any) -> Any:
    if not isinstance(values, dict):
        raise OnlinezipError(f"[{name}] must be a table of keys")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise OnlinezipError(
            f"unknown key {unknown[0]!r} in [{name}]; valid keys: {', '.join(fields)}"
        )
    kwargs = {k: _check_type(f"{name}.{k}", v, type(fields[k].default)) for k, v in values.items()}
    return cls(**kwargs)


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise OnlinezipError(message)


def validate(cfg: Config) -> Config:
    """Range checks with messages that say how to fix the value."""
    m, o, r = cfg.model, cfg.optimizer, cfg.run
    _require(m.family in FAMILIES, f"model.family must be one of {FAMILIES}, got {m.family!r}")
    for key in ("embed_dim", "hidden_dim", "num_heads", "context", "mlp_ratio"):
        value = getattr(m, key)
        _require(1 <= value <= 4096, f"model.{key} must be in 1..4096, got {value}")
    _require(1 <= m.num_layers <= 64, f"model.num_layers must be in 1..64, got {m.num_layers}")
    _require(1 <= m.orders <= 16, f"model.orders must be in 1..16, got {m.orders}")
    _require(8 <= m.table_bits <= 24, f"model.table_bits must be in 8..24, got {m.table_bits}")
    _require(
        1 <= m.direct_orders <= m.orders,
        f"model.direct_orders must be in 1..model.orders ({m.orders}), got {m.direct_orders}",
    )
    _require(8 <= m.direct_bits <= 20, f"model.direct_bits must be in 8..20, got {m.direct_bits}")
    _require(0 <= m.word_orders <= 2, f"model.word_orders must be 0, 1 or 2, got {m.word_orders}")
    if m.family == "transformer":
        _require(
            m.hidden_dim % m.num_heads == 0,
            f"model.num_heads ({m.num_heads}) must divide model.hidden_dim ({m.hidden_dim})",
        )
    n_params = estimate_parameters(m)
    _require(
        n_params <= MAX_PARAMETERS,
        f"the model would have about {n_params:,} parameters, more than the "
        f"{MAX_PARAMETERS:,} onlinezip allows; use smaller dims or fewer layers",
    )
    _require(o.name in OPTIMIZERS, f"optimizer.name must be one of {OPTIMIZERS}, got {o.name!r}")
    _require(
        math.isfinite(o.learning_rate) and 0 < o.learning_rate <= 100,
        f"optimizer.learning_rate must be in (0, 100], got {o.learning_rate}",
    )
    for key in ("momentum", "b1", "b2"):
        value = getattr(o, key)
        _require(0 <= value < 1, f"optimizer.{key} must be in [0, 1), got {value}")
    _require(0 < o.eps <= 1, f"optimizer.eps must be in (0, 1], got {o.eps}")
    _require(
        math.isfinite(o.row_learning_rate) and 0 <= o.row_learning_rate <= 100,
        f"optimizer.row_learning_rate must be in [0, 100], got {o.row_learning_rate}",
    )
    _require(0 <= o.row_decay <= 100, f"optimizer.row_decay must be in [0, 100], got {o.row_decay}")
    _require(
        0 <= o.row_min_scale <= 1,
        f"optimizer.row_min_scale must be in [0, 1], got {o.row_min_scale}",
    )
    _require(
        math.isfinite(o.grad_clip) and o.grad_clip >= 0,
        f"optimizer.grad_clip must be >= 0 (0 = off), got {o.grad_clip}",
    )
    if m.family == "cm":
        validate_cm(cfg.cm)
        if cfg.cm.neural:
            validate(neural_config(cfg))
    _require(
        r.step_program in STEP_PROGRAMS,
        f"run.step_program must be one of {STEP_PROGRAMS}, got {r.step_program}",
    )
    _require(0 <= r.seed < 2**32, f"run.seed must be in 0..2**32-1, got {r.seed}")
    _require(1 <= r.streams <= 1024, f"run.streams must be in 1..1024, got {r.streams}")
    _require(
        1 <= r.min_stream_bytes <= 2**30,
        f"run.min_stream_bytes must be in 1..2**30, got {r.min_stream_bytes}",
    )
    _require(
        16 <= r.min_segment_bytes <= 1 << 40,
        f"run.min_segment_bytes must be in 16..2**40, got {r.min_segment_bytes}",
    )
    _require(
        256 <= r.chunk_bytes <= 1 << 26,
        f"run.chunk_bytes must be in 256..2**26, got {r.chunk_bytes}",
    )
    _require(
        1e-9 <= r.prob_floor <= 0.5, f"run.prob_floor must be in [1e-9, 0.5], got {r.prob_floor}"
    )
    return cfg


def neural_config(cfg: Config) -> Config:
    """The config of a cm model's neural input (``cm.neural``): the same, that family."""
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, family=cfg.cm.neural))


def arithmetic_family(cfg: Config) -> str:
    """What fixes a file's bits: "cm" (integers only: any CPU) or the float family."""
    if cfg.model.family == "cm" and cfg.cm.neural:
        return cfg.cm.neural
    return cfg.model.family


def validate_cm(c: CMConfig) -> None:
    neural = tuple(f for f in FAMILIES if f != "cm")
    _require(
        c.neural in ("", *neural), f"cm.neural must be \"\" or one of {neural}, got {c.neural!r}"
    )
    _require(
        len(c.orders) <= 16 and all(0 <= k <= 12 for k in c.orders),
        f"cm.orders must be at most 16 orders in 0..12, got {list(c.orders)}",
    )
    _require(len(set(c.orders)) == len(c.orders), f"cm.orders repeats an order: {list(c.orders)}")
    _require(0 <= c.word <= 4, f"cm.word must be in 0..4, got {c.word}")
    _require(0 <= c.sparse <= 4, f"cm.sparse must be in 0..4, got {c.sparse}")
    _require(c.column in (0, 1, 2, 3), f"cm.column must be 0, 1, 2 or 3, got {c.column}")
    _require(
        c.column < 2 or c.match_min > 0,
        "cm.column = 2 or 3 reads the match model's history: set cm.match_min (e.g. 6)",
    )
    _require(0 <= c.follow <= 2, f"cm.follow must be in 0..2, got {c.follow}")
    _require(0 <= c.pixels <= 3, f"cm.pixels must be in 0..3, got {c.pixels}")
    _require(
        not c.pixels or c.column >= 2,
        "cm.pixels reads the record length of the record model: set cm.column = 2 or 3",
    )
    _require(
        1 <= c.pixel_limit <= 1000, f"cm.pixel_limit must be in 1..1000, got {c.pixel_limit}"
    )
    _require(c.pixel_mixer in (0, 1), f"cm.pixel_mixer must be 0 or 1, got {c.pixel_mixer}")
    _require(
        not c.pixel_mixer or c.pixels >= 2,
        "cm.pixel_mixer chooses by the small template: set cm.pixels = 2 or 3",
    )
    _require(c.pixel_apm in (0, 1), f"cm.pixel_apm must be 0 or 1, got {c.pixel_apm}")
    _require(
        not c.pixel_apm or c.pixels >= 1, "cm.pixel_apm reads the templates: set cm.pixels >= 1"
    )
    _require(0 <= c.text_rate <= 255, f"cm.text_rate must be in 0..255, got {c.text_rate}")
    _require(
        len(c.text_orders) <= 8 and all(1 <= k <= 12 for k in c.text_orders),
        f"cm.text_orders must be at most 8 orders in 1..12, got {list(c.text_orders)}",
    )
    _require(
        len(set(c.text_orders)) == len(c.text_orders),
        f"cm.text_orders repeats an order: {list(c.text_orders)}",
    )
    _require(
        len(c.order_mixers) <= 4 and all(1 <= k <= 8 for k in c.order_mixers),
        f"cm.order_mixers must be at most 4 orders in 1..8, got {list(c.order_mixers)}",
    )
    _require(8 <= c.mixer_bits <= 16, f"cm.mixer_bits must be in 8..16, got {c.mixer_bits}")
    for name in ("linear", "byte_mixer", "word_mixer", "text_mixers", "final_boost"):
        value = getattr(c, name)
        _require(value in (0, 1), f"cm.{name} must be 0 or 1, got {value}")
    _require(0 <= c.set_boost <= 1 << 16, f"cm.set_boost must be in 0..65536, got {c.set_boost}")
    _require(1 <= c.set_boost_x <= 64, f"cm.set_boost_x must be in 1..64, got {c.set_boost_x}")
    _require(
        not c.final_boost or c.set_boost > 0,
        "cm.final_boost boosts the final mixer as set_boost does: set cm.set_boost (e.g. 32)",
    )
    _require(0 <= c.lines <= 3, f"cm.lines must be in 0..3, got {c.lines}")
    _require(
        c.lines == 0 or c.match_min > 0,
        "cm.lines reads the match model's history: set cm.match_min (e.g. 6)",
    )
    contexts = len(c.orders) + c.word + c.sparse + (0, 2, 3, 5)[c.column] + c.lines
    _require(1 <= contexts <= 24, f"cm needs 1..24 contexts in all, the config gives {contexts}")
    _require(10 <= c.table_bits <= 24, f"cm.table_bits must be in 10..24, got {c.table_bits}")
    _require(
        1 <= c.counter_limit <= 1000, f"cm.counter_limit must be in 1..1000, got {c.counter_limit}"
    )
    _require(
        c.match_min == 0 or 3 <= c.match_min <= 16,
        f"cm.match_min must be 0 (off) or in 3..16, got {c.match_min}",
    )
    _require(10 <= c.match_bits <= 24, f"cm.match_bits must be in 10..24, got {c.match_bits}")
    for key in ("mixer_rate", "final_rate"):
        value = getattr(c, key)
        _require(1 <= value <= 64, f"cm.{key} must be in 1..64, got {value}")
    _require(0 <= c.mixer_init <= 4, f"cm.mixer_init must be in [0, 4], got {c.mixer_init}")
    _require(1 <= c.apm_rate <= 12, f"cm.apm_rate must be in 1..12, got {c.apm_rate}")
    _require(c.apm in (0, 1, 2, 3), f"cm.apm must be 0, 1, 2 or 3, got {c.apm}")
    _require(c.known_mixer in (0, 1), f"cm.known_mixer must be 0 or 1, got {c.known_mixer}")
    _require(c.indirect in (0, 1), f"cm.indirect must be 0 or 1, got {c.indirect}")
    _require(c.ways in (1, 2), f"cm.ways must be 1 or 2, got {c.ways}")
    _require(c.block_slots in (0, 1), f"cm.block_slots must be 0 or 1, got {c.block_slots}")
    _require(
        not (c.block_slots and c.ways == 2),
        "cm.block_slots = 1 keeps a context's slots in consecutive rows, where the second"
        " way (the row beside) is the next slot's: set cm.ways = 1",
    )
    _require(c.nibbles in (0, 1), f"cm.nibbles must be 0 or 1, got {c.nibbles}")
    _require(
        not (c.nibbles and c.neural),
        'cm.nibbles = 1 does not take a neural input yet: set cm.neural = "" or cm.nibbles = 0',
    )
    _require(0 <= c.class_mixer <= 4, f"cm.class_mixer must be in 0..4, got {c.class_mixer}")
    _require(
        0 <= c.final_classes <= 3, f"cm.final_classes must be in 0..3, got {c.final_classes}"
    )
    _require(0 <= c.mixer_boost <= 3, f"cm.mixer_boost must be in 0..3, got {c.mixer_boost}")
    _require(
        c.mixer_boost == 0 or c.match_min > 0,
        "cm.mixer_boost counts the bytes with the match model: set cm.match_min > 0",
    )
    _require(0 <= c.history <= 4, f"cm.history must be in 0..4, got {c.history}")
    _require(
        c.history == 0 or (c.indirect == 1 and c.counter_limit <= 63),
        "cm.history is read by the state map and shares the count's bits: set cm.indirect"
        " = 1 and cm.counter_limit <= 63",
    )


def estimate_parameters(m: ModelConfig) -> int:
    """Parameter count of the model a config describes (used to refuse absurd sizes early)."""
    h, e, n = m.hidden_dim, m.embed_dim, m.num_layers
    if m.family == "cm":
        return 0  # sized by the [cm] section, checked against memory before allocation
    if m.family == "hashctx":
        gates = m.orders + m.word_orders
        direct = 256 * 256 + (2**m.direct_bits * 256 if m.direct_orders > 1 else 0)
        return (2**m.table_bits) * (h + 1) + h * 256 + 256 + direct + gates
    if m.family == "transformer":
        block = 4 * h * h + 2 * m.mlp_ratio * h * h + 4 * h
        return 256 * h + m.context * h + n * block + h * 256
    gates = 4 if m.family == "lstm" else 3
    cells = gates * ((e + h) * h + h) + (n - 1) * gates * (2 * h * h + h)
    return 256 * e + cells + h * 256 + 256


def config_from_dict(data: Any) -> Config:
    if not isinstance(data, dict):
        raise OnlinezipError("a config must be a table with [model], [optimizer], [run]")
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise OnlinezipError(
            f"unknown config section [{unknown[0]}]; valid sections: {', '.join(_SECTIONS)}"
        )
    sections = {name: _section(name, cls, data.get(name, {})) for name, cls in _SECTIONS.items()}
    return validate(Config(**sections))


def load_config(path: str | Path) -> Config:
    """Read a user's TOML file into a validated ``Config``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise OnlinezipError(f"cannot read config {str(path)!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OnlinezipError(f"config {str(path)!r} is not valid TOML: {exc}") from None
    try:
        return config_from_dict(data)
    except OnlinezipError as exc:
        raise OnlinezipError(f"config {str(path)!r}: {exc}") from None


def preset_dir() -> Path:
    """Where the bundled presets live: inside the installed wheel, or the repo's configs/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "configs", here.parents[1] / "configs"):
        if candidate.is_dir():
            return candidate
    raise OnlinezipError("onlinezip's preset folder is missing; reinstall the package")


def preset_names() -> list[str]:
    return sorted(p.stem for p in preset_dir().glob("*.toml"))


def load_preset(name: str) -> Config:
    """A bundled preset by name (``configs/NAME.toml``)."""
    if name not in preset_names():
        raise OnlinezipError(f"unknown preset {name!r}; choose one of: {', '.join(preset_names())}")
    return load_config(preset_dir() / f"{name}.toml")
