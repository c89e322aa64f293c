"""Pages: the one rule for page numbers and sizes, shared by queries and diffs.

Every paged answer in shanty (a query's rows, a table diff's rows, a manifest
diff's changes) takes a 1-based ``page`` and a ``page_size``, checks them
with :func:`check_page` (one error type, one wording) and reports
:func:`page_count` the same way: 0 when nothing matches, and a page past the
end is empty. Fetching a page and its total from DuckDB is
:func:`shanty.query.database.fetch_page`.
"""

from __future__ import annotations

from typing import Any

from ..errors import QueryError

__all__ = ["MAX_PAGE", "MAX_PAGE_SIZE", "check_page", "page_count", "page_offset"]

MAX_PAGE_SIZE = 10_000
MAX_PAGE = 10**9  # keeps the offset a small number however hostile the request


def check_page(page: Any, page_size: Any) -> None:
    """Raise QueryError unless ``page`` is a whole number 1..MAX_PAGE and ``page_size`` one of 1..MAX_PAGE_SIZE."""
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise QueryError(f"The page number must be 1 or more (a whole number up to {MAX_PAGE}), not {page!r}.")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError(f"The page size must be from 1 to {MAX_PAGE_SIZE}, not {page_size!r}.")


def page_offset(page: int, page_size: int) -> int:
    """How many rows come before ``page``."""
    return (page - 1) * page_size


def page_count(total: int, page_size: int) -> int:
    """How many pages ``total`` rows fill: 0 for none."""
    return -(-total // page_size)
