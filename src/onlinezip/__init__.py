"""onlinezip: Shannon's identical twins as a compressor. Send the training code, not the weights.

>>> import onlinezip
>>> blob = onlinezip.compress(b"hello hello hello")
>>> onlinezip.decompress(blob)
b'hello hello hello'
"""

from onlinezip import runtime as _runtime

_runtime.configure()  # pins XLA's flags; must come before anything imports jax
_runtime.ensure_backend(strict=False)  # one-thread CPU client, unless JAX was already running

from onlinezip.api import (  # noqa: E402
    Result,
    compress,
    compress_result,
    compress_stream,
    decompress,
    decompress_result,
    decompress_stream,
    read_header,
)
from onlinezip.config import Config, load_config, load_preset, preset_names  # noqa: E402
from onlinezip.errors import OnlinezipError  # noqa: E402

__version__ = "0.3.0"
__all__ = [
    "Config",
    "OnlinezipError",
    "Result",
    "compress",
    "compress_result",
    "compress_stream",
    "decompress",
    "decompress_result",
    "decompress_stream",
    "load_config",
    "load_preset",
    "preset_names",
    "read_header",
]
