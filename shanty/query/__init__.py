"""Queries as data: the spec, its operators, the expression parser, the compiler to (sql, params), and runs.

Modules, from the bottom up: ``nodes`` (the condition AST), ``kinds``
(column kinds, value coercion), ``operators`` (the operator table),
``paging``, ``spec`` (Query and its parts, TableSchema), ``expr`` (the
expression parser), ``sql`` (SQL building blocks), ``database`` (the shared
DuckDB database, schemas, stamps, pages), ``relation`` (joined column
naming), ``compile``, ``run``, ``summaries`` and ``export``. Nothing here
imports :mod:`shanty.diff`, which builds on this family.
"""

from .database import read_schema
from .operators import FILTER_OPS, parse_filter_text
from .relation import join_prefix, relation_schema
from .run import QueryResult, run_query
from .spec import Aggregate, Filter, GroupBy, Join, Query, Sort, TableSchema
from .summaries import ColumnSummary, column_summaries, query_summaries

__all__ = [
    "FILTER_OPS",
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
    "join_prefix",
    "parse_filter_text",
    "query_summaries",
    "read_schema",
    "relation_schema",
    "run_query",
]
