"""Hot reads built once per process: the SQL compiled once, its parameters bound per request.

Django builds and compiles a queryset on every call, and on an answer round that costs several
times the work of sending the SQL and reading its few rows (README, "An answer round"). A
:class:`PreparedRead` compiles its queryset once per database connection (the SQL differs per
backend) and per shape (the length of an ``IN`` list, settings that change the statement), with
made-up inputs, and finds where each input lands among the parameters; a request then puts its
own values at those places and sends the same SQL. Only for reads that return plain columns.

Safety: a statement is compiled twice, from two different sets of made-up inputs; every
parameter that differs between the two must be a place some input fills, or the read refuses
to be prepared (an input the values function forgot would otherwise be sent as a constant).
Tests compare the SQL and parameters with what the ORM builds for the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet

# An input's values as the database receives them, by name: "project", "skip.3", ...
Values = dict[str, Any]
Inputs = Mapping[str, Any]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    places: tuple[tuple[int, str], ...]  # (position in params, name of the value put there)

    def bind(self, values: Values) -> list[Any]:
        params = list(self.params)
        for position, name in self.places:
            params[position] = values[name]
        return params


class PreparedRead:
    """One read of plain rows, compiled once per (database alias, vendor, shape).

    ``build(**inputs)`` is the ORM queryset (``values_list``); ``values(connection,
    **inputs)`` names every input as the database receives it (adapted datetimes, each
    element of a list); ``shape(**inputs)`` tells what changes the SQL itself."""

    def __init__(
        self,
        *,
        build: Callable[..., QuerySet[Any, Any]],
        values: Callable[..., Values],
        shape: Callable[..., Hashable],
    ) -> None:
        self._build = build
        self._values = values
        self._shape = shape
        self._statements: dict[Hashable, Statement] = {}

    def sql(self, *, using: str, **inputs: Any) -> tuple[str, list[Any]]:
        """The SQL and parameters the ORM would send for these inputs."""
        connection = connections[using]
        key = (using, connection.vendor, self._shape(**inputs))
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = self._prepare(connection, inputs)
        return statement.sql, statement.bind(self._values(connection, **inputs))

    def rows(self, *, using: str, **inputs: Any) -> list[tuple[Any, ...]]:
        sql, params = self.sql(using=using, **inputs)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())

    def _prepare(self, connection: BaseDatabaseWrapper, inputs: Inputs) -> Statement:
        first, second = (self._compile(connection, made_up(inputs, seed)) for seed in (1, 2))
        if first.sql != second.sql or first.places != second.places:
            raise ValueError("the SQL depends on an input that shape() does not name")
        pairs = enumerate(zip(first.params, second.params, strict=True))
        changed = {position for position, (a, b) in pairs if a != b}
        if changed != {position for position, _name in first.places}:
            raise ValueError("a parameter depends on the inputs but values() does not name it")
        return first

    def _compile(self, connection: BaseDatabaseWrapper, inputs: Inputs) -> Statement:
        queryset = self._build(**inputs)
        sql, params = queryset.query.get_compiler(connection=connection).as_sql()
        names = {value: name for name, value in self._values(connection, **inputs).items()}
        places = tuple((i, names[p]) for i, p in enumerate(params) if _is_key(p) and p in names)
        if {name for _i, name in places} != set(names.values()):
            raise ValueError("an input does not reach the SQL's parameters")
        return Statement(sql=sql, params=tuple(params), places=places)


def made_up(inputs: Inputs, seed: int) -> dict[str, Any]:
    """Inputs of the same shape no real row holds: negative ids, datetimes in 1901, each
    one different so its place among the parameters is unambiguous."""
    counter = iter(range(1, 1_000_000))
    return {name: _made_up(value, seed, counter) for name, value in inputs.items()}


def _made_up(value: Any, seed: int, counter: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return -(seed * 1_000_000_000 + next(counter))
    if isinstance(value, datetime):
        return datetime(1901, seed, 1, tzinfo=UTC) + timedelta(seconds=next(counter))
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_made_up(item, seed, counter) for item in value)
    raise TypeError(f"no made-up value for {type(value).__name__}")


def _is_key(value: Any) -> bool:
    return isinstance(value, int | str | datetime) and not isinstance(value, bool)


def adapt_datetime(connection: BaseDatabaseWrapper, value: datetime) -> Any:
    """A datetime as the ORM sends it to this backend (``DateTimeField.get_db_prep_value``)."""
    return connection.ops.adapt_datetimefield_value(value)
