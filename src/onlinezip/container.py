"""The .oz container: explicit little-endian bytes, read and written as a stream.

Format version 4 (written by this release): version 3's parts and order, with
variable-length integers where fixed ones cost a small file most of its overhead (a
``max`` file of xargs.1, 4,227 bytes, had 134 bytes of container in version 3; 68 in
version 4). ``uN`` is a little-endian unsigned integer of N bits, ``leb`` an unsigned
LEB128 integer (7 bits a byte, low first; minimal: a reader refuses a longer spelling)::

    header
      0     8   magic  b"\\x89OZIP\\r\\n\\x1a"
      8     2   format version (u16) = 4
      10    2   flags (u16): bit 0 MODEL: the file carries a model (the next two fields
                and the meta follow, frames may be coded, the end record holds a digest);
                without it the file is stored only (every frame raw). Bit 1 SEGMENTS
                (only with MODEL): a segment table follows the header (parallel segments,
                ``-T N``, below); bits 2..15 must be 0 and a reader refuses a file with any
                bit it does not know.
      12    leb streams B                           } only with MODEL
      ...   leb meta length M                       }
      ...   M   meta: raw-deflated canonical UTF-8 JSON {config, environment, preset,
                num_parameters}, with ``META_DICTIONARY_V4_NIBBLE`` (the presets'
                metas in front of version 3's dictionary, since sessions 9, 10 and 11
                the newer max metas in front of those, then session 12's default,
                session 13's and session 14's in front of all) as the preset
                dictionary: a bundled preset's meta costs 11-17 bytes }
      ...   4   CRC-32 of the header's bytes so far (u32)
    frames, one per chunk of ``config.run.chunk_bytes`` original bytes (the last one may
    be shorter; an empty input has none), each opening with a frame-kind byte:
      0     1   kind (u8): 1 coded, 2 stored, 0 = the end record follows (3 opens the
                segment table, only right after a SEGMENTS header; any other is refused)
      coded (only with MODEL):
      1     leb original bytes n in the chunk (1..chunk_bytes)
      ...   leb payload length P (a multiple of 4)
      ...   4   CRC-32 of the payload (u32)
      ...   4   CRC-32 of the chunk's original bytes (u32), checked before it is output
      ...   P   payload: the range coder's 32-bit words for the chunk, little-endian
      stored (a chunk that coding would have grown):
      1     leb original bytes n (1..chunk_bytes; 1..2**26 without MODEL)
      ...   4   CRC-32 of the chunk's original bytes (u32)
      ...   n   the original bytes, raw
      In a MODEL file the decoder still runs the model over a stored chunk's bytes (as
      the encoder did, to learn from them), so the frames after it decode exactly.
    end record, with MODEL
      0     1   0 (u8)
      1     leb original length = the sum of the frames' n
      ...   8   digest: the first 8 bytes of the original's SHA-256 (with each chunk's
                CRC-32, 96 bits check a decoded original; xz checks 64, zstd 32)
      ...   8   NLL in bits (f64): -log2 p of the coded chunks' bytes as the coder was
                given them, plus 8 bits for every stored byte (a report, not a check)
      ...   4   CRC-32 of the end record's bytes so far (u32)
    end record, without MODEL (stored only: the NLL is 8 bits a byte)
      0     1   0 (u8)
      1     leb original length (1..6 bytes)
      ...   4   CRC-32 of the whole original (u32)
      ...   4   CRC-32 of the end record's bytes so far (u32)
    then the end of the file: trailing bytes are refused.

A file of S >= 2 independent segments (flags MODEL | SEGMENTS; written for ``-T N``)
holds, between the header and the end record::

    segment table
      0     1   kind (u8) = 3
      1     4   segments S (u32, 2..MAX_SEGMENTS)
      5     36  per segment, in the original's order:
                  0  8  offset (u64): where its frames start, from the start of the file
                  8  8  size (u64): bytes of its frames
                  16 8  original bytes n (u64, >= 1)
                  24 4  streams B of its learner (u32, 1..MAX_STREAMS)
                  28 4  CRC-32 of its original bytes (u32)
                  32 4  CRC-32 of its frames' bytes (u32)
      5+36S 4   CRC-32 of the table's bytes so far (u32)
    the segments' frames, one segment after the other (each at its offset, exactly its
    size: kind 1 and 2 frames as above, its own chunks of ``chunk_bytes``, no end
    record), then the end record of the whole original (length = the sum of the n, its
    digest, the NLL of every segment).

Every segment is coded by a fresh learner from the seed (the header's config, its own
B), independently of the others: each can be decoded on its own, in any process, in any
order. The header's streams field is the first segment's B. ``run.min_segment_bytes``
(in the header's config) is the least a segment holds: an input shorter than twice that
is one segment, which is an ordinary file without the flag, byte for byte what ``-T 1``
writes.

Sizes: an empty input is a 26-byte file (16 header + 10 end); a single stored chunk of n
bytes costs n + 30 + 2L bytes, L the LEB128 length of n (100 KB of random bytes:
100,036). The writer stores a whole input without a model when it is one chunk that
would not shrink, and any chunk of a longer input whose coded frame would be larger
than its stored one.

Version 3 (written by 0.3.0 and this project until format 4): the same parts with fixed
fields: u32 streams and meta length (the meta deflated with ``META_DICTIONARY_V3_CM``),
a coded frame's n and P as u32, a stored frame's n as u32, the MODEL end record's length
as u64, the whole SHA-256 (32 bytes) and the NLL as f64; the stored-only end record as
in version 4.

Version 2 (no flags, no frame kinds: every frame coded, the u32 n = 0 ends the frames;
the end record is v3's MODEL end record with a u32 0 in front) and version 1 (one
payload, whole-file fields in the header: see ``_read_v1``) are still read.

``Reader`` checks each part as it arrives (a pipe can be decoded); ``scan`` walks a
whole file first so that a damaged file is refused before any decoding work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from onlinezip.config import Config, config_from_dict
from onlinezip.errors import OnlinezipError

MAGIC = b"\x89OZIP\r\n\x1a"
VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
FLAG_MODEL = 0x0001  # v3+: the file carries a model (streams, meta; coded frames; digest)
FLAG_SEGMENTS = 0x0002  # v3+, with MODEL: a segment table follows the header (-T N)
KNOWN_FLAGS = FLAG_MODEL  # without MODEL (stored only); with it, SEGMENTS may be set too
KIND_END, KIND_CODED, KIND_STORED, KIND_SEGMENTS = 0, 1, 2, 3  # v3 frame kinds
_PREFIX = struct.Struct("<8sH")  # magic, version: the same in every version
_HEAD = struct.Struct("<8sHHII")  # v2 and v3 with MODEL: magic, version, flags, streams, meta
_HEAD_STORED = struct.Struct("<8sHH")  # v3+ (v4 always): magic, version, flags
_FRAME = struct.Struct("<IIII")  # v2, v3: n, payload length, payload CRC, original CRC
_STORED = struct.Struct("<II")  # v3 stored frame: n, original CRC
_CRCS = struct.Struct("<II")  # v4 coded frame, after n and P: payload CRC, original CRC
_END = struct.Struct("<IQ32sd")  # v2: 0, original length, SHA-256, NLL bits
_END_MODEL = struct.Struct("<BQ32sd")  # v3 with MODEL: 0, original length, SHA-256, NLL bits
_END_V4 = struct.Struct("<8sd")  # v4 with MODEL, after kind and length: digest, NLL bits
DIGEST_BYTES = 8  # v4: the end record holds the first 8 bytes of the original's SHA-256
CODED_FRAME_BYTES = 1 + _FRAME.size  # v3 bytes around a coded frame's payload (v4: fewer)
STORED_FRAME_BYTES = 1 + _STORED.size  # v3 bytes around a stored frame's data (v4: fewer)
MAX_FRAME_OVERHEAD = 1 + 4 + 5 + _CRCS.size  # v4 (v3: 17): kind, n and P as read, CRCs
MAX_STORED_BYTES = 1 << 26  # the largest chunk a config allows
_CRC = struct.Struct("<I")
_SEGMENT_COUNT = struct.Struct("<BI")  # kind 3, segments S
_SEGMENT = struct.Struct("<QQQIII")  # offset, size, n, streams, original CRC, frames' CRC
MAX_SEGMENTS = 1 << 16
_READ_PIECE = 1 << 24  # the most bytes one read asks for
MAX_META_BYTES = 1 << 16
# Part of format version 1, never to be edited: deflate's preset dictionary for the meta.
META_DICTIONARY_V1 = (
    b'"family":"transformer""family":"lstm""family":"gru""name":"sgd"'
    b'{"config":{"model":{"context":32,"embed_dim":32,"family":"hashctx","hidden_dim":32,'
    b'"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":7,"table_bits":18},"optimizer":'
    b'{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.008,"momentum":0.0,'
    b'"name":"adam","row_decay":0.1,"row_learning_rate":0.3,"row_min_scale":0.02},"run":'
    b'{"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":8}},"environment":'
    b'{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10.2",'
    b'"jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0",'
    b'"optax":"0.2.8","threads":"1"},"nll_bits":'
)
# Part of format version 2, never to be edited: deflate's preset dictionary for the meta,
# ending with the default preset's meta as 0.2.0 writes it (deflate reaches back for
# matches, the nearest cheapest), so a header's metadata costs 20 to 60 bytes, not 700.
META_DICTIONARY = (
    b'"family":"transformer""family":"lstm""family":"gru""name":"sgd""preset":"custom"'
    b'"preset":"rae""preset":"tiny""preset":"small""preset":"base""preset":"fast"'
    b'"preset":"max""word_orders":0"direct_orders":4,"direct_bits":18'
    b'{"config":{"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,'
    b'"family":"hashctx","hidden_dim":32,"mlp_ratio":4,"num_heads":4,"num_layers":1,'
    b'"orders":6,"table_bits":18,"word_orders":2},"optimizer":{"b1":0.9,"b2":0.999,'
    b'"eps":1e-08,"grad_clip":0.0,"learning_rate":0.008,"momentum":0.0,"name":"adam",'
    b'"row_decay":0.1,"row_learning_rate":0.3,"row_min_scale":0.02},"run":{"chunk_bytes":'
    b'1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":8}},'
    b'"environment":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2",'
    b'"jax":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":'
    b'"0.1.0","optax":"0.2.8","threads":"1"},"num_parameters":8781312,"preset":"default"}'
)
# Part of format version 3, never to be edited: format 2's dictionary with the cm
# family's words put in front (deflate reaches back into a dictionary by distance from
# its end, so every meta deflated with format 2's dictionary inflates the same with this
# one). The max preset's [cm] section as 0.4.0 writes it: a cm header's meta then costs
# about 60 bytes, not 190.
META_DICTIONARY_V3 = (
    b'"family":"cm""preset":"cm""preset":"max""orders":[1,2,3,4,6]"column":1,"apm":2,'
    b'"cm":{"apm":2,"apm_rate":7,"column":2,"counter_limit":60,"final_rate":4,"indirect":1,'
    b'"known_mixer":1,"match_bits":20,"match_min":6,"mixer_init":0.05,"mixer_rate":24,'
    b'"orders":[1,2,3,4,5,6,8],"sparse":4,"table_bits":22,"ways":2,"word":2}'
) + META_DICTIONARY
# Also part of format version 3, never to be edited: format 3's first dictionary with the
# max and ultra presets' metas of session 6 (counter history, class mixers, a neural
# input) in front, by the same rule (every meta deflated with META_DICTIONARY_V3 inflates
# the same with this one, which readers use for every v3 file; writers use it for the
# cm family): a max header as of then cost 41 bytes, not 134 (today's max, with
# mixer_boost and final_rate 6 that the dictionary does not hold, 55).
META_DICTIONARY_V3_CM = (
    b'"neural":"hashctx""preset":"ultra"'
    b'"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"family":"cm'
    b'","hidden_dim":32,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":6,"table_bits"'
    b':18,"word_orders":2},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"l'
    b'earning_rate":0.008,"momentum":0.0,"name":"adam","row_decay":0.1,"row_learning_rate"'
    b':0.3,"row_min_scale":0.02},"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,"pro'
    b'b_floor":1e-05,"seed":0,"streams":1}},"environment":{"backend":"cpu","constriction":'
    b'"0.5.0","cpu":"GenuineIntel 6/167","flax":"0.12.8","isa":"AVX2","jax":"0.10.2","jaxl'
    b'ib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2.8",'
    b'"threads":"1"}{"config":{"cm":{"apm":2,"apm_rate":7,"class_mixer":4,"column":3,"coun'
    b'ter_limit":60,"final_classes":2,"final_rate":4,"history":3,"indirect":1,"known_mixer'
    b'":1,"lines":3,"match_bits":20,"match_min":6,"mixer_init":0.05,"mixer_rate":24,"order'
    b's":[1,2,3,4,5,6,8],"sparse":4,"table_bits":22,"ways":2,"word":4},"model":{"context":'
    b'32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"family":"cm","hidden_dim":128,'
    b'"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":6,"table_bits":18,"word_orders":'
    b'0},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.00'
    b'1,"momentum":0.0,"name":"adam","row_decay":0.1,"row_learning_rate":0.02,"row_min_sca'
    b'le":0.05},"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"s'
    b'eed":0,"streams":1}},"environment":{"backend":"cpu","constriction":"0.5.0","flax":"0'
    b'.12.8","isa":"AVX2","jax":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4'
    b'.6","onlinezip":"0.1.0","optax":"0.2.8","threads":"1"}'
) + META_DICTIONARY_V3
# Part of format version 4, never to be edited: the metas of the bundled presets fast, cm,
# ultra, default and max (in that order: deflate's distances are cheapest nearest the end)
# as this project wrote them when format 4 began, in front of format 3's dictionary. A
# bundled preset's meta then deflates to 11-17 bytes (format 3: 40-63); a later release
# (another version string) or another config still matches most of it.
META_DICTIONARY_V4 = (
    b'{"config":{"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"'
    b'family":"hashctx","hidden_dim":16,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders'
    b'":5,"table_bits":18,"word_orders":0},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"g'
    b'rad_clip":0.0,"learning_rate":0.008,"momentum":0.0,"name":"adam","row_decay":0.1,"ro'
    b'w_learning_rate":0.3,"row_min_scale":0.02},"run":{"chunk_bytes":1048576,"min_stream_'
    b'bytes":4096,"prob_floor":1e-05,"seed":0,"streams":128}},"environment":{"backend":"cp'
    b'u","constriction":"0.5.0","cpu":"AuthenticAMD 23/1","flax":"0.12.8","isa":"AVX2","ja'
    b'x":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0"'
    b',"optax":"0.2.8","threads":"1"},"num_parameters":4264197,"preset":"fast"}{"config":{'
    b'"cm":{"apm":2,"apm_rate":7,"class_mixer":4,"column":3,"counter_limit":60,"final_clas'
    b'ses":2,"final_rate":6,"history":3,"indirect":1,"known_mixer":1,"lines":3,"match_bits'
    b'":20,"match_min":6,"mixer_boost":1,"mixer_init":0.05,"mixer_rate":24,"orders":[1,2,3'
    b',4,5,6,8],"sparse":4,"table_bits":22,"ways":2,"word":4},"model":{"context":32,"direc'
    b't_bits":16,"direct_orders":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_rati'
    b'o":4,"num_heads":4,"num_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optim'
    b'izer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"moment'
    b'um":0.0,"name":"adam","row_decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05}'
    b',"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"s'
    b'treams":2}},"environment":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","i'
    b'sa":"AVX2","jax":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onli'
    b'nezip":"0.1.0","optax":"0.2.8","threads":"1"},"num_parameters":71080623,"preset":"cm'
    b'"}{"config":{"cm":{"apm":2,"apm_rate":7,"class_mixer":4,"column":3,"counter_limit":6'
    b'0,"final_classes":2,"final_rate":6,"history":3,"indirect":1,"known_mixer":1,"lines":'
    b'3,"match_bits":20,"match_min":6,"mixer_boost":1,"mixer_init":0.05,"mixer_rate":24,"n'
    b'eural":"hashctx","orders":[1,2,3,4,5,6,8],"sparse":4,"table_bits":22,"ways":2,"word"'
    b':4},"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"family"'
    b':"cm","hidden_dim":32,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":6,"table_b'
    b'its":18,"word_orders":2},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.'
    b'0,"learning_rate":0.008,"momentum":0.0,"name":"adam","row_decay":0.1,"row_learning_r'
    b'ate":0.3,"row_min_scale":0.02},"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,'
    b'"prob_floor":1e-05,"seed":0,"streams":1}},"environment":{"backend":"cpu","constricti'
    b'on":"0.5.0","cpu":"AuthenticAMD 23/1","flax":"0.12.8","isa":"AVX2","jax":"0.10.2","j'
    b'axlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2.'
    b'8","threads":"1"},"num_parameters":79578870,"preset":"ultra"}{"config":{"model":{"co'
    b'ntext":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"family":"hashctx","hidd'
    b'en_dim":32,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":6,"table_bits":18,"wo'
    b'rd_orders":2},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning'
    b'_rate":0.008,"momentum":0.0,"name":"adam","row_decay":0.1,"row_learning_rate":0.3,"r'
    b'ow_min_scale":0.02},"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,"prob_floor'
    b'":1e-05,"seed":0,"streams":8}},"environment":{"backend":"cpu","constriction":"0.5.0"'
    b',"cpu":"AuthenticAMD 23/1","flax":"0.12.8","isa":"AVX2","jax":"0.10.2","jaxlib":"0.1'
    b'0.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2.8","threads'
    b'":"1"},"num_parameters":8462600,"preset":"default"}{"config":{"cm":{"apm":2,"apm_rat'
    b'e":7,"class_mixer":4,"column":3,"counter_limit":60,"final_classes":2,"final_rate":6,'
    b'"history":3,"indirect":1,"known_mixer":1,"lines":3,"match_bits":20,"match_min":6,"mi'
    b'xer_boost":1,"mixer_init":0.05,"mixer_rate":24,"orders":[1,2,3,4,5,6,8],"sparse":4,"'
    b'table_bits":22,"ways":2,"word":4},"model":{"context":32,"direct_bits":16,"direct_ord'
    b'ers":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num_heads":4,"nu'
    b'm_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optimizer":{"b1":0.9,"b2":0'
    b'.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name":"adam",'
    b'"row_decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_bytes":'
    b'1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":1}},"environme'
    b'nt":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10'
    b'.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax"'
    b':"0.2.8","threads":"1"},"num_parameters":71080623,"preset":"max"}'
) + META_DICTIONARY_V3_CM
# Also part of format version 4, never to be edited: format 4's first dictionary with
# session 9's ultra cm section and max meta (the pixel model, the follow contexts) in
# front, by the same rule: every meta deflated with META_DICTIONARY_V4 inflates the same
# with this one, which readers and writers of format 4 use. max's meta then deflates to
# 17 bytes, not 52 (ultra's to 28, not 56).
META_DICTIONARY_V4_PIXELS = (
    b'"follow":2,"history":3,"indirect":1,"known_mixer":1,"lines":3,"match_bits":20,"match_m'
    b'in":6,"mixer_boost":1,"mixer_init":0.05,"mixer_rate":24,"neural":"hashctx","orders":[1'
    b',2,3,4,5,6,8],"pixel_apm":1,"pixel_mixer":1,"pixels":3,"sparse":4,"table_bits":22,"way'
    b's":2,"word":4},"model":{{"config":{"cm":{"apm":2,"apm_rate":7,"class_mixer":4,"column"'
    b':3,"counter_limit":60,"final_classes":2,"final_rate":6,"follow":2,"history":3,"indirec'
    b't":1,"known_mixer":1,"lines":3,"match_bits":20,"match_min":6,"mixer_boost":1,"mixer_in'
    b'it":0.05,"mixer_rate":24,"orders":[1,2,3,4,5,6,8],"pixel_apm":1,"pixel_mixer":1,"pixel'
    b's":3,"sparse":4,"table_bits":22,"ways":2,"word":4},"model":{"context":32,"direct_bits"'
    b':16,"direct_orders":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num'
    b'_heads":4,"num_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optimizer":{"b1"'
    b':0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name'
    b'":"adam","row_decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_'
    b'bytes":1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":1}},"envi'
    b'ronment":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0'
    b'.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax'
    b'":"0.2.8","threads":"1"},"num_parameters":77882864,"preset":"max"}'
) + META_DICTIONARY_V4
# Also part of format version 4, never to be edited: the dictionary above with session
# 10's max meta (order 12, text_rate, match_bits 22, table_bits 23) in front, by the same
# rule: every meta deflated with META_DICTIONARY_V4 or META_DICTIONARY_V4_PIXELS inflates
# the same with this one, which readers and writers of format 4 use.
META_DICTIONARY_V4_TEXT = (
    b'{"config":{"cm":{"apm":2,"apm_rate":7,"class_mixer":4,"column":3,"counter_limit":60,"f'
    b'inal_classes":2,"final_rate":6,"follow":2,"history":3,"indirect":1,"known_mixer":1,"li'
    b'nes":3,"match_bits":22,"match_min":6,"mixer_boost":1,"mixer_init":0.05,"mixer_rate":24'
    b',"orders":[1,2,3,4,5,6,8,12],"pixel_apm":1,"pixel_mixer":1,"pixels":3,"sparse":4,"tabl'
    b'e_bits":23,"text_rate":16,"ways":2,"word":4},"model":{"context":32,"direct_bits":16,"d'
    b'irect_orders":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num_heads'
    b'":4,"num_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optimizer":{"b1":0.9,"'
    b'b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name":"ada'
    b'm","row_decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_bytes"'
    b':1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":1}},"environmen'
    b't":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10.2"'
    b',"jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2'
    b'.8","threads":"1"},"num_parameters":145067608,"preset":"max"}'
) + META_DICTIONARY_V4_PIXELS
# Also part of format version 4, never to be edited: the dictionary above with session
# 11's max meta (prose contexts, hashed mixers, young-set boost) in front, by the same
# rule: every meta deflated with an earlier format-4 dictionary inflates the same with
# this one, which readers and writers of format 4 use.
META_DICTIONARY_V4_MIX = (
    b'{"config":{"cm":{"apm":3,"apm_rate":7,"byte_mixer":1,"class_mixer":4,"column":3,"counter'
    b'_limit":60,"final_boost":1,"final_classes":3,"final_rate":4,"follow":2,"history":3,"indi'
    b'rect":1,"known_mixer":1,"linear":1,"lines":3,"match_bits":22,"match_min":6,"mixer_boost"'
    b':0,"mixer_init":0.05,"mixer_rate":24,"order_mixers":[2,3],"orders":[1,2,3,4,5,6,8,12],"p'
    b'ixel_apm":1,"pixel_mixer":1,"pixels":3,"set_boost":32,"set_boost_x":32,"sparse":4,"table'
    b'_bits":23,"text_mixers":1,"text_orders":[3,5],"text_rate":16,"ways":2,"word":4,"word_mix'
    b'er":1},"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_dim":32,"family":'
    b'"cm","hidden_dim":128,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orders":6,"table_bits"'
    b':18,"word_orders":0},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learn'
    b'ing_rate":0.001,"momentum":0.0,"name":"adam","row_decay":0.1,"row_learning_rate":0.02,"r'
    b'ow_min_scale":0.05},"run":{"chunk_bytes":1048576,"min_stream_bytes":4096,"prob_floor":1e'
    b'-05,"seed":0,"streams":1}},"environment":{"backend":"cpu","constriction":"0.5.0","flax":'
    b'"0.12.8","isa":"AVX2","jax":"0.10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6'
    b'","onlinezip":"0.1.0","optax":"0.2.8","threads":"1"},"num_parameters":162028544,"preset"'
    b':"max"}'
) + META_DICTIONARY_V4_TEXT
# Also part of format version 4, never to be edited: the dictionary above with session
# 12's default meta (the context mixer in 16 streams that became levels -4..-6) in front,
# by the same rule: every meta deflated with an earlier format-4 dictionary inflates the
# same with this one, which readers and writers of format 4 use.
META_DICTIONARY_V4_DEFAULT = (
    b'{"config":{"cm":{"apm":2,"apm_rate":7,"class_mixer":3,"column":0,"counter_limit":60,"f'
    b'inal_boost":1,"final_classes":3,"final_rate":4,"history":0,"indirect":0,"known_mixer":'
    b'0,"lines":0,"match_bits":18,"match_min":6,"mixer_boost":0,"mixer_init":0.05,"mixer_rat'
    b'e":24,"orders":[1,2,3,4,6,8],"set_boost":32,"set_boost_x":32,"sparse":0,"table_bits":2'
    b'3,"ways":1,"word":3},"model":{"context":32,"direct_bits":16,"direct_orders":1,"embed_d'
    b'im":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num_heads":4,"num_layers":1,"orde'
    b'rs":6,"table_bits":18,"word_orders":0},"optimizer":{"b1":0.9,"b2":0.999,"eps":1e-08,"g'
    b'rad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name":"adam","row_decay":0.1,"row_'
    b'learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_bytes":1048576,"min_stream_byt'
    b'es":4096,"prob_floor":1e-05,"seed":0,"streams":16}},"environment":{"backend":"cpu","co'
    b'nstriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10.2","jaxlib":"0.10.2","mac'
    b'hine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2.8","threads":"1"},"num'
    b'_parameters":137107924,"preset":"default"}'
) + META_DICTIONARY_V4_MIX
# Also part of format version 4, never to be edited: the dictionary above with session
# 13's default meta (its slots in consecutive rows: cm.block_slots) in front, by the same
# rule: every meta deflated with an earlier format-4 dictionary inflates the same with
# this one, which readers and writers of format 4 use.
META_DICTIONARY_V4_BLOCK = (
    b'{"config":{"cm":{"apm":2,"apm_rate":7,"block_slots":1,"class_mixer":3,"column":0,"coun'
    b'ter_limit":60,"final_boost":1,"final_classes":3,"final_rate":4,"history":0,"indirect":'
    b'0,"known_mixer":0,"lines":0,"match_bits":18,"match_min":6,"mixer_boost":0,"mixer_init"'
    b':0.05,"mixer_rate":24,"orders":[1,2,3,4,6,8],"set_boost":32,"set_boost_x":32,"sparse":'
    b'0,"table_bits":23,"ways":1,"word":3},"model":{"context":32,"direct_bits":16,"direct_or'
    b'ders":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num_heads":4,"num'
    b'_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optimizer":{"b1":0.9,"b2":0.99'
    b'9,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name":"adam","row_'
    b'decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_bytes":1048576'
    b',"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":16}},"environment":{"ba'
    b'ckend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.10.2","jaxli'
    b'b":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax":"0.2.8","th'
    b'reads":"1"},"num_parameters":137107924,"preset":"default"}'
) + META_DICTIONARY_V4_DEFAULT
# Also part of format version 4, never to be edited: the dictionary above with session
# 14's default meta (a byte as two nibbles, 32 streams: cm.nibbles) in front, by the same
# rule: every meta deflated with an earlier format-4 dictionary inflates the same with
# this one, which readers and writers of format 4 use.
META_DICTIONARY_V4_NIBBLE = (
    b'{"config":{"cm":{"apm":2,"apm_rate":7,"block_slots":1,"class_mixer":3,"column":0,"coun'
    b'ter_limit":60,"final_boost":1,"final_classes":3,"final_rate":4,"history":0,"indirect":'
    b'0,"known_mixer":0,"lines":0,"match_bits":18,"match_min":6,"mixer_boost":0,"mixer_init"'
    b':0.05,"mixer_rate":24,"nibbles":1,"orders":[1,2,3,4,6,8],"set_boost":32,"set_boost_x":'
    b'32,"sparse":0,"table_bits":23,"ways":1,"word":3},"model":{"context":32,"direct_bits":1'
    b'6,"direct_orders":1,"embed_dim":32,"family":"cm","hidden_dim":128,"mlp_ratio":4,"num_h'
    b'eads":4,"num_layers":1,"orders":6,"table_bits":18,"word_orders":0},"optimizer":{"b1":0'
    b'.9,"b2":0.999,"eps":1e-08,"grad_clip":0.0,"learning_rate":0.001,"momentum":0.0,"name":'
    b'"adam","row_decay":0.1,"row_learning_rate":0.02,"row_min_scale":0.05},"run":{"chunk_by'
    b'tes":1048576,"min_stream_bytes":4096,"prob_floor":1e-05,"seed":0,"streams":32}},"envir'
    b'onment":{"backend":"cpu","constriction":"0.5.0","flax":"0.12.8","isa":"AVX2","jax":"0.'
    b'10.2","jaxlib":"0.10.2","machine":"x86_64","numpy":"2.4.6","onlinezip":"0.1.0","optax"'
    b':"0.2.8","threads":"1"},"num_parameters":137107924,"preset":"default"}'
) + META_DICTIONARY_V4_BLOCK
_META_LEVEL, _META_WBITS = 9, -15  # raw deflate: no zlib header or checksum (CRCs guard)
MAX_ORIGINAL_BYTES = 1 << 40  # 1 TiB: refuse absurd lengths before allocating anything
MAX_STREAMS = 1024
MAX_V1_BYTES = 1 << 26  # version 1 wrote no file larger than the largest chunk


# Config keys added since format 2 was released, with the value that means what 0.2.0
# did. A header leaves such a key out when it has that value (loading fills it back in),
# so a config 0.2.0 knew gives the very meta 0.2.0 wrote (since format 4, inside another
# framing, which 0.2.0 refuses as an unknown format version).
LATER_KEY_DEFAULTS = {
    ("run", "step_program"): 1,
    ("run", "min_segment_bytes"): 1 << 20,
    ("cm", "neural"): "",  # added in session 6: no neural input
    ("cm", "pixels"): 0,  # added in session 9: no pixel model
    ("cm", "pixel_limit"): 127,
    ("cm", "pixel_mixer"): 0,
    ("cm", "pixel_apm"): 0,
    ("cm", "follow"): 0,
    ("cm", "text_rate"): 0,  # added in session 10: mixer_rate on text too
    ("cm", "text_orders"): (),  # added in session 11: no prose contexts,
    ("cm", "linear"): 0,  # no unstretched inputs,
    ("cm", "byte_mixer"): 0,  # the last byte's mixer by the depth,
    ("cm", "order_mixers"): (),  # no hashed mixers,
    ("cm", "word_mixer"): 0,
    ("cm", "mixer_bits"): 12,
    ("cm", "text_mixers"): 0,
    ("cm", "set_boost"): 0,  # no young-set boost
    ("cm", "set_boost_x"): 4,
    ("cm", "final_boost"): 0,
    ("cm", "block_slots"): 0,  # added in session 13: slots hashed apart
    ("cm", "nibbles"): 0,  # added in session 14: a byte, one 256-way symbol
}


def _config_meta(config: Config) -> dict[str, Any]:
    meta = config.to_dict()
    for (section, key), value in LATER_KEY_DEFAULTS.items():
        if meta[section][key] == value:
            del meta[section][key]
    if config.model.family != "cm":
        del meta["cm"]  # the [cm] section (added in 0.4.0) only matters to the cm family
    return meta


@dataclass(frozen=True)
class Header:
    """What the decoder needs before the first byte: how to rebuild the model."""

    streams: int  # B (0 in a stored-only file)
    config: Config
    environment: dict[str, str]  # runtime.fingerprint() of the encoder
    preset: str  # preset name, or "custom" ("stored" in a stored-only file)
    num_parameters: int  # weights in the model
    model: bool = True  # False: a stored-only file, with no model (v3 without MODEL)

    def meta(self) -> dict[str, Any]:
        return {
            "config": _config_meta(self.config),
            "environment": self.environment,
            "preset": self.preset,
            "num_parameters": self.num_parameters,
        }


STORED_HEADER = Header(0, Config(), {}, "stored", 0, model=False)


@dataclass(frozen=True)
class Summary:
    """What is known only at the end: the whole original's length, hash and cost."""

    length: int  # original bytes
    sha256: bytes | None  # of the original (None in a stored-only file)
    nll_bits: float  # sum of -log2 p over the probabilities the coder was given
    crc32: int | None = None  # CRC-32 of the whole original (stored-only files)


