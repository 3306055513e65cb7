"""Importing a cold base from a spreadsheet export, in chunks, without holding the file in memory.

Parsing (``csv_import``) is pure and runs in a worker thread a chunk at a time; each chunk is then
written in its own short transaction, so a 100,000-row import never holds SQLite's write lock for
long (webhooks keep flowing) and never keeps more than one chunk of rows in memory. A row whose
phone is known updates that lead; a row that cannot be imported is reported and skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, utcnow
from app.dialect import upsert_insert
from app.employees.models import Employee
from app.ids import new_id
from app.leads.csv_import import TEXT_FIELDS, ParsedRow, RowError, open_csv, parse_rows
from app.leads.models import Lead, LeadPhone, LeadStatus, lead_search_text
from app.leads.repository import lead_repository
from app.leads.schemas import ImportResult

CHUNK_ROWS = 1000
# A file of nothing but bad rows must not make an answer of a million errors.
MAX_REPORTED_ERRORS = 1000


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    unknown_owners: dict[str, int] = field(default_factory=dict)

    def skip(self, row: int, msg: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "msg": msg})


class LeadImporter:
    async def import_csv(
        self,
        database: Database,
        stream: BinaryIO,
        *,
        default_region: str,
        progress: Callable[[int], None] | None = None,
    ) -> ImportResult:
        """Import ``stream``; ``progress`` is told the bytes read so far after each chunk.

        Raises ``csv_import.CsvImportError`` when the file as a whole cannot be read.
        """
        reader = await asyncio.to_thread(open_csv, stream)
        rows = parse_rows(reader, default_region)
        owners = await self._owner_index(database)
        tally = _Tally()
        while chunk := await asyncio.to_thread(_next_chunk, rows):
            async with database.unit_of_work() as session:
                await self._write_chunk(session, chunk, owners, tally)
            if progress is not None:
                progress(reader.bytes_read)
        warnings = reader.columns.warnings + [
            f"{count} row(s) name an owner {name!r} who is no employee; imported without owner"
            for name, count in sorted(tally.unknown_owners.items())
        ]
        if tally.skipped > len(tally.errors):
            warnings.append(f"only the first {MAX_REPORTED_ERRORS} errors are listed")
        return ImportResult(
            created=tally.created,
            updated=tally.updated,
            skipped=tally.skipped,
            errors=tally.errors,
            warnings=warnings,
        )

    async def _owner_index(self, database: Database) -> dict[str, str]:
        """Employee name or email, case-folded → id (``ответственный`` may be either)."""
        async with database.unit_of_work(read_only=True) as session:
            employees = (await session.execute(select(Employee))).scalars().all()
        index: dict[str, str] = {}
        for employee in employees:
            for key in (employee.name, employee.email):
                if key:
                    index.setdefault(key.strip().casefold(), employee.id)
        return index

    async def _write_chunk(
        self,
        session: AsyncSession,
        chunk: Sequence[ParsedRow | RowError],
        owners: dict[str, str],
        tally: _Tally,
    ) -> None:
        phones = [phone for row in chunk if isinstance(row, ParsedRow) for phone in row.phones]
        lead_of_phone = await lead_repository.leads_of_phones(session, phones)
        existing = await self._leads(session, set(lead_of_phone.values()))
        new_leads: dict[str, dict[str, Any]] = {}
        new_phones: list[dict[str, str]] = []
        for row in chunk:
            if isinstance(row, RowError):
                tally.skip(row.row, row.msg)
                continue
            lead_ids = sorted({lead_of_phone[p] for p in row.phones if p in lead_of_phone})
            if len(lead_ids) > 1:
                tally.skip(row.row, f"its phones belong to different leads: {', '.join(lead_ids)}")
                continue
            values = self._values(row, owners, tally)
            if lead_ids:
                lead_id = lead_ids[0]
                target = existing.get(lead_id)
                if target is not None:
                    _update_lead(target, values)
                else:  # a lead created earlier in this chunk
                    new_leads[lead_id].update({k: v for k, v in values.items() if v is not None})
                tally.updated += 1
            else:
                lead_id = new_id("lead")
                new_leads[lead_id] = {"id": lead_id, **values}
                tally.created += 1
            for phone in row.phones:
                if phone not in lead_of_phone:
                    lead_of_phone[phone] = lead_id
                    new_phones.append({"lead_id": lead_id, "phone_e164": phone})
        await self._insert(session, list(new_leads.values()), new_phones)

    def _values(self, row: ParsedRow, owners: dict[str, str], tally: _Tally) -> dict[str, Any]:
        # TEXT_FIELDS are the lead fields a row carries as text (notes included, owner resolved).
        values: dict[str, Any] = {
            name: getattr(row, name) for name in TEXT_FIELDS if name != "owner"
        }
        values["owner_id"] = None
        if row.owner:
            owner_id = owners.get(row.owner.strip().casefold())
            if owner_id is None:
                tally.unknown_owners[row.owner] = tally.unknown_owners.get(row.owner, 0) + 1
            values["owner_id"] = owner_id
        return values

    async def _leads(self, session: AsyncSession, ids: set[str]) -> dict[str, Lead]:
        if not ids:
            return {}
        leads = (await session.execute(select(Lead).where(Lead.id.in_(ids)))).scalars().all()
        return {lead.id: lead for lead in leads}

    async def _insert(
        self,
        session: AsyncSession,
        leads: Sequence[dict[str, Any]],
        phones: Sequence[dict[str, str]],
    ) -> None:
        now = utcnow()
        if leads:
            await session.execute(
                insert(Lead),
                [
                    {
                        **lead,
                        "source": lead.get("source") or "cold_base",
                        "status": LeadStatus.ACTIVE,
                        "search_text": lead_search_text(lead["company"], lead["contact_name"]),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for lead in leads
                ],
            )
        if phones:
            # A webhook may give one of these numbers to a new lead meanwhile; that lead keeps it
            # rather than the whole chunk failing on the unique phone.
            await session.execute(
                upsert_insert(session, LeadPhone).on_conflict_do_nothing(
                    index_elements=["phone_e164"]
                ),
                list(phones),
            )
        await session.flush()


def _update_lead(lead: Lead, values: dict[str, Any]) -> None:
    """What the row says wins; what it leaves empty keeps the lead's value."""
    for name, value in values.items():
        if value is not None:
            setattr(lead, name, value)
    lead.search_text = lead_search_text(lead.company, lead.contact_name)
    lead.updated_at = utcnow()


def _next_chunk(rows: Iterator[ParsedRow | RowError]) -> list[ParsedRow | RowError]:
    return list(islice(rows, CHUNK_ROWS))


lead_importer = LeadImporter()
