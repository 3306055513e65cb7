"""Pages from Jinja2 templates: ``render(request, "page.html", **context)``.

Every template gets: ``t("key")`` (the page's language), ``fmt`` (numbers and money as that
language writes them: ``fmt.money``, ``fmt.number``, ``fmt.percent``), ``lang``, ``principal``
(None on the sign-in page), ``csrf_token`` (put ``{{ csrf_field() }}`` in every form that
changes something), ``nav`` (the menu this role sees), ``path`` and ``link(**query)`` (this
page's address with query parameters changed: sortable columns, pickers).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader
from markupsafe import Markup, escape

from app.dashboard.auth import CSRF_FIELD
from app.dashboard.i18n import lang_of, translate
from app.dashboard.navigation import NAVIGATION
from app.dashboard.state import page_state
from app.reports.i18n import Formatter
from app.settings.schemas import EconomicsSettings

_ENVIRONMENT = Environment(
    loader=PackageLoader("app.dashboard", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
_DEFAULT_CURRENCY: str = EconomicsSettings.model_fields["currency"].default


def link(path: str, query: Mapping[str, str], **changes: object) -> str:
    """``path`` with ``query`` changed by ``changes`` (None removes a parameter)."""
    merged = dict(query)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    return f"{path}?{urlencode(merged)}" if merged else path


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    currency: str | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The page ``template`` with ``context``; ``currency`` is that of the money on it."""
    lang = lang_of(request)
    state = page_state(request)
    principal = state.principal
    csrf = state.session.csrf
    html = _ENVIRONMENT.get_template(template).render(
        request=request,
        lang=lang,
        t=partial(translate, lang=lang),
        fmt=Formatter(lang, currency or _DEFAULT_CURRENCY),
        principal=principal,
        csrf_token=csrf,
        csrf_field=lambda: Markup(  # noqa: S704  # the token is escaped
            f'<input type="hidden" name="{CSRF_FIELD}" value="{escape(csrf)}">'
        ),
        nav=[item for item in NAVIGATION if principal is not None and principal.role in item.roles],
        path=request.url.path,
        link=partial(link, request.url.path, request.query_params),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
