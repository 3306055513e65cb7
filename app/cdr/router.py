from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from app.auth.dependencies import AdminPrincipal
from app.cdr.schemas import CdrImportResult
from app.cdr.service import import_file
from app.db import get_database

router = APIRouter(prefix="/integrations", tags=["integrations"])


@router.post("/{integration_id}/cdr")
async def import_cdr(
    integration_id: str,
    request: Request,
    file: Annotated[
        UploadFile,
        File(
            description="Master.csv (cdr_csv/cdr_custom, any layout) or a CSV export with a header."
        ),
    ],
    _admin: AdminPrincipal,
) -> CdrImportResult:
    """Import an Asterisk/FreePBX CDR file into the integration's calls (admin).

    Each batch of rows is committed on its own; importing the file again stores nothing twice and
    changes nothing. A file whose columns cannot be told is refused (422) before anything is stored.
    """
    report = await import_file(get_database(request), integration_id, file.file)
    return CdrImportResult.of(report)
