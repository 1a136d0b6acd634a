"""Hot reads built once per process: the SQL compiled once, its parameters bound per request.

Django builds and compiles a queryset on every call, and on an answer round that costs several
times the work of sending the SQL and reading its few rows (README, "An answer round"). A
:class:`PreparedRead` compiles its queryset once per database connection (the SQL differs per
backend) and per shape (the length of an ``IN`` list, settings that change the statement), with
made-up inputs, and finds where each input lands among the parameters; a request then puts its
own values at those places and sends the same SQL. ``rows`` returns plain columns (converted as
the ORM converts them); ``objects`` returns model instances, with those of ``select_related``,
built as the ORM builds them (``ModelIterable``), from what the compiler told once.

Safety: a statement is compiled twice, from two different sets of made-up inputs; every
parameter that differs between the two must be a place some input fills, or the read refuses
to be prepared (an input the values function forgot would otherwise be sent as a constant).
Tests compare the SQL and parameters with what the ORM builds for the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet, sql
from django.db.models.deletion import Collector
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler

# An input's values as the database receives them, by name: "project", "skip.3", ...
Values = dict[str, Any]
Inputs = Mapping[str, Any]


@dataclass(frozen=True)
class Statement:
    sql: str
    params: tuple[Any, ...]
    places: tuple[tuple[int, str], ...]  # (position in params, name of the value put there)
    # What the compiler told once: how to convert the columns, how to build instances.
    converters: tuple[tuple[int, tuple[Any, ...], Any], ...] = field(default=(), compare=False)
    instances: _Instances | None = field(default=None, compare=False, repr=False)

    def bind(self, values: Values) -> list[Any]:
        params = list(self.params)
        for position, name in self.places:
            params[position] = values[name]
        return params


class PreparedRead:
    """One read of plain rows, compiled once per (database alias, vendor, shape).

    ``build(**inputs)`` is the ORM queryset (``values_list`` for ``rows``, a model's for
    ``objects``); ``values(connection, **inputs)`` names every input as the database
    receives it (adapted datetimes, each element of a list); ``shape(**inputs)`` tells what
    changes the SQL itself; ``fixed`` names the inputs that are part of the shape only (a
    LIMIT, written into the SQL): they are compiled as given, not made up."""

    def __init__(
        self,
        *,
        build: Callable[..., QuerySet[Any, Any] | sql.Query],
        values: Callable[..., Values],
        shape: Callable[..., Hashable],
        fixed: frozenset[str] = frozenset(),
    ) -> None:
        self._build = build
        self._values = values
        self._shape = shape
        self._fixed = fixed
        self._statements: dict[Hashable, Statement] = {}

    def sql(self, *, using: str, **inputs: Any) -> tuple[str, list[Any]]:
        """The SQL and parameters the ORM would send for these inputs."""
        connection = connections[using]
        statement = self._statement(connection, inputs)
        return statement.sql, statement.bind(self._values(connection, **inputs))

    def rows(self, *, using: str, **inputs: Any) -> list[tuple[Any, ...]]:
        """The rows, each column converted as the ORM converts it (booleans, datetimes)."""
        return [tuple(row) for row in self._fetched(using, inputs)[1]]

    def objects(self, *, using: str, **inputs: Any) -> list[Any]:
        """The model instances the queryset would give (with those of ``select_related``)."""
        statement, rows = self._fetched(using, inputs)
        if statement.instances is None:
            raise ValueError("objects() reads model rows (no values_list, no annotations)")
        return statement.instances.build(rows)

    def _statement(self, connection: BaseDatabaseWrapper, inputs: Inputs) -> Statement:
        key = (connection.alias, connection.vendor, self._shape(**inputs))
        statement = self._statements.get(key)
        if statement is None:
            statement = self._statements[key] = self._prepare(connection, inputs)
        return statement

    def _fetched(self, using: str, inputs: Inputs) -> tuple[Statement, list[list[Any]]]:
        connection = connections[using]
        statement = self._statement(connection, inputs)
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.bind(self._values(connection, **inputs)))
            rows = [list(row) for row in cursor.fetchall()]
        # As SQLCompiler.apply_converters does (booleans and datetimes on MariaDB, say).
        for row in rows:
            for position, converters, expression in statement.converters:
                value = row[position]
                for convert in converters:
                    value = convert(value, expression, connection)
                row[position] = value
        return statement, rows

    def _prepare(self, connection: BaseDatabaseWrapper, inputs: Inputs) -> Statement:
        kept = {name: inputs[name] for name in self._fixed}
        first, second = (self._compile(connection, made_up(inputs, seed) | kept) for seed in (1, 2))
        if first.sql != second.sql or first.places != second.places:
            raise ValueError("the SQL depends on an input that shape() does not name")
        pairs = enumerate(zip(first.params, second.params, strict=True))
        changed = {position for position, (a, b) in pairs if a != b}
        if changed != {position for position, _name in first.places}:
            raise ValueError("a parameter depends on the inputs but values() does not name it")
        return first

    def _compile(self, connection: BaseDatabaseWrapper, inputs: Inputs) -> Statement:
        built = self._build(**inputs)
        query = built.query if isinstance(built, QuerySet) else built
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        names = {value: name for name, value in self._values(connection, **inputs).items()}
        places = tuple((i, names[p]) for i, p in enumerate(params) if _is_key(p) and p in names)
        if {name for _i, name in places} != set(names.values()):
            raise ValueError("an input does not reach the SQL's parameters")
        return Statement(
            sql=sql,
            params=tuple(params),
            places=places,
            converters=_converters(compiler),
            instances=_Instances.of(compiler, connection.alias),
        )


def made_up(inputs: Inputs, seed: int) -> dict[str, Any]:
    """Inputs of the same shape no real row holds: negative ids, datetimes in 1901, strings
    with a space (no key the site makes has one), each one different so its place among the
    parameters is unambiguous."""
    counter = iter(range(1, 1_000_000))
    return {name: _made_up(value, seed, counter) for name, value in inputs.items()}


def _made_up(value: Any, seed: int, counter: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return -(seed * 1_000_000_000 + next(counter))
    if isinstance(value, datetime):
        return datetime(1901, seed, 1, tzinfo=UTC) + timedelta(seconds=next(counter))
    if isinstance(value, str):
        return f"made-up {seed}.{next(counter)}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(_made_up(item, seed, counter) for item in value)
    raise TypeError(f"no made-up value for {type(value).__name__}")


def _is_key(value: Any) -> bool:
    return isinstance(value, int | str | datetime) and not isinstance(value, bool)


def adapt_datetime(connection: BaseDatabaseWrapper, value: datetime) -> Any:
    """A datetime as the ORM sends it to this backend (``DateTimeField.get_db_prep_value``)."""
    return connection.ops.adapt_datetimefield_value(value)


@dataclass(frozen=True)
class _Instances:
    """How ``ModelIterable`` turns a statement's rows into instances, worked out once."""

    model: type[Model]
    using: str
    start: int
    end: int
    names: tuple[str, ...]
    related: tuple[Any, ...]  # Django's RelatedPopulator: nothing in it changes between rows

    @classmethod
    def of(cls, compiler: SQLCompiler, using: str) -> _Instances | None:
        info, select = compiler.klass_info, compiler.select
        if info is None or compiler.annotation_col_map:
            return None  # values_list(): plain rows only
        fields = info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return cls(
            model=info["model"],
            using=using,
            start=start,
            end=end,
            names=tuple(column[0].target.attname for column in select[start:end]),
            related=tuple(get_related_populators(info, select, using)),
        )

    def build(self, rows: list[list[Any]]) -> list[Any]:
        built = []
        for row in rows:
            instance = self.model.from_db(self.using, self.names, row[self.start : self.end])
            for populator in self.related:
                populator.populate(row, instance)
            built.append(instance)
        return built


