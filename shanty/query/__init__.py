"""Queries as data: the spec, its operators, the expression parser, the compiler to (sql, params), and runs."""

from .run import ColumnSummary, QueryResult, column_summaries, read_schema, run_query
from .spec import Aggregate, Filter, GroupBy, Join, Query, Sort, TableSchema

__all__ = [
    "Aggregate",
    "ColumnSummary",
    "Filter",
    "GroupBy",
    "Join",
    "Query",
    "QueryResult",
    "Sort",
    "TableSchema",
    "column_summaries",
    "read_schema",
    "run_query",
]
