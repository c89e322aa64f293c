"""Media enrichment and similarity: measure a table's media (on this machine or on Ray), log the measured
columns as a new version, and place rows on a 2D map by their embeddings.

* :mod:`work` (the distinct media objects of a table), :mod:`measure` (one object: the function every
  runner calls), :mod:`runners` (loop, process pool, Ray; the digest-keyed result cache),
  :mod:`apply` (``enrich``: the new version, its lineage);
* per kind: :mod:`audio`, :mod:`image`, :mod:`video`, and :mod:`embedding` (the built-in descriptors);
* :mod:`similarity` (projection, rows in a drawn shape, nearest rows), :mod:`maps` (a map of one or two
  logged tables).
"""

from .apply import EnrichResult, enrich, enriched_columns, enriched_from
from .maps import MapSource, SimilarityMap, colour_columns, embedding_columns, similarity_map
from .runners import RUNNERS
from .similarity import PROJECTIONS, nearest, points_in_polygon, project

__all__ = [
    "PROJECTIONS",
    "RUNNERS",
    "EnrichResult",
    "MapSource",
    "SimilarityMap",
    "colour_columns",
    "embedding_columns",
    "enrich",
    "enriched_columns",
    "enriched_from",
    "nearest",
    "points_in_polygon",
    "project",
    "similarity_map",
]
