"""Branches and staff users: who works where, and what they may sign in as."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class Branch(SQLModel, table=True):
    __tablename__ = "branches"

    id: uuid.UUID = id_field()
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=100)
    # Bumped by every administrative change (resolvers/admin): a stale one is a CONFLICT.
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = created_at_field()


class StaffUser(SQLModel, table=True):
    """A console user. One role and (below admin/auditor/marketer/risk) one branch."""

    __tablename__ = "staff_users"

    id: uuid.UUID = id_field()
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    role: str = code_field(default="agent")
    branch_id: uuid.UUID | None = Field(default=None, foreign_key="branches.id", index=True)
    is_active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = timestamp_field()
    # A one-time password (``cardcrm init``, an admin's create or reset) must be replaced at
    # the next sign-in before any token is issued (auth/login.py, migration 0016_admin).
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    password_changed_at: datetime | None = timestamp_field()
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class RefreshToken(SQLModel, table=True):
    """One link of a rotating refresh-token family; only a hash of the token is kept.

    Using a token marks it used and issues its successor in the same family. Presenting a
    used (or revoked) token again means it was stolen, so the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: uuid.UUID = id_field()
    family_id: uuid.UUID = Field(index=True)
    user_id: uuid.UUID = Field(foreign_key="staff_users.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp_field(nullable=False)
    used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
