"""Importing the cold base through the API and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from typer.testing import CliRunner

from app.cli import cli
from app.config import get_settings

CP1251_RU = (
    "компания;контактное лицо;телефон;телефон 2;кампания;ответственный;примечание\r\n"
    "ООО Ромашка;Иван Петров;8 (916) 123-45-67;;насосы;Анна;перезвонить в среду\r\n"
    "ЗАО Василёк;;+7 903 111-22-33;8 903 111 22 44;насосы;boris@example.com;\r\n"
    ";;;;;;\r\n"
    "Без телефона;Ольга;12-34;;насосы;;\r\n"
    ";;+7 916 000-00-09;;насосы;;\r\n"
    "ООО Ромашка (дубль);;+7 916 123 45 67;;клапаны;Некто;\r\n"
).encode("cp1251")

UTF8_BOM_API = (
    "\ufeffcompany,contact_name,phone,campaign,segment\r\n"
    'Acme,"Smith, John",+1 415 555 0100,valves,SMB\r\n'
    "Globex,,+1 415 555 0101,valves,\r\n"
).encode()


async def _import(client: AsyncClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/leads/import", files={"file": ("base.csv", data, "text/csv")}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_cp1251_semicolon_russian_headers(client: AsyncClient, admin: dict[str, str]) -> None:
    anna = (await client.post("/api/v1/employees", json={"name": "Анна"}, headers=admin)).json()
    boris = (
        await client.post(
            "/api/v1/employees", json={"name": "Boris", "email": "boris@example.com"}, headers=admin
        )
    ).json()
    result = await _import(client, admin, CP1251_RU)
    assert result["created"] == 2
    assert result["updated"] == 1  # the duplicate row updates the lead of its first occurrence
    assert result["skipped"] == 2
    assert result["errors"] == [
        {"row": 5, "msg": result["errors"][0]["msg"]},
        {"row": 6, "msg": result["errors"][1]["msg"]},
    ]
    assert "12-34" in result["errors"][0]["msg"]
    assert any("Некто" in warning for warning in result["warnings"])

    leads = (await client.get("/api/v1/leads", headers=admin)).json()["items"]
    by_phone = {lead["phones"][0]: lead for lead in leads}
    romashka = by_phone["+79161234567"]
    assert (
        romashka["company"] == "ООО Ромашка (дубль)"
    )  # the later row wins where it says something
    assert romashka["contact_name"] == "Иван Петров"  # and keeps what it leaves empty
    assert romashka["campaign"] == "клапаны"
    assert romashka["owner_id"] == anna["id"]
    assert romashka["notes"] == "перезвонить в среду"
    assert romashka["source"] == "cold_base"
    vasilek = by_phone["+79031112233"]
    assert vasilek["phones"] == ["+79031112233", "+79031112244"]
    assert vasilek["owner_id"] == boris["id"]


async def test_utf8_bom_comma_api_headers_and_reimport(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    first = await _import(client, admin, UTF8_BOM_API)
    assert (first["created"], first["updated"], first["skipped"]) == (2, 0, 0)
    again = await _import(client, admin, UTF8_BOM_API)
    assert (again["created"], again["updated"], again["skipped"]) == (0, 2, 0)
    acme = (
        await client.get("/api/v1/leads", params={"phone": "+14155550100"}, headers=admin)
    ).json()["items"]
    assert acme[0]["contact_name"] == "Smith, John"
    assert acme[0]["segment"] == "SMB"


async def test_row_whose_phones_belong_to_two_leads_is_skipped(
    client: AsyncClient, admin: dict[str, str]
) -> None:
    for phone in ("+79160000001", "+79160000002"):
        await client.post(
            "/api/v1/leads", json={"company": phone, "phones": [phone]}, headers=admin
        )
    data = b"company;phone;phone2\nMerged;+79160000001;+79160000002\n"
    result = await _import(client, admin, data)
    assert result["skipped"] == 1
    assert "different leads" in result["errors"][0]["msg"]


async def test_unusable_file_is_422(client: AsyncClient, admin: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/leads/import",
        files={"file": ("x.csv", b"colour,size\nred,L\n", "text/csv")},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    missing = await client.post("/api/v1/leads/import", headers=admin)
    assert missing.status_code == 422


async def test_import_needs_a_writer(client: AsyncClient, head: dict[str, str]) -> None:
    assert (await _import(client, head, UTF8_BOM_API))["created"] == 2


def test_cli_import_with_progress(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "base.csv"
    path.write_bytes(CP1251_RU)
    monkeypatch.setenv("CALLFUNNEL_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["import", "leads", str(path)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "created 2, updated 1, skipped 2" in result.output
    assert "row 5:" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"colour\nred\n")
    refused = CliRunner().invoke(cli, ["import", "leads", str(bad)])
    assert refused.exit_code == 1
