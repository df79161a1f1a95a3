"""Model instances from hand-written SQL, for the assignment hot path (services/assignment_sql.py).

Building a query with the ORM costs 0.4–1.8 ms of CPU per statement on the 2-core VM (a
lease with its campaign: 1.8 ms), more than the database takes to run it; a statement
written once costs about 0.05 ms. These helpers keep the models the source of truth: column
lists come from `_meta`, values read are converted as the ORM converts them (JSON, and on
SQLite booleans and datetimes), values written are prepared by their fields.
"""

from __future__ import annotations

from functools import cache

from django.db import connection, models


@cache
def _column_converters(model: type[models.Model], name: str, vendor: str) -> tuple:
    column = model._meta.get_field(name).get_col(model._meta.db_table)
    found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    return tuple((converter, column) for converter in found)


@cache
def _converters(model: type[models.Model], vendor: str) -> tuple:
    fields = model._meta.concrete_fields
    found = ((i, _column_converters(model, f.name, vendor)) for i, f in enumerate(fields))
    return tuple((i, converters) for i, converters in found if converters)


def columns(model: type[models.Model], alias: str) -> str:
    """Every concrete column of the model, in field order, over the table alias."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(f.column)}" for f in model._meta.concrete_fields)


def width(model: type[models.Model]) -> int:
    return len(model._meta.concrete_fields)


def load(model: type[models.Model], values) -> models.Model:
    """The instance the ORM would build from this row of `columns(model, …)`."""
    values = list(values)
    for i, converters in _converters(model, connection.vendor):
        for convert, column in converters:
            values[i] = convert(values[i], column, connection)
    return model.from_db(connection.alias, None, values)


def convert(model: type[models.Model], name: str, value):
    """One column's value as the ORM reads it."""
    for converter, column in _column_converters(model, name, connection.vendor):
        value = converter(value, column, connection)
    return value


def prepare(model: type[models.Model], name: str, value):
    """A value as the field writes it (JSON adapted, datetimes made the backend's)."""
    return model._meta.get_field(name).get_db_prep_save(value, connection)


@cache
def _by_pk_sql(model: type[models.Model], vendor: str) -> str:
    table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
    return (
        f"SELECT {columns(model, 't')} FROM {table} t WHERE t.{connection.ops.quote_name(pk)} = %s"
    )


def by_pk(model: type[models.Model], pk) -> models.Model | None:
    """`model.objects.filter(pk=pk).first()` without building the query each time."""
    with connection.cursor() as cursor:
        cursor.execute(_by_pk_sql(model, connection.vendor), [pk])
        row = cursor.fetchone()
    return None if row is None else load(model, row)
