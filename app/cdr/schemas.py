from __future__ import annotations

from pydantic import BaseModel, Field

from app.cdr.service import CdrReport


class SkippedRowPublic(BaseModel):
    line: int = Field(description="The row's line in the file (1-based; a header is line 1).")
    reason: str


class CdrImportResult(BaseModel):
    rows_read: int = Field(description="Data rows read (a header row is not one).")
    stored: int = Field(description="Rows stored now; each becomes part of a call or is technical.")
    duplicates: int = Field(
        description="Rows already stored (this file before, a sync): no change."
    )
    skipped: int = Field(description="Rows that are not legs (no start, a zero date, bad numbers).")
    technical: int = Field(description="Stored rows of technical legs (Local, Snoop…): kept raw.")
    failed: int = Field(description="Stored rows whose merge failed: kept as failed, replayable.")
    calls_created: int
    calls_updated: int = Field(description="Calls that existed before this import and changed.")
    skipped_rows: list[SkippedRowPublic] = Field(
        description="The first 1000 skipped rows, with their line numbers and reasons."
    )

    @classmethod
    def of(cls, report: CdrReport) -> CdrImportResult:
        return cls(
            rows_read=report.rows_read,
            stored=report.stored,
            duplicates=report.duplicates,
            skipped=report.skipped,
            technical=report.technical,
            failed=report.failed,
            calls_created=report.calls_created,
            calls_updated=report.calls_updated,
            skipped_rows=[
                SkippedRowPublic(line=r.line, reason=r.reason) for r in report.skipped_rows
            ],
        )