@dataclass(frozen=True)
class Frame:
    length: int  # original bytes in the chunk
    payload: bytes  # the range coder's words; a stored frame's original bytes
    data_crc32: int | None  # CRC-32 of the chunk's original bytes (None in version 1)
    stored: bool = False  # the chunk is stored raw (v3)


@dataclass(frozen=True)
class Segment:
    """One entry of a segment table: where a segment's frames are, and what they hold."""

    size: int  # bytes of its frames in the file
    length: int  # original bytes
    streams: int  # B of its learner
    data_crc32: int  # CRC-32 of its original bytes
    frames_crc32: int  # CRC-32 of its frames' bytes
    offset: int = 0  # where its frames start in the file (set by ``segment_table``)


def max_payload_bytes(length: int) -> int:
    """An upper bound on a chunk's payload: every byte costs under 32 bits (prob_floor)."""
    return 4 * length + 64


def _leb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def header_bytes(header: Header, segmented: bool = False) -> bytes:
    """The version-4 header of a file with this header, checksum included (``segmented``:
    with the SEGMENTS flag, a segment table to follow)."""
    if not header.model:
        head = _HEAD_STORED.pack(MAGIC, VERSION, 0)
        return head + _CRC.pack(zlib.crc32(head))
    meta_json = json.dumps(header.meta(), sort_keys=True, separators=(",", ":"))
    deflate = zlib.compressobj(
        _META_LEVEL, zlib.DEFLATED, _META_WBITS, zdict=META_DICTIONARY_V4_NIBBLE
    )
    meta = deflate.compress(meta_json.encode()) + deflate.flush()
    flags = FLAG_MODEL | (FLAG_SEGMENTS if segmented else 0)
    head = _HEAD_STORED.pack(MAGIC, VERSION, flags) + _leb128(header.streams)
    head += _leb128(len(meta)) + meta
    return head + _CRC.pack(zlib.crc32(head))


