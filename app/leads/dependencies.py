from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.auth.dependencies import require_role
from app.auth.roles import Role
from app.auth.service import Principal

# Everyone who may work leads: admins, heads, and managers (within their own leads).
LeadWorker = Annotated[Principal, Depends(require_role(Role.ADMIN, Role.HEAD, Role.MANAGER))]
