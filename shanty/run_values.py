"""A run's ``config`` and ``summary``: dicts whose keys are also attributes, holding only plain values."""

from __future__ import annotations

import json
from typing import Any

from .errors import InvalidInputError
from .jsonfile import plain_json_value

__all__ = ["AttrDict"]


class AttrDict(dict):
    """A dict whose keys are also attributes, as W&B's ``run.config`` and ``run.summary`` are:
    ``config.lr = 0.1`` and ``config["lr"]`` are the same entry. ``update(values, allow_val_change=...)``
    takes W&B's extra argument; ``as_dict()`` is a plain copy."""

    def __init__(self, *values: Any, **more: Any) -> None:
        super().__init__()
        self.update(*values, **more)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __setitem__(self, key: str, value: Any) -> None:
        # A value JSON cannot store is refused where it is set, not when the run is saved.
        try:
            json.dumps(value, default=plain_json_value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"{key!r} = {type(value).__name__}: a run's config and summary hold plain values (numbers, text, "
                f"lists, dicts, numpy values); {exc}."
            ) from None
        super().__setitem__(key, value)

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def update(self, *values: Any, allow_val_change: bool | None = None, **more: Any) -> None:  # type: ignore[override]
        for key, value in dict(*values, **more).items():
            self[key] = value

    def setdefaults(self, values: dict[str, Any]) -> None:
        """W&B's ``config.setdefaults``: set the keys not set yet."""
        for key, value in values.items():
            if key not in self:
                self[key] = value

    def as_dict(self) -> dict[str, Any]:
        return dict(self)