def segment_table(start: int, segments: list[Segment]) -> tuple[bytes, list[Segment]]:
    """The segment table that begins at byte ``start`` of the file (right after the
    header), checksum included, and the segments with their offsets filled in."""
    if not 2 <= len(segments) <= MAX_SEGMENTS:
        raise ValueError(f"a segment table holds 2..{MAX_SEGMENTS} segments")
    offset = start + _SEGMENT_COUNT.size + len(segments) * _SEGMENT.size + _CRC.size
    table, placed = bytearray(_SEGMENT_COUNT.pack(KIND_SEGMENTS, len(segments))), []
    for seg in segments:
        seg = dataclasses.replace(seg, offset=offset)
        table += _SEGMENT.pack(
            seg.offset, seg.size, seg.length, seg.streams, seg.data_crc32, seg.frames_crc32
        )
        placed.append(seg)
        offset += seg.size
    return bytes(table) + _CRC.pack(zlib.crc32(table)), placed


def coded_frame_overhead(length: int, payload_bytes: int) -> int:
    """Bytes a version-4 coded frame adds to its payload."""
    return 1 + len(_leb128(length)) + len(_leb128(payload_bytes)) + _CRCS.size


def stored_frame_overhead(length: int) -> int:
    """Bytes a version-4 stored frame adds to its data."""
    return 1 + len(_leb128(length)) + _CRC.size


