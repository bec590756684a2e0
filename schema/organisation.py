"""Branches and the signed-in staff user (``viewer``)."""

from __future__ import annotations

import strawberry

from auth.scopes import Role
from models.organisation import Branch as BranchRow
from models.organisation import StaffUser as StaffUserRow
from schema.relay import Node, to_global_id


@strawberry.type(description="A bank branch; staff below admin see only their branch's customers.")
class Branch(Node):
    code: str
    name: str

    @classmethod
    def from_row(cls, row: BranchRow) -> Branch:
        return cls(id=to_global_id("Branch", row.id), code=row.code, name=row.name)


@strawberry.type(description="The signed-in staff user, as their token describes them.")
class Viewer:
    id: strawberry.ID
    username: str | None
    role: Role
    scopes: list[str]
    branch_id: strawberry.ID | None


@strawberry.type(description="A staff member as others see them (no credentials, no branch).")
class StaffMember(Node):
    display_name: str
    role: Role

    @classmethod
    def from_row(cls, row: StaffUserRow) -> StaffMember:
        return cls(
            id=to_global_id("StaffUser", row.id), display_name=row.display_name, role=Role(row.role)
        )
