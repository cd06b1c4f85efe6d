"""Two pieces of the ORM without its per-call machinery, for the delivery's hot path.

Django builds and compiles a query's SQL on every call; for a statement run a hundred times a second
by one delivery process that was most of its time (docs/decisions.md). These helpers keep the ORM's
own column names, value preparation and converters, so a model change needs no edit here.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models

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


_inserts: dict[tuple[type[models.Model], str], tuple[str, list[models.Field]]] = {}


def insert_row(instance: models.Model, using: str = "default") -> None:
    """INSERT one new row and set its primary key: Model.save() without signals or its checks.

    For models with an auto primary key, no signal receivers and no save() override (Message).
    """
    model, connection = type(instance), connections[using]
    key = (model, connection.vendor)
    if key not in _inserts:
        qn = connection.ops.quote_name
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        columns = ", ".join(qn(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = (f"INSERT INTO {qn(model._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608 - names only
               f" RETURNING {qn(model._meta.pk.column)}")
        _inserts[key] = (sql, fields)
    sql, fields = _inserts[key]
    params = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, using
