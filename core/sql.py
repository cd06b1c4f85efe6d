"""Pieces of the ORM without its per-call machinery, for the delivery's hot path: a model from a raw
row, an INSERT, and an INSERT that happens only when a guarding UPDATE does.

Django builds and compiles a query's SQL on every call; for a statement run a hundred times a second
by one delivery process that was most of its time (docs/decisions.md). These helpers keep the ORM's
own column names, value preparation and converters, so a model change needs no edit here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

_converters: dict[tuple[tuple[models.Field, ...], str], list[tuple[Any, list[Any]]]] = {}


def from_row(model: type[models.Model], fields: list[models.Field], values: tuple | list, using: str) -> Any:
    """A model instance from raw column values, converted as the ORM would (UUIDs, JSON, dates)."""
    connection = connections[using]
    key = (tuple(fields), connection.vendor)
    if key not in _converters:  # looked up once per field list: this runs for every delivery
        columns = [field.get_col(field.model._meta.db_table) for field in fields]
        _converters[key] = [(column, connection.ops.get_db_converters(column) + column.get_db_converters(connection))
                            for column in columns]
    converted = []
    for (column, converts), value in zip(_converters[key], values, strict=True):
        for convert in converts:
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in fields], converted)


_inserts: dict[tuple[type[models.Model], str], tuple[str, str, list[models.Field]]] = {}


def _insert_sql(model: type[models.Model], connection: Any) -> tuple[str, str, list[models.Field]]:
    """The model's INSERT ... VALUES, the same as INSERT ... SELECT from a `guard` (for insert_row_if),
    and the fields of their parameters: built once per model and database vendor."""
    key = (model, connection.vendor)
    if key not in _inserts:
        qn = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        head = f"INSERT INTO {qn(model._meta.db_table)} ({', '.join(qn(f.column) for f in fields)})"
        marks, returning = ", ".join(["%s"] * len(fields)), f" RETURNING {qn(model._meta.pk.column)}"
        # Only the model's own names go into the text; every value is a parameter.
        _inserts[key] = (f"{head} VALUES ({marks}){returning}",
                         f"{head} SELECT {marks} FROM guard{returning}", fields)  # noqa: S608
    return _inserts[key]


def _finish(instance: models.Model, pk: Any, using: str) -> None:
    instance.pk = pk
    instance._state.adding, instance._state.db = False, using


def insert_row(instance: models.Model, using: str = "default") -> None:
    """INSERT one new row and set its primary key: Model.save() without signals or its checks.

    For models with an auto primary key, no signal receivers and no save() override (Message).
    """
    connection = connections[using]
    sql, _, fields = _insert_sql(type(instance), connection)
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        _finish(instance, cursor.fetchone()[0], using)


_guarded: dict[tuple[str, str], str] = {}


def insert_row_if(instance: models.Model, guard: str, guard_params: list[Any], using: str = "default") -> bool:
    """Run `guard` (an UPDATE) and, only if it changed a row, INSERT `instance` as insert_row does,
    atomically; True if it did.

    On PostgreSQL one statement, `WITH guard AS (<UPDATE> RETURNING 1) INSERT ... SELECT ... FROM guard`:
    one round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT), and the UPDATE's row lock is held
    until the insert is in, as in a transaction. Elsewhere (SQLite) the two run in a transaction.
    """
    connection = connections[using]
    insert, insert_after_guard, fields = _insert_sql(type(instance), connection)
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    if connection.vendor == "postgresql":
        key = (guard, insert_after_guard)
        if key not in _guarded:  # the same few texts for the process's whole life
            _guarded[key] = f"WITH guard AS ({guard} RETURNING 1) {insert_after_guard}"
        with connection.cursor() as cursor:
            cursor.execute(_guarded[key], [*guard_params, *params])
            row = cursor.fetchone()
        if row is not None:
            _finish(instance, row[0], using)
        return row is not None
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(guard, guard_params)
        if cursor.rowcount != 1:
            return False
        cursor.execute(insert, params)
        _finish(instance, cursor.fetchone()[0], using)
    return True


@contextmanager
def snapshot(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Several reads that see the database as of one moment: a REPEATABLE READ transaction on PostgreSQL
    (its snapshot is taken by the first read), a deferred transaction on SQLite (whose readers see the
    database as of their first read). Inside a transaction already, that transaction's isolation decides."""
    connection = connections[using]
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "sqlite":
        # A deferred transaction, so a reader does not take the write lock that this project's SQLite
        # transactions take at BEGIN (transaction_mode IMMEDIATE) and hold the worker's writes back.
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("COMMIT")
        return
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield
