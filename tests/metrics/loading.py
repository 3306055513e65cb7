"""Writing normalised datasets (the worked example, generated ones) straight into the tables."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from app.calls.models import Call
from app.db import Database
from app.employees.models import Employee, EmployeeExtension
from app.leads.models import Application, Contract, Lead, LeadPhone
from app.metrics.evidence import rebuild_evidence
from app.settings.repository import setting_repository
from app.settings.service import ECONOMICS
from tests.factories import insert_integration
from tests.metrics.reference import minor, parse_time

INTEGRATION = "intg_dataset_loader_0000000000000"


async def load_dataset(database: Database, data: Mapping[str, Any]) -> None:
    """Employees, leads, calls, applications, contracts and settings, ids kept as given."""
    await insert_integration(
        database, integration_id=INTEGRATION, config={"secret": "x"}, name="dataset"
    )
    async with database.sessions.begin() as session:
        for employee in data["employees"]:
            session.add(
                Employee(
                    id=employee["id"],
                    name=employee["name"],
                    hourly_cost=minor(employee.get("hourly_cost")),
                    extensions=[EmployeeExtension(extension=e) for e in employee["extensions"]],
                )
            )
        for lead in data["leads"]:
            session.add(
                Lead(
                    id=lead["id"],
                    company=lead.get("company"),
                    campaign=lead.get("campaign"),
                    owner_id=lead.get("owner_id"),
                    phones=[LeadPhone(phone_e164=p) for p in lead["phones"]],
                )
            )
        await session.flush()
        session.add_all(_calls(data["calls"]))
        await session.flush()
        for application in data["applications"]:
            session.add(
                Application(
                    id=application["id"],
                    lead_id=application["lead_id"],
                    source_call_id=application.get("source_call_id"),
                    created_at=parse_time(application["created_at"]),
                    status=application["status"],
                    lost_reason=application.get("lost_reason"),
                    closed_at=_time(application.get("closed_at")),
                )
            )
        await session.flush()
        for contract in data["contracts"]:
            session.add(
                Contract(
                    id=contract["id"],
                    application_id=contract["application_id"],
                    signed_at=parse_time(contract["signed_at"]),
                    amount=minor(contract["amount"]),
                    margin=minor(contract.get("margin")),
                )
            )
        await setting_repository.put(session, ECONOMICS, dict(data["settings"]))
        # Written straight into the tables, past every write path that keeps the evidence.
        await rebuild_evidence(session)


def _time(value: str | None) -> Any:
    return None if value is None else parse_time(value)


def _calls(raw: Iterable[Mapping[str, Any]]) -> Sequence[Call]:
    return [
        Call(
            id=call["id"],
            integration_id=INTEGRATION,
            provider_call_id=call["id"],
            direction=call["direction"],
            status="answered" if call["answered"] else "no_answer",
            employee_id=call["employee_id"],
            lead_id=call["lead_id"],
            started_at=parse_time(call["started_at"]),
            answered_at=_time(call.get("answered_at")),
            ended_at=_time(call.get("ended_at")),
            talk_seconds=call["talk_seconds"],
            duration_seconds=call["duration_seconds"],
            outcome=call.get("outcome"),
            script_id=call.get("script_id"),
            merge_state={},
        )
        for call in raw
    ]
