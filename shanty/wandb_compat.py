"""Small W&B names that ported scripts touch: ``Histogram``, ``ArtifactTTL``, ``Settings`` and the error
names (``wandb.Error``, ``CommError``, ``UsageError``) as aliases of shanty's own errors."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from .errors import InvalidInputError, ShantyError, StorageError

__all__ = ["ArtifactTTL", "CommError", "Error", "Histogram", "Settings", "UsageError"]

# W&B's exception names, so `except wandb.Error:` catches what shanty raises on purpose.
Error = ShantyError  # every error raised on purpose
CommError = StorageError  # W&B: the server could not be reached; here: the registry's storage failed
UsageError = InvalidInputError  # W&B: the call was used wrongly

MAX_BINS = 512  # W&B's Histogram.MAX_LENGTH


class ArtifactTTL(Enum):
    """W&B's ``ArtifactTTL.INHERIT`` (``artifact.ttl = wandb.ArtifactTTL.INHERIT``): W&B takes the
    collection's default time-to-live; collections have none here, so the version never expires."""

    INHERIT = 0


class Histogram:
    """W&B's ``wandb.Histogram``: counts of ``sequence`` in ``num_bins`` equal bins (numpy's
    ``np.histogram``), or a precomputed ``np_histogram=(values, bin_edges)``. ``run.log`` stores it in
    the history as W&B does: ``{"_type": "histogram", "values": [...], "bins": [...]}``.
    InvalidInputError (one sentence) for more than 512 bins or edges that do not fit the counts."""

    MAX_LENGTH = MAX_BINS

    def __init__(self, sequence: Sequence[Any] | None = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise InvalidInputError("np_histogram is the pair (values, bin_edges) that numpy.histogram returns.")
            values, bins = np_histogram
            self.histogram = values.tolist() if hasattr(values, "tolist") else list(values)
            self.bins = bins.tolist() if hasattr(bins, "tolist") else list(bins)
        else:
            if sequence is None:
                raise InvalidInputError("Histogram needs a sequence of numbers or np_histogram=(values, bin_edges).")
            import numpy as np

            values, bins = np.histogram(np.asarray(sequence, dtype=float), bins=num_bins)
            self.histogram, self.bins = values.tolist(), bins.tolist()
        if len(self.histogram) > MAX_BINS:
            raise InvalidInputError(f"A histogram has at most {MAX_BINS} bins, not {len(self.histogram)}.")
        if len(self.histogram) + 1 != len(self.bins):
            raise InvalidInputError(
                f"A histogram of {len(self.histogram)} counts needs {len(self.histogram) + 1} bin edges, "
                f"not {len(self.bins)}."
            )

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins>"

    def to_json(self, run: Any = None) -> dict[str, Any]:
        """W&B's JSON of a histogram, as stored in a run's history and summary."""
        return {"_type": "histogram", "values": list(self.histogram), "bins": list(self.bins)}


class Settings:
    """W&B's ``wandb.Settings(**kwargs)``, accepted so ``init(settings=wandb.Settings(...))`` runs: the
    values are kept as attributes and have no effect here (there is no service, console capture or
    sync to configure)."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in sorted(self.__dict__.items()))})"

    def update(self, settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """W&B's ``Settings.update``: set more values (kept, no effect)."""
        self.__dict__.update({**(settings or {}), **kwargs})
