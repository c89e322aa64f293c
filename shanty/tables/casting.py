"""What ``Table.cast`` converts values to: plain types, media kinds, class ids (W&B's ``cast`` dtypes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidInputError
from .annotations import Classes
from .cells import Media

__all__ = ["caster"]

_PLAIN_CASTS: dict[Any, tuple[Callable[[Any], Any], str]] = {
    int: (lambda v: _exact_int(v), "a whole number"),
    float: (float, "a number"),
    str: (str, "text"),
    bool: (lambda v: _strict_bool(v), "true or false"),
}
_PLAIN_CASTS |= {"number": _PLAIN_CASTS[float], "string": _PLAIN_CASTS[str], "boolean": _PLAIN_CASTS[bool]}


def _exact_int(value: Any) -> int:
    number = float(value) if isinstance(value, str) else value
    if isinstance(number, bool) or int(number) != number:
        raise ValueError(value)
    return int(number)


def _strict_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(value)


def caster(dtype: Any) -> tuple[Callable[[Any], Any], str]:
    """(convert one value, what it must be) for a ``Table.cast`` dtype; InvalidInputError if unknown."""
    if isinstance(dtype, Media):
        dtype = type(dtype)
    if isinstance(dtype, type) and issubclass(dtype, Media):
        kind = dtype

        def media(value: Any) -> Media:
            if isinstance(value, kind):
                return value
            if isinstance(value, Media):
                raise ValueError(value)
            return kind(value)

        return media, f"a {kind.kind} (a path or URI)"
    if isinstance(dtype, Classes):  # the values are class ids
        known = set(dtype.names())

        def class_id(value: Any) -> int:
            number = _exact_int(value)
            if number not in known:
                raise ValueError(value)
            return number

        return class_id, f"one of the class ids {sorted(known)}"
    try:
        return _PLAIN_CASTS[dtype]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"Table.cast takes int, float, str, bool, a media kind (shanty.Audio, Image, Video) or "
            f"shanty.Classes, not {dtype!r}."
        ) from None