def _converters(compiler: SQLCompiler) -> tuple[tuple[int, tuple[Any, ...], Any], ...]:
    """What ``SQLCompiler.results_iter`` converts: (column, converters, expression)."""
    if compiler.select is None:
        return ()  # an UPDATE or a DELETE
    columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
    found = compiler.get_converters(columns)
    return tuple((pos, tuple(convs), expression) for pos, (convs, expression) in found.items())


class PreparedWrite(PreparedRead):
    """An UPDATE or a DELETE compiled once, as :class:`PreparedRead`: ``build(**inputs)``
    gives the query :func:`update_query` or :func:`delete_query` makes of a queryset."""

    def run(self, *, using: str, **inputs: Any) -> int:
        """Send it; the rows it changed. As ``QuerySet.update`` and ``delete`` do, an error
        inside a transaction marks it for rollback."""
        connection = connections[using]
        statement = self._statement(connection, inputs)
        params = statement.bind(self._values(connection, **inputs))
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            return int(cursor.rowcount)


def update_query(queryset: QuerySet[Any, Any], **values: Any) -> sql.UpdateQuery:
    """The statement ``queryset.update(**values)`` sends (a queryset with no annotations)."""
    query: sql.UpdateQuery = queryset.query.chain(sql.UpdateQuery)  # type: ignore[assignment]
    query.add_update_values(values)
    return query


def delete_query(queryset: QuerySet[Any, Any]) -> sql.DeleteQuery:
    """The statement ``queryset.delete()`` sends when it can delete at once (Django's fast
    delete: :func:`deletes_at_once`), as ``QuerySet._raw_delete`` builds it."""
    query = queryset.order_by().query.clone()
    query.__class__ = sql.DeleteQuery
    return query  # type: ignore[return-value]


def deletes_at_once(model: type[Model], using: str) -> bool:
    """Whether ``delete()`` on the model's rows is one DELETE: no signal receivers, nothing
    that cascades (``Collector.can_fast_delete``). Asked on every call: a receiver connected
    later sends deletes the ORM's way."""
    return bool(Collector(using=using, origin=None).can_fast_delete(model._base_manager.none()))