def coding_pays(length: int, payload_bytes: int) -> bool:
    """Whether a chunk of ``length`` bytes is written coded (its frame is the smaller)."""
    coded = payload_bytes + coded_frame_overhead(length, payload_bytes)
    return coded < length + stored_frame_overhead(length)


def frame_bytes(frame: Frame, model: bool = True) -> bytes:
    """One version-4 frame as it is written: kind byte, fields, payload."""
    if frame.stored:
        crc = zlib.crc32(frame.payload)
        if frame.data_crc32 not in (None, crc) or frame.length != len(frame.payload):
            raise ValueError("a stored frame's payload is its original bytes")
        return bytes([KIND_STORED]) + _leb128(frame.length) + _CRC.pack(crc) + frame.payload
    if not model:
        raise ValueError("a stored-only file has no coded frames")
    if len(frame.payload) % 4:
        raise ValueError("a coded frame's payload is whole 32-bit words")
    sizes = _leb128(frame.length) + _leb128(len(frame.payload))
    crcs = _CRCS.pack(zlib.crc32(frame.payload), frame.data_crc32 or 0)
    return bytes([KIND_CODED]) + sizes + crcs + frame.payload


def end_bytes(model: bool, summary: Summary) -> bytes:
    """The version-4 end record for ``summary``, checksum included."""
    if model:
        if summary.sha256 is None or len(summary.sha256) < DIGEST_BYTES:
            raise ValueError("a file with a model records the original's SHA-256")
        digest = summary.sha256[:DIGEST_BYTES]
        end = bytes([KIND_END]) + _leb128(summary.length) + _END_V4.pack(digest, summary.nll_bits)
    else:
        if summary.crc32 is None:
            raise ValueError("a stored-only file records the original's CRC-32")
        end = bytes([KIND_END]) + _leb128(summary.length) + _CRC.pack(summary.crc32)
    return end + _CRC.pack(zlib.crc32(end))


