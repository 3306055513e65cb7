"""The ``callfunnel`` command line."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import httpx
import typer
from sqlalchemy.ext.asyncio import AsyncSession

from app import migrations
from app.auth.repository import api_key_repository
from app.auth.roles import Role
from app.auth.service import Principal, api_key_service
from app.cdr.cli import cdr_cli, import_cdr
from app.config import RecordingsStorage, Settings, get_settings
from app.db import Database, create_engine, utcnow
from app.demo import DemoBuilder, DemoSummary, store_recordings
from app.errors import ProblemError
from app.leads.csv_import import CsvImportError
from app.leads.importer import lead_importer
from app.leads.schemas import ImportResult
from app.logging import configure_logging
from app.metrics.evidence import rebuild_evidence
from app.recordings.worker import RetentionResult, recording_worker
from app.reports.formats import RENDERINGS, ReportFormat, file_name, render_json
from app.reports.i18n import Lang
from app.reports.service import report_service
from app.serving import run_background_work, serve_many, serve_one

T = TypeVar("T")

cli = typer.Typer(
    help="callfunnel: cold-call funnel analytics for cloud PBXs.", no_args_is_help=True
)
apikey_cli = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
cli.add_typer(apikey_cli, name="apikey")
import_cli = typer.Typer(help="Import data from files.", no_args_is_help=True)
cli.add_typer(import_cli, name="import")
report_cli = typer.Typer(help="Reports, as files.", no_args_is_help=True)
cli.add_typer(report_cli, name="report")
cli.add_typer(cdr_cli, name="cdr")
evidence_cli = typer.Typer(help="The funnel's kept per-lead evidence.", no_args_is_help=True)
cli.add_typer(evidence_cli, name="evidence")
import_cli.command("cdr")(import_cdr)


def _in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one committed unit of work against the configured database."""

    async def run() -> T:
        database = Database(create_engine(settings))
        try:
            async with database.unit_of_work() as session:
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except ProblemError as exc:
        typer.secho(f"error: {exc.detail}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from exc


@cli.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Upgrade the database schema (CALLFUNNEL_DATABASE_URL) to REVISION."""
    migrations.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_migrate: Annotated[
        bool, typer.Option("--no-migrate", help="Do not upgrade the schema first.")
    ] = False,
    run_worker: Annotated[
        bool,
        typer.Option(
            "--worker/--no-worker",
            help="Also download recordings (turn off when `callfunnel worker` runs).",
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            help="API processes sharing the port; with more than one, the recordings are "
            "downloaded by one process of their own beside them.",
            min=1,
        ),
    ] = 1,
) -> None:
    """Migrate the database to head, then serve the API (and the recording worker)."""
    settings = get_settings()
    if not no_migrate:
        migrations.upgrade(settings.database_url)
    if workers == 1:
        serve_one(settings, host, port, worker=run_worker)
    else:
        serve_many(settings, host, port, workers=workers, worker=run_worker)


@cli.command()
def worker(
    cdr_sync: Annotated[
        bool,
        typer.Option(
            "--cdr-sync/--no-cdr-sync",
            help="Also sync the FreePBX cdr table of every asterisk integration with a mysql_url.",
        ),
    ] = False,
    cdr_every: Annotated[float, typer.Option(help="Seconds between CDR syncs.", min=1.0)] = 60.0,
) -> None:
    """Download recordings until stopped (SIGINT/SIGTERM); run as many as you like on PostgreSQL."""
    settings = get_settings()
    configure_logging(settings.log_level, json_output=settings.log_json)
    asyncio.run(run_background_work(settings, cdr_sync=cdr_sync, cdr_every=cdr_every))


@cli.command()
def retention() -> None:
    """Delete the recordings and raw webhook events older than the operations settings allow."""
    settings = get_settings()

    async def run() -> RetentionResult:
        database = Database(create_engine(settings))
        try:
            async with recording_worker(database, settings) as recordings:
                return await recordings.apply_retention()
        finally:
            await database.dispose()

    result = asyncio.run(run())
    typer.echo(
        f"deleted {result.recordings_deleted} recordings and "
        f"{result.webhook_events_deleted} raw webhook events"
    )


@cli.command()
def demo(
    database: Annotated[Path, typer.Option(help="The SQLite file to (re)create.")] = Path(
        "demo.db"
    ),
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    seed: Annotated[int, typer.Option(help="The same seed gives the same history.")] = 2026,
    data: Annotated[bool, typer.Option(help="Load the generated history.")] = True,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve once the data is in.")
    ] = True,
) -> None:
    """Fresh SQLite database, an admin key, four weeks of cold calling through the webhooks."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    # The demo's recordings live beside its database and go with it (never to a configured bucket).
    recordings = database.resolve().with_name(f"{database.stem}-recordings")
    shutil.rmtree(recordings, ignore_errors=True)
    settings = get_settings().model_copy(
        update={
            "database_url": f"sqlite+aiosqlite:///{database.resolve()}",
            "recordings_dir": recordings,
            "recordings_storage": RecordingsStorage.LOCAL,
        }
    )
    migrations.upgrade(settings.database_url)
    _, key = _in_session(
        settings,
        lambda session: api_key_service.create(
            session, name="demo admin", role=Role.ADMIN, employee_id=None
        ),
    )
    base = f"http://{host}:{port}"
    lines = [
        f"\ncallfunnel demo on {base}  (API docs: {base}/docs)",
        f"dashboard: {base}/login  (sign in with the admin API key below)",
        f"admin API key: {key}",
    ]
    if data:
        summary = asyncio.run(_load_demo(settings, key, seed))
        lines += [
            f"history: {summary.calls} calls ({summary.requests} webhook requests) to "
            f"{summary.leads} leads, {summary.first_day} … {summary.end_day}; "
            f"{summary.applications} applications, {summary.contracts} contracts; "
            f"{summary.inbound_calls} inbound calls ({summary.missed_calls} missed, "
            f"{summary.callbacks} called back); {summary.recordings} recordings",
            "",
            "try:",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"'{base}/api/v1/metrics/funnel?from={summary.first_day}&to={summary.end_day}'",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"'{base}/api/v1/metrics/funnel?from={summary.first_day}&to={summary.end_day}"
            "&group_by=employee'",
            f"  curl -H 'Authorization: Bearer {key}' '{base}/api/v1/leads?stage=2&limit=5'",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"'{base}/api/v1/metrics/callbacks?from={summary.first_day}&to={summary.end_day}'",
            f"  curl -H 'Authorization: Bearer {key}' '{base}/api/v1/callbacks?status=pending'",
            f"  curl -H 'Authorization: Bearer {key}' "
            f"'{base}/api/v1/calls?lead_id=LEAD_ID_FROM_ABOVE'",
        ]
    typer.echo("\n".join(lines) + "\n")
    if serve_after:
        serve_one(settings, host, port, worker=True)


async def _load_demo(settings: Settings, key: str, seed: int) -> DemoSummary:
    from app.main import create_app

    app = create_app(settings.model_copy(update={"log_level": "WARNING"}))
    transport = httpx.ASGITransport(app=app)
    with typer.progressbar(length=100, label="loading the demo history", file=sys.stderr) as bar:
        shown = 0

        def progress(_step: str, done: int, total: int) -> None:
            nonlocal shown
            target = done * 100 // max(total, 1)
            bar.update(target - shown)
            shown = target

        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport,
                base_url="http://demo",
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            ) as client,
        ):
            builder = DemoBuilder(client, seed=seed, today=utcnow(), progress=progress)
            summary = await builder.build()
            summary.recordings = await store_recordings(app.state.database, settings)
            return summary


