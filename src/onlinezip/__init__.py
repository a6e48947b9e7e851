"""onlinezip: Shannon's identical twins as a compressor. Send the training code, not the weights.

>>> import onlinezip
>>> blob = onlinezip.compress(b"hello hello hello")
>>> onlinezip.decompress(blob)
b'hello hello hello'

Importing the package is cheap: it pins XLA's flags (``runtime.configure``) and loads
the rest, JAX included, only when first used, so the command line starts fast and never
loads JAX for files that need no model. JAX's CPU client is still created with its
one-thread pool before any other code can use JAX: if JAX is already imported, now;
otherwise right after its import, whoever imports it (``_PinWhenJaxIsImported``).
"""

import importlib
import importlib.abc
import importlib.util
import sys

from onlinezip import runtime as _runtime

__version__ = "0.3.0"

_runtime.configure()  # pins XLA's flags; must come before anything imports jax


class _PinWhenJaxIsImported(importlib.abc.MetaPathFinder):
    """Runs ``runtime.ensure_backend(strict=False)`` as soon as ``import jax`` completes,
    as importing onlinezip did eagerly before 0.3.0's lazy imports."""

    def find_spec(self, name, path=None, target=None):
        if name != "jax":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_pin(module):
            exec_module(module)
            _runtime.ensure_backend(strict=False)

        spec.loader.exec_module = exec_then_pin
        return spec


if "jax" in sys.modules:
    _runtime.ensure_backend(strict=False)  # one-thread CPU client, unless JAX was running
elif not any(isinstance(f, _PinWhenJaxIsImported) for f in sys.meta_path):
    sys.meta_path.insert(0, _PinWhenJaxIsImported())

_LAZY = {
    "Result": "onlinezip.api",
    "compress": "onlinezip.api",
    "compress_result": "onlinezip.api",
    "compress_stream": "onlinezip.api",
    "decompress": "onlinezip.api",
    "decompress_result": "onlinezip.api",
    "decompress_stream": "onlinezip.api",
    "read_header": "onlinezip.api",
    "Config": "onlinezip.config",
    "load_config": "onlinezip.config",
    "load_preset": "onlinezip.config",
    "preset_names": "onlinezip.config",
    "OnlinezipError": "onlinezip.errors",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'onlinezip' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
