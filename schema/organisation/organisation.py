"""Branches, staff members (``staffMembers``) and the signed-in staff user (``viewer``)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from core.context import Info
from core.identity import Role, Scope
from models.organisation.organisation import Branch as BranchRow
from models.organisation.organisation import StaffUser as StaffUserRow
from resolvers.organisation import staff as service
from resolvers.pagination import PageArgs
from schema.relay import After, Connection, First, Node, to_global_id, uuid_of
from schema.scope_field import scoped_field


@strawberry.type(
    description="A bank branch; agents and supervisors see only their own branch's customers."
)
class Branch(Node):
    code: str = strawberry.field(description="The branch's short unique code.")
    name: str = strawberry.field(description="The branch's display name.")

    @classmethod
    def from_row(cls, row: BranchRow) -> Branch:
        return cls(id=to_global_id("Branch", row.id), code=row.code, name=row.name)


@strawberry.type(
    description="The signed-in staff user, as their token describes them. Its `id` is accepted "
    "wherever a staff member's ID is (e.g. `assignComplaint(assigneeId:)`: take it yourself)."
)
class Viewer(Node):
    username: str | None = strawberry.field(
        description="Your sign-in name, from the token; null when the token names none."
    )
    role: Role = strawberry.field(
        description="Your role: what the field policy shows you depends on it."
    )
    scopes: list[str] = strawberry.field(
        description="The scopes your token grants, sorted (e.g. `customers:read`)."
    )
    branch_id: strawberry.ID | None = strawberry.field(
        description="Your branch (a Branch ID); null when you belong to none."
    )


@strawberry.type(description="A staff member as others see them (no credentials, no branch).")
class StaffMember(Node):
    display_name: str = strawberry.field(description="The name to show for them.")
    role: Role = strawberry.field(description="Their role.")

    @classmethod
    def from_row(cls, row: StaffUserRow) -> StaffMember:
        return cls(
            id=to_global_id("StaffMember", row.id),
            display_name=row.display_name,
            role=Role(row.role),
        )


@strawberry.input(description="Narrows `staffMembers`; every given condition must hold.")
class StaffFilter:
    branch: strawberry.ID | None = strawberry.field(
        default=None, description="Only staff of this branch (a Branch ID)."
    )
    role: Role | None = strawberry.field(default=None, description="Only staff with this role.")

    def to_filter(self) -> service.StaffFilter:
        branch_id = uuid_of(self.branch, "Branch", field="filter.branch") if self.branch else None
        return service.StaffFilter(branch_id=branch_id, role=self.role)


@strawberry.type
class StaffQuery:
    @scoped_field(
        Scope.COMPLAINTS_WRITE,
        "Active staff you may hand complaints to, oldest account first: a supervisor's own "
        "branch, every branch for an admin; other roles are refused (FORBIDDEN).",
    )
    async def staff_members(
        self,
        info: Info,
        first: First = None,
        after: After = None,
        filter: Annotated[
            StaffFilter | None, strawberry.argument(description="Narrows the list.")
        ] = None,
    ) -> Connection[StaffMember] | None:
        page, count = await service.list_staff(
            db=info.context.db,
            principal=info.context.principal,
            settings=info.context.settings,
            filter=filter.to_filter() if filter else service.StaffFilter(),
            page=PageArgs(first=first, after=after),
        )
        return Connection.build(page, StaffMember.from_row, count)