def digest_matches(summary: Summary, sha256_digest: bytes) -> bool:
    """Whether a decoded original's SHA-256 is the one ``summary`` records (whole, in
    versions 1-3; its first ``DIGEST_BYTES``, in version 4)."""
    assert summary.sha256 is not None and len(summary.sha256) in (DIGEST_BYTES, 32)
    return sha256_digest[: len(summary.sha256)] == summary.sha256


def stored_file_size(length: int) -> int:
    """Bytes of a stored-only file holding ``length`` bytes in one frame (or none)."""
    end = 1 + len(_leb128(length)) + 2 * _CRC.size
    frame = stored_frame_overhead(length) + length if length else 0
    return _HEAD_STORED.size + _CRC.size + frame + end


def coded_file_size(header: Header, length: int, payload_bytes: int) -> int:
    """Bytes of a file with a model holding one coded frame of ``payload_bytes``."""
    end = 1 + len(_leb128(length)) + _END_V4.size + _CRC.size
    frame = coded_frame_overhead(length, payload_bytes) + payload_bytes
    return len(header_bytes(header)) + frame + end


# --------------------------------------------------------------------------- writing


class Writer:
    """Writes a version-4 container to ``out`` piece by piece; counts what it wrote.

    A header with ``model=False`` makes a stored-only file: every frame must be stored."""

    def __init__(self, out: BinaryIO, header: Header, segments: list[Segment] | None = None):
        self._out, self.bytes_written, self.payload_bytes = out, 0, 0
        self._model = header.model
        self._write(header_bytes(header, segmented=segments is not None))
        self.segments: list[Segment] | None = None
        if segments is not None:
            if not header.model:
                raise ValueError("a stored-only file has no segments")
            table, self.segments = segment_table(self.bytes_written, segments)
            self._write(table)

    def segment(self, frames: bytes, payload_bytes: int) -> None:
        """A segment's frames (``frame_bytes`` of each, joined), ``payload_bytes`` of them
        payload; segments go in the order of the table given to the constructor."""
        self._write(frames)
        self.payload_bytes += payload_bytes

    def frame(self, frame: Frame) -> None:
        self._write(frame_bytes(frame, self._model))
        self.payload_bytes += len(frame.payload)

    def finish(self, summary: Summary) -> None:
        self._write(end_bytes(self._model, summary))

    @property
    def overhead_bytes(self) -> int:
        """Everything written that is not payload (range-coder words or stored bytes)."""
        return self.bytes_written - self.payload_bytes

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self.bytes_written += len(data)


