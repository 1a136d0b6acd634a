"""The learner's bulk UPDATE of its labels as plain SQL (``LabelQuerySet.model_update``):
the statement for each database, and the rows written out as literals."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from django.db import connection


def model_update_sql(table: str, *, source: str) -> str:
    """The learner's UPDATE of the labels of ``source``, with ``{values}`` left for the rows
    (see values_literal)."""
    table = connection.ops.quote_name(table)
    model = str(source)
    if connection.vendor == "mysql":
        # The new values name their columns (see values_literal). STRAIGHT_JOIN: each new
        # row finds its label by the whole unique key; joined the other way round, MariaDB
        # read every label of the project (EXPLAIN: ref, project_id).
        return (
            f"UPDATE ({{values}}) AS t STRAIGHT_JOIN {table} AS l ON l.project_id = %s "
            f"AND l.face_id = t.face AND l.source = '{model}' "
            "SET l.verdict = t.verdict, l.score = t.score, l.priority = t.priority, "
            "l.created_at = %s"
        )
    # Parameters in the order MariaDB's form takes them: the project, then the time.
    return (
        f"WITH t AS (SELECT %s AS project, column1 AS face, column2 AS verdict, "
        f"column3 AS score, column4 AS priority, %s AS at FROM (VALUES {{values}})) "
        f"UPDATE {table} SET verdict = t.verdict, score = t.score, priority = t.priority, "
        f"created_at = t.at FROM t WHERE {table}.project_id = t.project "
        f"AND {table}.face_id = t.face AND {table}.source = '{model}'"
    )


def values_literal(
    rows: Sequence[tuple[int, str, float, float | None]], *, verdicts: Mapping[str, str]
) -> str:
    """The rows as SQL literals. Written out, not bound: the driver quotes each of 20,000
    parameters in Python, which took as long as the database took to store them. Safe
    because every value is a number or one of the verdicts (anything else raises).
    One f-string a row: 5,000 rows (an answer's) in 5 ms, where a tuple of converted values
    a row took 33 ms."""
    literal = "), (".join(
        f"{int(face_id)}, {_verdict_literal(verdict, verdicts)}, {_number(score)}, {_number(rank)}"
        for face_id, verdict, score, rank in rows
    )
    if connection.vendor != "mysql":
        return f"({literal})"
    # MariaDB names a VALUES list's columns after its first row: an empty SELECT before it
    # names them. A VALUES list, not a SELECT a row joined by UNION ALL: the server reads
    # 2,000 rows of it in a third of the time (and the whole UPDATE takes some 15 % less).
    names = "SELECT 0 AS face, 'no' AS verdict, 0e0 AS score, 0e0 AS priority FROM DUAL WHERE 0"
    return f"{names} UNION ALL VALUES ({literal})"


def _verdict_literal(verdict: str, verdicts: Mapping[str, str]) -> str:
    literal = verdicts.get(verdict) if isinstance(verdict, str) else None
    if literal is None:
        raise ValueError(f"not a verdict: {verdict!r}")
    return literal


def _number(value: float | None) -> str:
    """A finite number as SQL, else NULL (the learner stores no NaN)."""
    if value is None:
        return "NULL"
    number = float(value)  # anything but a number raises here
    return repr(number) if math.isfinite(number) else "NULL"
