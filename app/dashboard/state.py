"""What one page request knows about its visitor: the session read from the cookie, the principal
once authenticated, and whether the cookie must be (re)issued with the answer."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from app.auth.service import Principal
from app.dashboard.sessions import REISSUE_AFTER, DashboardSession, ReadSession


@dataclass
class PageState:
    session: DashboardSession
    reissue: bool
    principal: Principal | None = None

    @classmethod
    def from_cookie(cls, read: ReadSession | None) -> PageState:
        if read is None:
            return cls(DashboardSession.anonymous(), reissue=True)
        return cls(read.session, reissue=read.age >= REISSUE_AFTER)

    def replace(self, session: DashboardSession) -> None:
        """Sign in or out: the answer carries the new session's cookie."""
        self.session, self.reissue, self.principal = session, True, None


def page_state(request: Request) -> PageState:
    state: PageState = request.state.dashboard
    return state