@apikey_cli.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="What the key is for.")],
    role: Annotated[Role, typer.Option(help="admin, head or manager.")],
    employee: Annotated[
        str | None, typer.Option(help="Employee id (required for a manager key).")
    ] = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    row, key = _in_session(
        get_settings(),
        lambda session: api_key_service.create(session, name=name, role=role, employee_id=employee),
    )
    typer.echo(f"created {row.id} ({role.value}); the key is shown only now:\n{key}")


@apikey_cli.command("list")
def apikey_list() -> None:
    """List keys (never the keys themselves)."""

    async def rows(session: AsyncSession) -> list[str]:
        keys = await api_key_repository.list(session, limit=10_000, after_id=None)
        return [
            f"{k.id}\t{k.role}\t{k.prefix}…\t{k.name}\t"
            f"{'revoked ' + k.revoked_at.isoformat() if k.revoked_at else 'active'}"
            for k in keys
        ]

    for line in _in_session(get_settings(), rows):
        typer.echo(line)


@apikey_cli.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id (key_…).")]) -> None:
    """Revoke a key; requests with it are refused from now on."""
    _in_session(get_settings(), lambda session: api_key_service.revoke(session, key_id))
    typer.echo(f"revoked {key_id}")


@import_cli.command("leads")
def import_leads(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV file.")],
) -> None:
    """Create or update leads from a CSV export of the cold base (UTF-8 or cp1251)."""
    settings = get_settings()

    async def run() -> ImportResult:
        database = Database(create_engine(settings))
        size = path.stat().st_size
        try:
            with (
                path.open("rb") as stream,
                typer.progressbar(length=size, label="importing", file=sys.stderr) as bar,
            ):
                done = 0

                def advance(read: int) -> None:
                    # Read-ahead can overshoot the file size; the bar only moves forward.
                    nonlocal done
                    read = min(read, size)
                    bar.update(max(0, read - done))
                    done = max(done, read)

                return await lead_importer.import_csv(
                    database, stream, default_region=settings.default_region, progress=advance
                )
        finally:
            await database.dispose()

    try:
        result = asyncio.run(run())
    except CsvImportError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=1) from exc
    typer.echo(f"created {result.created}, updated {result.updated}, skipped {result.skipped}")
    for error in result.errors:
        typer.echo(f"  row {error['row']}: {error['msg']}")
    for warning in result.warnings:
        typer.echo(f"  warning: {warning}")