def pack(header: Header, frames: list[Frame], summary: Summary) -> bytes:
    """A whole container in memory."""
    out = io.BytesIO()
    writer = Writer(out, header)
    for frame in frames:
        writer.frame(frame)
    writer.finish(summary)
    return out.getvalue()


# --------------------------------------------------------------------------- reading


def _inflate_meta(raw_meta: bytes, dictionary: bytes = META_DICTIONARY) -> str:
    """The meta's JSON text; at most ``MAX_META_BYTES`` of it, else the header is corrupt."""
    inflate = zlib.decompressobj(_META_WBITS, zdict=dictionary)
    raw = inflate.decompress(raw_meta, MAX_META_BYTES)
    if inflate.unconsumed_tail or not inflate.eof:
        raise ValueError("metadata is incomplete or inflates beyond 64 KiB")
    return raw.decode("utf-8")


def _parse_meta(raw_meta: bytes, streams: int, dictionary: bytes = META_DICTIONARY) -> Header:
    try:
        meta = json.loads(_inflate_meta(raw_meta, dictionary))
        header = Header(
            streams,
            config_from_dict(meta["config"]),
            {str(k): str(v) for k, v in meta["environment"].items()},
            str(meta["preset"]),
            int(meta["num_parameters"]),
        )
    except OnlinezipError as exc:
        raise OnlinezipError(
            f"corrupt header, or one from a newer onlinezip: bad config: {exc}"
        ) from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, zlib.error) as exc:
        raise OnlinezipError(f"corrupt header: unreadable metadata ({exc})") from None
    if not 1 <= streams <= MAX_STREAMS:
        raise OnlinezipError(f"corrupt header: {streams} streams is implausible")
    return header


