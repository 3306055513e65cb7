"""Settings (admins): economics and callback settings, integrations and their webhook URLs, API
keys.

The forms change what the API's routes change, through the same services and the same pydantic
models (``PUT /api/v1/settings/economics``, ``POST``/``DELETE /api/v1/api-keys``); what a model
refuses comes back on the form, field by field, with a 422.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.repository import api_key_repository
from app.auth.roles import Role
from app.auth.schemas import ApiKeyCreate, ApiKeyPublic
from app.auth.service import api_key_service
from app.config import SettingsDep
from app.dashboard.auth import CSRF_FIELD, AdminPagePrincipal
from app.dashboard.i18n import lang_of
from app.dashboard.rendering import render
from app.dashboard.routing import page_router
from app.db import SessionDep
from app.employees.service import employee_service
from app.errors import ProblemError
from app.integrations.repository import integration_repository
from app.integrations.service import to_public
from app.pagination import MAX_LIMIT
from app.reports.i18n import weekday_name
from app.settings.callbacks import WEEKDAYS
from app.settings.dependencies import EconomicsDep
from app.settings.schemas import EconomicsSettings
from app.settings.service import settings_service

router = page_router()

# Fields of the economics form, by their path in EconomicsSettings (dotted).
ECONOMICS_FIELDS = (
    "currency",
    "telephony_cost_per_minute",
    "labor_cost_per_hour",
    "wrapup_seconds",
    "default_margin_rate",
    "timezone",
    "thresholds.reached_s",
    "thresholds.conversation_s",
    "thresholds.second_call_s",
    "thresholds.second_call_gap_minutes",
    "forecast.reference_days",
    "forecast.min_closed_applications",
    "forecast.prior_win_rate",
    "forecast.prior_margin_per_contract",
)
CALLBACK_FIELDS = (
    "callbacks.sla_minutes",
    "callbacks.window_hours",
    "callbacks.short_abandon_seconds",
    "callbacks.business_hours_clock",
)
# Decimal fields a Russian reader types with a comma ("2,50"): read as the API reads "2.50".
_DECIMAL_FIELDS = frozenset(
    {
        "telephony_cost_per_minute",
        "labor_cost_per_hour",
        "default_margin_rate",
        "forecast.prior_win_rate",
        "forecast.prior_margin_per_contract",
    }
)
_WORKING_DAY = "callbacks.working_hours."


def value_at(settings: Mapping[str, Any], path: str) -> Any:
    """The JSON value of a dotted ``path`` in the settings (``None`` where absent)."""
    value: Any = settings
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _set(target: dict[str, Any], path: str, value: object) -> None:
    *parents, last = path.split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value


def changed_settings(current: EconomicsSettings, form: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The stored settings with the form's fields put in: a blank field is ``null`` (the model
    says whether that is allowed); a working day is its two times, or ``null`` when both are
    blank; a checkbox is its hidden ``false`` overridden by ``true`` when ticked."""
    merged = current.model_dump(mode="json")
    known = set(ECONOMICS_FIELDS) | set(CALLBACK_FIELDS)
    days: dict[str, list[str]] = {}
    for name, raw in form:
        text = raw.strip()
        if name in known:
            if name in _DECIMAL_FIELDS:
                text = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
            _set(merged, name, text or None)
        elif name.startswith(_WORKING_DAY):
            day, _, bound = name.removeprefix(_WORKING_DAY).partition(".")
            if day in WEEKDAYS and bound in ("start", "end"):
                days.setdefault(day, ["", ""])[bound == "end"] = text
    for day, (start, end) in days.items():
        _set(merged, _WORKING_DAY + day, [start, end] if start or end else None)
    return merged


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """The model's complaints by form field (its dotted path), the first one of each."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        # A working day's two times are one field on the form.
        if where.startswith(_WORKING_DAY):
            where = _WORKING_DAY + where.removeprefix(_WORKING_DAY).split(".")[0]
        errors.setdefault(where or "form", error["msg"])
    return errors


async def _page(
    request: Request,
    session: AsyncSession,
    economics: EconomicsSettings,
    *,
    status_code: int = 200,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    created_key: str | None = None,
    key_error: str | None = None,
) -> Response:
    integrations = await integration_repository.list_live(session, limit=MAX_LIMIT, after=None)
    keys = await api_key_repository.list(session, limit=MAX_LIMIT, after_id=None)
    employees = await employee_service.list(session, limit=MAX_LIMIT, after_id=None, active=None)
    return render(
        request,
        "settings.html",
        status_code=status_code,
        currency=economics.currency,
        values=values if values is not None else economics.model_dump(mode="json"),
        value_at=value_at,
        errors=errors or {},
        economics_fields=ECONOMICS_FIELDS,
        weekdays=WEEKDAYS,
        integrations=[to_public(row) for row in integrations],
        keys=[ApiKeyPublic.model_validate(row) for row in keys],
        employees={e.id: e.name for e in employees},
        roles=list(Role),
        created_key=created_key,
        key_error=key_error,
        saved=request.query_params.get("saved"),
        weekday=partial(weekday_name, lang=lang_of(request)),
    )


@router.get("/settings")
async def settings_page(
    request: Request, _admin: AdminPagePrincipal, session: SessionDep, economics: EconomicsDep
) -> Response:
    return await _page(request, session, economics)


@router.post("/settings/economics")
async def save_economics(
    request: Request,
    _admin: AdminPagePrincipal,
    session: SessionDep,
    config: SettingsDep,
    economics: EconomicsDep,
) -> Response:
    """Both settings forms (economics, callbacks) post here: each sends its own fields."""
    form = [(name, value) for name, value in (await request.form()).multi_items()]
    values = changed_settings(economics, [(n, v) for n, v in form if isinstance(v, str)])
    try:
        chosen = EconomicsSettings.model_validate(values)
    except ValidationError as exc:
        return await _page(
            request, session, economics, status_code=422, values=values, errors=_field_errors(exc)
        )
    await settings_service.put_economics(session, chosen, default_timezone=config.timezone)
    return RedirectResponse("/settings?saved=economics", status_code=303)


@router.post("/settings/api-keys")
async def create_api_key(
    request: Request, _admin: AdminPagePrincipal, session: SessionDep, economics: EconomicsDep
) -> Response:
    """A new key, shown on the answer once (only its hash is kept)."""
    form = await request.form()
    fields = {
        name: value.strip() or None
        for name, value in form.items()
        if name != CSRF_FIELD and isinstance(value, str)
    }
    try:
        body = ApiKeyCreate.model_validate(fields)
        _, key = await api_key_service.create(
            session, name=body.name, role=body.role, employee_id=body.employee_id
        )
    except ValidationError as exc:
        message = "; ".join(f"{where}: {msg}" for where, msg in _field_errors(exc).items())
        return await _page(request, session, economics, status_code=422, key_error=message)
    except ProblemError as exc:
        return await _page(
            request, session, economics, status_code=exc.status, key_error=exc.detail
        )
    return await _page(request, session, economics, created_key=key)


@router.post("/settings/api-keys/{key_id}/revoke")
async def revoke_api_key(key_id: str, _admin: AdminPagePrincipal, session: SessionDep) -> Response:
    await api_key_service.revoke(session, key_id)
    return RedirectResponse("/settings?saved=keys#keys", status_code=303)
