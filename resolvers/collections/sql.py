"""SQL the collections batches need on both databases: a new row id made by the database,
so an ``INSERT … SELECT`` writes any number of rows in one statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Uuid
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class new_uuid(FunctionElement[Any]):
    """A random id per row: PostgreSQL's ``gen_random_uuid()``; on SQLite 16 random bytes
    as the 32 hex digits SQLAlchemy keeps a UUID as there."""

    type = Uuid()
    inherit_cache = True
    name = "new_uuid"


@compiles(new_uuid)
def _new_uuid_postgresql(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "gen_random_uuid()"


@compiles(new_uuid, "sqlite")
def _new_uuid_sqlite(element: new_uuid, compiler: SQLCompiler, **kw: Any) -> str:
    return "lower(hex(randomblob(16)))"
