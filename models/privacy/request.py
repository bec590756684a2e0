"""A customer's privacy request: an export of their data, or their erasure.

An export is produced by a job and downloaded once through a short-lived link: only the
SHA-256 of the link's token is stored (``token_hash``), and the document itself is sealed
under the customer's own key (``document_enc``), so an erasure also shreds an export never
downloaded. An erasure waits for a supervisor's approval; the legal holds found when it was
checked are kept with the decision.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import LargeBinary
from sqlmodel import Field, SQLModel

from models.columns import (
    code_field,
    created_at_field,
    encrypted_field,
    id_field,
    json_list_field,
    timestamp_field,
)


class PrivacyRequestKind(StrEnum):
    EXPORT = "export"
    ERASURE = "erasure"


class PrivacyRequestStatus(StrEnum):
    PENDING = "pending"  # an export waiting for the job; an erasure waiting for approval
    READY = "ready"  # an export produced, its link not used yet
    DOWNLOADED = "downloaded"  # an export's link used (once)
    EXPIRED = "expired"  # an export's link ran out before use; the document is dropped
    REJECTED = "rejected"  # an erasure refused, with the legal holds that applied
    DONE = "done"  # an erasure carried out


class PrivacyRequest(SQLModel, table=True):
    __tablename__ = "privacy_requests"

    id: uuid.UUID = id_field()
    customer_id: uuid.UUID = Field(foreign_key="customers.id", index=True)
    kind: str = code_field(16)
    status: str = code_field(16, default=PrivacyRequestStatus.PENDING, index=True)
    requested_at: datetime = created_at_field()
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = timestamp_field()
    # The legal holds found at the decision (open balance, open dispute, retention period).
    legal_holds: list[str] = json_list_field()
    document_enc: bytes | None = encrypted_field()
    token_hash: bytes | None = Field(default=None, sa_type=LargeBinary, unique=True)
    expires_at: datetime | None = timestamp_field()
    completed_at: datetime | None = timestamp_field()
    version: int = 1
