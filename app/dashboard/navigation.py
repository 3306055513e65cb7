"""The dashboard's pages in the order of its menu."""

from __future__ import annotations

from dataclasses import dataclass

from app.auth.roles import Role


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    word: str  # the catalog key of its name
    roles: frozenset[Role] = frozenset(Role)

    def is_current(self, path: str) -> bool:
        return path == self.path or (self.path != "/" and path.startswith(self.path + "/"))


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("/", "nav_overview"),
    NavItem("/managers", "nav_managers"),
    NavItem("/calls", "nav_calls"),
    NavItem("/callbacks", "nav_callbacks"),
    NavItem("/quality", "nav_quality"),
    NavItem("/leads", "nav_leads"),
    NavItem("/reports", "nav_reports", frozenset({Role.ADMIN, Role.HEAD})),
    NavItem("/settings", "nav_settings", frozenset({Role.ADMIN})),
)
