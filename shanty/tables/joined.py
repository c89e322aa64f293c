"""W&B's ``wandb.JoinedTable``: two tables and the key(s) to join them on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import InvalidInputError

__all__ = ["JoinedTable"]


class JoinedTable:
    """Two tables and the key(s) to join them on (W&B's ``wandb.JoinedTable``).

    ``table1`` / ``table2`` are Tables (added to the same artifact, or read
    from any logged version) or names of tables in the artifact. ``join_key``
    follows W&B: a column name both tables have, or a pair ``[key in table1,
    key in table2]``. Beyond W&B, a list of pairs joins on several columns
    (``[["id", "song_id"], ["day", "day"]]``), and a list of one or of three
    or more names joins on those same-named columns. ``join_key`` is kept as
    given (it is stored so); ``left_keys`` / ``right_keys`` say what it means.
    """

    def __init__(self, table1: Any, table2: Any, join_key: str | Sequence[Any]):
        # table1 / table2: a Table or a name (typed Any: table.py imports this module, not the reverse)
        self.table1 = table1
        self.table2 = table2
        self.join_key = (
            join_key if isinstance(join_key, str) else [list(k) if isinstance(k, tuple) else k for k in join_key]
        )
        self.left_keys, self.right_keys = _key_pairs(self.join_key)

    def __repr__(self) -> str:
        pairs = [a if a == b else f"{a}={b}" for a, b in zip(self.left_keys, self.right_keys, strict=True)]
        return f"<JoinedTable on {', '.join(pairs)}>"


def _key_pairs(join_key: str | list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys of table1, keys of table2) that ``join_key`` names; InvalidInputError for anything else."""
    if isinstance(join_key, str):
        pairs = [(join_key, join_key)]
    elif len(join_key) == 2 and all(isinstance(k, str) for k in join_key):
        pairs = [(join_key[0], join_key[1])]  # W&B: [key in table1, key in table2]
    elif join_key and all(isinstance(k, str) for k in join_key):
        pairs = [(k, k) for k in join_key]
    elif join_key and all(isinstance(k, list) and len(k) == 2 and all(isinstance(n, str) for n in k) for k in join_key):
        pairs = [(k[0], k[1]) for k in join_key]
    else:
        raise InvalidInputError(
            f"A JoinedTable's join_key is a column name, a pair [key in table1, key in table2] or a list of such "
            f"pairs, not {join_key!r}."
        )
    if any(not a or not b for a, b in pairs):
        raise InvalidInputError("A JoinedTable's join key names cannot be empty.")
    return tuple(a for a, _ in pairs), tuple(b for _, b in pairs)
