from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    HEAD = "head"
    MANAGER = "manager"