class Reader:
    """Reads a container from ``src``, checking each part before handing it out.

    ``header`` is read on construction (and ``segments``, the segment table, in a file
    that has one: else None); iterate ``frames()`` (or ``segment_frames()``) once, then
    ``summary`` holds the end record (checked against the frames' lengths, and for
    trailing bytes)."""

    def __init__(self, src: BinaryIO):
        self._src = src
        self.bytes_read = 0  # container bytes consumed so far
        self.payload_bytes = 0  # of which payload (range-coder words, stored bytes)
        self.flags = 0
        prefix = self._read(_PREFIX.size)
        if len(prefix) < len(MAGIC) or prefix[: len(MAGIC)] != MAGIC:
            what = "not an onlinezip (.oz) file (bad magic bytes)" if prefix else "an empty file"
            raise OnlinezipError(f"input is {what}")
        if len(prefix) < _PREFIX.size:
            raise OnlinezipError("file is truncated: the header is incomplete")
        self.version = _PREFIX.unpack(prefix)[1]
        if self.version not in READABLE_VERSIONS:
            raise OnlinezipError(
                f"unsupported format version {self.version} (this onlinezip reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}); use the release that wrote the file"
            )
        self.summary: Summary | None = None
        self.segments: list[Segment] | None = None
        if self.version == 1:
            self.header, self._v1_frame, self.summary = _read_v1(prefix + self._read(-1))
            self.payload_bytes = len(self._v1_frame.payload)
        elif self.version == 2:
            self.header = self._read_header(prefix)
        else:
            self.header = self._read_header_v3(prefix)
            if self.flags & FLAG_SEGMENTS:
                self.segments = self._read_segment_table()

    def _read(self, size: int) -> bytes:
        data = self._src.read(size)
        self.bytes_read += len(data)
        return data

    def _read_exactly(self, size: int, what: str) -> bytes:
        """``size`` bytes, read in pieces of at most 16 MiB so that a size a damaged table
        claims costs memory only for the bytes that are really there."""
        if size <= _READ_PIECE:
            data = self._read(size)
        else:
            pieces, left = [], size
            while left:
                piece = self._read(min(left, _READ_PIECE))
                pieces.append(piece)
                left -= len(piece)
                if len(piece) < min(left + len(piece), _READ_PIECE):
                    break
            data = b"".join(pieces)
        if len(data) != size:
            raise OnlinezipError(f"file is truncated: the {what} is incomplete")
        return data

    def _read_header(self, prefix: bytes) -> Header:
        rest = self._read_exactly(_HEAD.size - len(prefix), "header")
        _, _, flags, streams, meta_len = _HEAD.unpack(prefix + rest)
        if meta_len > MAX_META_BYTES:
            raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
        meta = self._read_exactly(meta_len, "header")
        (crc,) = _CRC.unpack(self._read_exactly(_CRC.size, "header"))
        if zlib.crc32(prefix + rest + meta) != crc:
            raise OnlinezipError("corrupt header: header checksum mismatch")
        if flags not in ((FLAG_MODEL, FLAG_MODEL | FLAG_SEGMENTS) if self.version == 3 else (0,)):
            raise OnlinezipError(f"unsupported header flags {flags:#x}")
        return _parse_meta(
            meta, streams, META_DICTIONARY_V3_CM if self.version == 3 else META_DICTIONARY
        )

    def _read_header_v3(self, prefix: bytes) -> Header:
        """Versions 3 and 4: flags, then (with MODEL) the model's fields and meta."""
        flag_bytes = self._read_exactly(2, "header")
        (flags,) = struct.unpack("<H", flag_bytes)
        self.flags = flags
        if flags & FLAG_MODEL and self.version == 3:
            return self._read_header(prefix + flag_bytes)  # v2's layout, with the flag
        if flags & FLAG_MODEL:
            return self._read_header_v4(prefix + flag_bytes, flags)
        (crc,) = _CRC.unpack(self._read_exactly(_CRC.size, "header"))
        if zlib.crc32(prefix + flag_bytes) != crc:
            raise OnlinezipError("corrupt header: header checksum mismatch")
        if flags & ~KNOWN_FLAGS:
            raise OnlinezipError(
                f"unsupported header flags {flags:#x} (a newer onlinezip wrote this file)"
            )
        return STORED_HEADER

    def _read_header_v4(self, head: bytes, flags: int) -> Header:
        streams, raw_streams = _take_leb128(self._read_exactly, "header", 4)
        meta_len, raw_len = _take_leb128(self._read_exactly, "header", 4)
        if meta_len > MAX_META_BYTES:
            raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
        meta = self._read_exactly(meta_len, "header")
        (crc,) = _CRC.unpack(self._read_exactly(_CRC.size, "header"))
        if zlib.crc32(head + raw_streams + raw_len + meta) != crc:
            raise OnlinezipError("corrupt header: header checksum mismatch")
        if flags not in (FLAG_MODEL, FLAG_MODEL | FLAG_SEGMENTS):
            raise OnlinezipError(
                f"unsupported header flags {flags:#x} (a newer onlinezip wrote this file)"
            )
        return _parse_meta(meta, streams, META_DICTIONARY_V4_NIBBLE)

    def _read_segment_table(self) -> list[Segment]:
        start = self.bytes_read
        fixed = self._read_exactly(_SEGMENT_COUNT.size, "segment table")
        kind, count = _SEGMENT_COUNT.unpack(fixed)
        if kind != KIND_SEGMENTS:
            raise OnlinezipError(f"corrupt segment table: frame kind {kind} where it belongs")
        if not 2 <= count <= MAX_SEGMENTS:
            raise OnlinezipError(f"corrupt segment table: {count} segments is implausible")
        rows = self._read_exactly(count * _SEGMENT.size, "segment table")
        (crc,) = _CRC.unpack(self._read_exactly(_CRC.size, "segment table"))
        if zlib.crc32(fixed + rows) != crc:
            raise OnlinezipError("corrupt segment table: checksum mismatch")
        segments, offset, total = [], self.bytes_read, 0
        for index, row in enumerate(_SEGMENT.iter_unpack(rows)):
            seg = Segment(row[1], row[2], row[3], row[4], row[5], offset=row[0])
            total += seg.length
            if seg.offset != offset:
                raise OnlinezipError(
                    f"corrupt segment table: segment {index} is said to start at byte "
                    f"{seg.offset}, but it starts at {offset}"
                )
            if not 1 <= seg.length <= MAX_ORIGINAL_BYTES or total > MAX_ORIGINAL_BYTES:
                raise OnlinezipError(f"corrupt segment table: segment {index}'s length")
            max_size = max_payload_bytes(seg.length) + MAX_FRAME_OVERHEAD * (
                seg.length // self.header.config.run.chunk_bytes + 1
            )
            if not 1 <= seg.size <= max_size or not 1 <= seg.streams <= MAX_STREAMS:
                raise OnlinezipError(
                    f"corrupt segment table: segment {index} has implausible sizes "
                    f"({seg.length}, {seg.size}, {seg.streams} streams)"
                )
            segments.append(seg)
            offset += seg.size
        assert offset - start > 0
        return segments

    def segment_frames(self) -> Iterator[tuple[int, Segment, list[Frame]]]:
        """(index, table entry, its frames) for every segment of a segmented file, each
        checked whole against its entry (size, checksum, length) before it is handed out;
        then the end record."""
        if self.segments is None:
            raise ValueError("this file has no segment table")
        chunk_bytes, total = self.header.config.run.chunk_bytes, 0
        for index, seg in enumerate(self.segments):
            body = self._read_exactly(seg.size, f"segment {index}")
            if zlib.crc32(body) != seg.frames_crc32:
                raise OnlinezipError(f"corrupt segment {index}: checksum mismatch")
            frames = _body_frames(body, chunk_bytes, index, self.version)
            length = sum(frame.length for frame in frames)
            if length != seg.length:
                raise OnlinezipError(
                    f"corrupt segment table: segment {index} holds {length} bytes, the table "
                    f"says {seg.length}"
                )
            self.payload_bytes += sum(len(frame.payload) for frame in frames)
            total += length
            yield index, seg, frames
        kind = self._read_exactly(1, "end record")[0]
        if kind != KIND_END:
            raise OnlinezipError(
                f"corrupt segment table: frame kind {kind} after the last segment (the table "
                "lists fewer segments than the file holds?)"
            )
        self.summary = self._read_end(total)

    def frames(self) -> Iterator[Frame]:
        if self.version == 1:
            if self._v1_frame.length:
                yield self._v1_frame
            return
        if self.segments is not None:
            for _, _, frames in self.segment_frames():
                yield from frames
            return
        model = self.header.model
        chunk_bytes = self.header.config.run.chunk_bytes if model else MAX_STORED_BYTES
        total, index, short_seen = 0, 0, False
        while True:
            if self.version == 2:
                (first,) = _CRC.unpack(self._read_exactly(4, "frame list"))
                kind = KIND_CODED if first else KIND_END
            else:
                kind = self._read_exactly(1, "frame list")[0]
            if kind == KIND_END:
                self.summary = self._read_end(total)
                return
            if kind == KIND_CODED and model and self.version == 2:
                fixed = first.to_bytes(4, "little") + self._read_exactly(12, "frame header")
                n, size, payload_crc, data_crc = _FRAME.unpack(fixed)
                stored = False
            elif kind in (KIND_CODED, KIND_STORED) and (model or kind == KIND_STORED):
                fields = _frame_fields(self.version, kind, self._read_exactly)
                n, size, payload_crc, data_crc = fields
                stored = kind == KIND_STORED
            else:
                what = "a coded frame in a stored-only file" if kind == KIND_CODED else (
                    f"unknown frame kind {kind}"
                )  # fmt: skip
                raise OnlinezipError(f"corrupt frame {index}: {what}")
            bad_size = size > max_payload_bytes(n) or (not stored and size % 4)
            if short_seen or not 1 <= n <= chunk_bytes or bad_size:
                raise OnlinezipError(f"corrupt frame {index}: implausible sizes ({n}, {size})")
            payload = self._read_exactly(size, f"payload of frame {index}")
            if zlib.crc32(payload) != (data_crc if stored else payload_crc):
                raise OnlinezipError(f"corrupt payload: frame {index}'s checksum mismatch")
            total, self.payload_bytes = total + n, self.payload_bytes + size
            if total > MAX_ORIGINAL_BYTES:
                raise OnlinezipError("corrupt frames: the original would exceed 1 TiB")
            short_seen, index = n < chunk_bytes, index + 1
            yield Frame(n, payload, data_crc, stored)

    def _read_end(self, total: int) -> Summary:
        if self.version >= 3 and not self.header.model:
            summary = self._read_stored_end()
        elif self.version == 4:
            length, raw = _take_leb128(self._read_exactly, "end record", 6)
            rest = self._read_exactly(_END_V4.size + _CRC.size, "end record")
            body = b"\0" + raw + rest[: _END_V4.size]
            if zlib.crc32(body) != _CRC.unpack(rest[_END_V4.size :])[0]:
                raise OnlinezipError("corrupt end record: checksum mismatch")
            digest, nll_bits = _END_V4.unpack(rest[: _END_V4.size])
            summary = Summary(length, digest, nll_bits)
        else:
            end = _END if self.version == 2 else _END_MODEL
            head = b"\0\0\0\0" if self.version == 2 else b"\0"
            rest = self._read_exactly(end.size - len(head) + _CRC.size, "end record")
            body = head + rest[: -_CRC.size]
            if zlib.crc32(body) != _CRC.unpack(rest[-_CRC.size :])[0]:
                raise OnlinezipError("corrupt end record: checksum mismatch")
            _, length, sha, nll_bits = end.unpack(body)
            summary = Summary(length, sha, nll_bits)
        if summary.length != total:
            raise OnlinezipError(
                f"corrupt end record: length {summary.length} but frames hold {total}"
            )
        if self._read(1):
            raise OnlinezipError("file is followed by unexpected bytes after its end record")
        return summary

    def _read_stored_end(self) -> Summary:
        length, raw = _take_leb128(self._read_exactly, "end record", 6)  # up to 2**42
        rest = self._read_exactly(2 * _CRC.size, "end record")
        if zlib.crc32(b"\0" + raw + rest[: _CRC.size]) != _CRC.unpack(rest[_CRC.size :])[0]:
            raise OnlinezipError("corrupt end record: checksum mismatch")
        (crc,) = _CRC.unpack(rest[: _CRC.size])
        return Summary(length, None, 8.0 * length, crc)


