"""``callfunnel import cdr`` and ``callfunnel cdr sync``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cdr.service import CdrReport, import_file
from app.cdr.sync import SyncError, SyncResult, freepbx_sync
from app.config import get_settings
from app.db import Database, create_engine
from app.errors import ProblemError
from app.logging import configure_logging
from app.serving import stop_on_signals

cdr_cli = typer.Typer(help="Asterisk/FreePBX call detail records.", no_args_is_help=True)

IntegrationOption = Annotated[
    str, typer.Option("--integration", help="The asterisk integration's id (intg_…).")
]


def print_report(report: CdrReport) -> None:
    typer.echo(
        f"rows read: {report.rows_read}\n"
        f"stored: {report.stored} (technical legs kept raw: {report.technical})\n"
        f"duplicates: {report.duplicates}\n"
        f"skipped: {report.skipped}\n"
        f"failed: {report.failed}\n"
        f"calls created: {report.calls_created}\n"
        f"calls updated: {report.calls_updated}"
    )
    for row in report.skipped_rows:
        typer.echo(f"  line {row.line}: {row.reason}")
    if report.skipped > len(report.skipped_rows):
        typer.echo(f"  … and {report.skipped - len(report.skipped_rows)} more")


def import_cdr(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CDR file.")],
    integration: IntegrationOption,
) -> None:
    """Import an Asterisk Master.csv (any cdr_csv layout, cdr_custom) or a CSV with a header."""
    settings = get_settings()

    async def run() -> CdrReport:
        database = Database(create_engine(settings))
        size = path.stat().st_size
        try:
            with (
                path.open("rb") as stream,
                typer.progressbar(length=size, label="importing CDR", file=sys.stderr) as bar,
            ):
                done = 0

                def advance(read: int, _report: CdrReport) -> None:
                    nonlocal done
                    read = min(read, size)
                    bar.update(max(0, read - done))
                    done = max(done, read)

                return await import_file(database, integration, stream, progress=advance)
        finally:
            await database.dispose()

    try:
        report = asyncio.run(run())
    except ProblemError as exc:
        typer.secho(f"error: {exc.detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from exc
    print_report(report)


@cdr_cli.command("sync")
def cdr_sync(
    integration: IntegrationOption,
    once: Annotated[bool, typer.Option("--once", help="Sync once and stop.")] = False,
    every: Annotated[
        float, typer.Option(help="Seconds between syncs when polling.", min=1.0)
    ] = 60.0,
) -> None:
    """Read new rows of the FreePBX cdr table (the integration's mysql_url) into calls."""
    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)

    async def run_once() -> SyncResult:
        database = Database(create_engine(settings))
        try:
            return await freepbx_sync.sync_once(database, integration)
        finally:
            await database.dispose()

    async def run_forever() -> None:
        database = Database(create_engine(settings))
        stop = stop_on_signals()
        try:
            await freepbx_sync.run_forever(database, integration, every=every, stop=stop)
        finally:
            await database.dispose()

    try:
        if once:
            result = asyncio.run(run_once())
            print_report(result.report)
            typer.echo(f"cursor: {result.last_calldate or 'none'}")
        else:
            asyncio.run(run_forever())
    except (ProblemError, SyncError) as exc:
        detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
        typer.secho(f"error: {detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from exc