@report_cli.command("weekly")
def report_weekly(
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47; default: the last complete one.")
    ] = None,
    format_: Annotated[ReportFormat, typer.Option("--format", help="The file format.")] = "json",
    lang: Annotated[Lang, typer.Option(help="Headings and number formats.")] = "en",
    as_of: Annotated[str | None, typer.Option(help="Timestamp; default now.")] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Default: callfunnel-WEEK.FORMAT here; - for stdout."),
    ] = None,
) -> None:
    """The weekly report of the funnel and the money, as GET /api/v1/reports/weekly gives it."""
    settings = get_settings()
    operator = Principal(key_id="cli", role=Role.ADMIN, employee_id=None)
    report = _in_session(
        settings,
        lambda session: report_service.weekly(
            session,
            week=week,
            as_of=as_of,
            principal=operator,
            default_timezone=settings.timezone,
            now=utcnow(),
        ),
    )
    body = render_json(report) if format_ == "json" else RENDERINGS[format_].render(report, lang)
    if output == Path("-"):
        sys.stdout.buffer.write(body)
        return
    path = output or Path(file_name(report, format_))
    path.write_bytes(body)
    typer.echo(f"wrote {path} ({len(body):,} bytes)")


@evidence_cli.command("rebuild")
def evidence_rebuild() -> None:
    """Recompute every lead's kept evidence from its calls (after upgrading to it, or when
    rows were written past the application), in one transaction."""
    rows = _in_session(get_settings(), rebuild_evidence)
    typer.echo(f"kept evidence rebuilt: {rows:,} leads")


def main() -> None:
    cli()