def _take_leb128(take, what: str, max_bytes: int) -> tuple[int, bytes]:
    """A minimal unsigned LEB128 integer of at most ``max_bytes`` bytes, read by
    ``take(size, what)``: (its value, its bytes)."""
    raw, value = bytearray(), 0
    while True:
        byte = take(1, what)[0]
        raw.append(byte)
        value |= (byte & 0x7F) << (7 * (len(raw) - 1))
        if not byte & 0x80:
            break
        if len(raw) == max_bytes:
            raise OnlinezipError(f"corrupt {what}: a length field is too long")
    if len(raw) > 1 and raw[-1] == 0:
        raise OnlinezipError(f"corrupt {what}: a length field is not minimal")
    return value, bytes(raw)


def _frame_fields(version: int, kind: int, take) -> tuple[int, int, int, int]:
    """(n, payload size, payload CRC, original CRC) of a version-3 or -4 frame of ``kind``
    (coded or stored; a stored frame's payload is its original bytes), read by ``take``."""
    if version == 3 and kind == KIND_CODED:
        return _FRAME.unpack(take(_FRAME.size, "frame header"))
    if version == 3:
        n, data_crc = _STORED.unpack(take(_STORED.size, "frame header"))
        return n, n, data_crc, data_crc
    n, _ = _take_leb128(take, "frame header", 4)  # n <= chunk_bytes <= 2**26
    if kind == KIND_STORED:
        (data_crc,) = _CRC.unpack(take(_CRC.size, "frame header"))
        return n, n, data_crc, data_crc
    size, _ = _take_leb128(take, "frame header", 5)  # P <= 4 n + 64
    return (n, size, *_CRCS.unpack(take(_CRCS.size, "frame header")))


def _body_frames(body: bytes, chunk_bytes: int, segment: int, version: int) -> list[Frame]:
    """The frames of one segment (kind 1 and 2, the file's rules), which fill ``body``."""
    frames, pos, short_seen = [], 0, False
    where = f"segment {segment}'s frame"

    def take(size: int, what: str) -> bytes:
        nonlocal pos
        if pos + size > len(body):
            raise OnlinezipError(f"corrupt segment {segment}: its {what} runs past its end")
        pos += size
        return body[pos - size : pos]

    while pos < len(body):
        index = len(frames)
        kind = body[pos]
        pos += 1
        if kind not in (KIND_CODED, KIND_STORED):
            raise OnlinezipError(f"corrupt {where} {index}: unknown frame kind {kind}")
        n, size, payload_crc, data_crc = _frame_fields(version, kind, take)
        stored = kind == KIND_STORED
        bad_size = size > max_payload_bytes(n) or (not stored and size % 4)
        if short_seen or not 1 <= n <= chunk_bytes or bad_size:
            raise OnlinezipError(f"corrupt {where} {index}: implausible sizes ({n}, {size})")
        payload = take(size, "payload")
        if zlib.crc32(payload) != (data_crc if stored else payload_crc):
            raise OnlinezipError(f"corrupt payload: {where} {index}'s checksum mismatch")
        short_seen = n < chunk_bytes
        frames.append(Frame(n, payload, data_crc, stored))
    return frames


def header_size(blob: bytes) -> int:
    """Bytes before the first frame (versions 2 to 4) or the payload (version 1)."""
    reader = Reader(io.BytesIO(blob))
    if reader.version == 1:
        return len(blob) - reader.payload_bytes
    return reader.bytes_read


def scan(src: BinaryIO) -> tuple[Header, Summary]:
    """Walk a whole container, checking every checksum and size, without decoding."""
    reader = Reader(src)
    for _ in reader.frames():
        pass
    assert reader.summary is not None
    return reader.header, reader.summary


def parse(blob: bytes) -> tuple[Header, Summary, list[Frame]]:
    """A whole in-memory container, checked."""
    reader = Reader(io.BytesIO(blob))
    frames = list(reader.frames())
    assert reader.summary is not None
    return reader.header, reader.summary, frames


# --------------------------------------------------------------------------- version 1

_V1_FIXED = struct.Struct("<8sHHQI32sQII")
# v1: magic, version, flags, length, streams, SHA-256, payload length, payload CRC, meta
# length; then meta (with nll_bits), CRC-32 of all that, then the payload; nothing after.


def _read_v1(blob: bytes) -> tuple[Header, Frame, Summary]:
    if len(blob) < _V1_FIXED.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    _, _, flags, length, streams, sha, payload_len, payload_crc, meta_len = (  # fmt: skip
        _V1_FIXED.unpack_from(blob)
    )
    if meta_len > MAX_META_BYTES:
        raise OnlinezipError(f"corrupt header: meta length {meta_len} is implausible")
    head_end = _V1_FIXED.size + meta_len
    if len(blob) < head_end + _CRC.size:
        raise OnlinezipError("file is truncated: the header is incomplete")
    if zlib.crc32(blob[:head_end]) != _CRC.unpack_from(blob, head_end)[0]:
        raise OnlinezipError("corrupt header: header checksum mismatch")
    if flags != 0:
        raise OnlinezipError(f"unsupported header flags {flags:#x}")
    if length > MAX_V1_BYTES:  # version 1 decoded a whole file in memory, as one chunk
        raise OnlinezipError(f"corrupt header: length {length} is implausible")
    expected = head_end + _CRC.size + payload_len
    if len(blob) != expected:
        problem = "truncated" if len(blob) < expected else "followed by unexpected bytes"
        raise OnlinezipError(f"file is {problem}: expected {expected} bytes, found {len(blob)}")
    payload = blob[head_end + _CRC.size :]
    if zlib.crc32(payload) != payload_crc:
        raise OnlinezipError("corrupt payload: payload checksum mismatch")
    raw_meta = blob[_V1_FIXED.size : head_end]
    header = _parse_meta(raw_meta, streams, META_DICTIONARY_V1)
    try:
        nll_bits = float(json.loads(_inflate_meta(raw_meta, META_DICTIONARY_V1))["nll_bits"])
    except (ValueError, KeyError, TypeError, RecursionError, zlib.error) as exc:
        raise OnlinezipError(f"corrupt header: unreadable metadata ({exc})") from None
    # A v1 file is one chunk, whatever its size: decode it as such.
    run = dataclasses.replace(header.config.run, chunk_bytes=max(length, 1))
    header = dataclasses.replace(header, config=dataclasses.replace(header.config, run=run))
    return header, Frame(length, payload, None), Summary(length, sha, nll_bits)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
