"""What an API key may read: the one home of the rule "a manager sees its own".

Admins and heads read everything; a manager key reads what belongs to the employee it acts as.
Every repository turns a ``Scope`` into its own readable clause or statement (``readable_*``), and
every list and get of the API starts from it, so the lead list, a lead's page, the call list and
the funnel cannot drift apart. What "belongs to" means per table is the repository's (a call is its
employee's; a lead its owner's, else its first dialler's); *who* reads what is decided here.

To change what a manager reads of one table (say, the owner of a lead also reads every call of
that lead), edit that repository's readable clause; routes and services do not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false
from sqlalchemy.orm import QueryableAttribute

from app.auth.roles import Role
from app.errors import Forbidden

# Whom a row belongs to: an employee id column, or an expression computing one.
_Owner = ColumnElement[str | None] | QueryableAttribute[str | None]


@dataclass(frozen=True, slots=True)
class Scope:
    """The rows one key may read: all of them, or those that belong to one employee."""

    reads_all: bool
    employee_id: str | None = None
    """The employee a narrowed scope reads the rows of (None with ``reads_all`` False: none)."""
    reads_integration_ids: bool = False
    """Whether answers may carry integration ids: they are the secret part of the
    unauthenticated webhook URLs, so only admins (who manage integrations) see them."""

    @classmethod
    def of(cls, role: Role, employee_id: str | None) -> Scope:
        if role is Role.MANAGER:
            # The key service refuses a manager key without an employee; a row edited by hand
            # that lacks one reads nothing rather than everything.
            return cls(reads_all=False, employee_id=employee_id)
        if role is Role.ADMIN:
            return ADMINISTRATION
        return EVERYTHING

    @property
    def reads_costs(self) -> bool:
        """Whether the key may read what an employee's hour costs (a colleague's pay is private)."""
        return self.reads_all

    def admits(self, belongs_to: str | None) -> bool:
        """Whether a row that belongs to the employee ``belongs_to`` (None: nobody) is readable."""
        return self.reads_all or (self.employee_id is not None and belongs_to == self.employee_id)

    def clause(self, belongs_to: _Owner) -> ColumnElement[bool] | None:
        """``admits`` in SQL, over the column or expression saying whom a row belongs to;
        ``None`` when every row is readable (no WHERE at all rather than ``WHERE true``)."""
        if self.reads_all:
            return None
        if self.employee_id is None:
            return false()
        return belongs_to == self.employee_id

    def requested_employee(self, requested: str | None) -> str | None:
        """The ``employee_id`` filter a request may add on top of the scope: a manager's own
        scope already narrows to itself, so what it asks for is ignored."""
        return requested if self.reads_all else None

    def owner_of_new(self, requested: str | None) -> str | None:
        """Who owns a lead this key creates or reassigns, when it asks for ``requested``;
        a narrowed key may not hand a lead to someone else (403)."""
        if self.reads_all:
            return requested
        if requested not in (None, self.employee_id):
            raise Forbidden("a manager key may only own leads itself")
        return self.employee_id


EVERYTHING = Scope(reads_all=True)
"""Heads and the operator's CLI."""
ADMINISTRATION = Scope(reads_all=True, reads_integration_ids=True)
"""Admins: everything, integration ids included."""
