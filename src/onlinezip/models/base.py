"""What models without a sparsely-trained table share."""

from __future__ import annotations

from typing import Any


class DenseModel:
    """The table part of the ``ByteModel`` protocol, for models that have no table."""

    def init_tables(self) -> tuple:
        return ()

    def lookup(self, tables: tuple, ctx: Any) -> tuple[tuple, tuple]:
        return (), ()
