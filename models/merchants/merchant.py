"""Partner merchants and the OAuth clients (merchants and service accounts) that call us."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.columns import code_field, created_at_field, id_field, timestamp_field


class Merchant(SQLModel, table=True):
    __tablename__ = "merchants"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=200)
    category: str = code_field(32, default="other")
    # A disabled merchant's clients are revoked and it gets no new ones (resolvers/admin).
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": "true"})
    version: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = created_at_field()


class OAuthClient(SQLModel, table=True):
    """A confidential OAuth 2.0 client; the secret is kept only as an argon2id hash."""

    __tablename__ = "oauth_clients"

    id: uuid.UUID = id_field()
    client_id: str = Field(max_length=64, unique=True)
    client_secret_hash: str = Field(max_length=255)
    name: str = Field(max_length=200)
    kind: str = code_field(16, default="merchant")
    merchant_id: uuid.UUID | None = Field(default=None, foreign_key="merchants.id", index=True)
    allowed_scopes: str = Field(max_length=500)
    revoked_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class RevokedToken(SQLModel, table=True):
    """An access token revoked through RFC 7009 before its expiry; kept until it expires."""

    __tablename__ = "revoked_tokens"

    jti: str = Field(max_length=64, primary_key=True)
    client_id: str = Field(max_length=64, index=True)
    expires_at: datetime = timestamp_field(nullable=False, index=True)
    revoked_at: datetime = created_at_field()
