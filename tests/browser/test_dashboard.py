"""The dashboard as a sales head and a manager use it, in Chromium: every scenario of DASHBOARD.md.

Figures are read from the page's ``data-figure``/``data-value`` attributes and compared with the
API's answer to the same query, with the same role's key.
"""

from __future__ import annotations

import os
import re
import struct
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Response, expect

from tests.browser.harness import VIEWPORT, Served

pytestmark = pytest.mark.slow

# The Overview's money tiles: the API's ``economics`` holds the first, its ``forecast`` the others.
MONEY = ("cost_per_dial", "profit_per_call", "profit_per_application", "break_even_cost_per_dial")
EXPECTED_MONEY = ("expected_profit_per_call", "expected_profit_per_application")


def sign_in(page: Page, key: str, path: str = "/") -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def figures(page: Page) -> dict[str, str]:
    found: dict[str, str] = page.eval_on_selector_all(
        "[data-figure]",
        "nodes => Object.fromEntries(nodes.map(n => [n.dataset.figure, n.dataset.value]))",
    )
    return found


def shown_period(page: Page) -> dict[str, str]:
    """The API query of the period the page shows (its ``#period-shown`` note)."""
    note = page.locator("#period-shown")
    return {
        "from": note.get_attribute("data-from") or "",
        "to": note.get_attribute("data-to") or "",
        "mode": note.get_attribute("data-mode") or "",
    }


def money_equal(page_value: str, api_value: Any) -> bool:
    if api_value is None:
        return page_value == ""
    return Decimal(page_value).quantize(Decimal("0.01")) == Decimal(api_value)


def assert_overview_is_the_apis(page: Page, served: Served, key: str) -> dict[str, Any]:
    query = shown_period(page)
    with served.api(key) as api:
        total = api.get("/api/v1/metrics/funnel", params=query).json()["total"]
        callbacks = api.get(
            "/api/v1/metrics/callbacks", params={"from": query["from"], "to": query["to"]}
        ).json()["total"]
    shown = figures(page)
    assert shown["dials"] == str(total["dials"])
    assert shown["leads_dialed"] == str(total["leads_dialed"])
    for stage in total["stages"]:
        assert shown[stage["name"]] == str(stage["count"]), stage
        conversion = shown[f"{stage['name']}.conversion"]
        assert (
            (conversion == "")
            if stage["conversion"] is None
            else (float(conversion) == stage["conversion"])
        ), stage
    economics = total["economics"]
    for name in MONEY:
        assert money_equal(shown[name], economics[name]), name
    forecast = economics["forecast"] or {}
    for name in EXPECTED_MONEY:
        assert money_equal(shown[name], forecast.get(name)), name
    for name in ("missed_calls", "cases", "pending", "sla_breached"):
        assert shown[f"callbacks.{name}"] == str(callbacks[name]), name
    return total


def test_sign_in_and_sign_out(page: Page, served: Served) -> None:
    page.goto("/managers")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)managers$"))
    page.get_by_label("API key").fill("cf_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    page.get_by_label("API key").fill(served.head)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{served.url}/managers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Managers")
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session = next(c for c in cookies.values() if c["httpOnly"])
    assert session["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)$"))


def test_overview_figures_are_the_apis_and_follow_the_period(page: Page, served: Served) -> None:
    sign_in(page, served.head)
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    last_week = assert_overview_is_the_apis(page, served, served.head)
    assert last_week["dials"] > 0  # the demo's last week: not a comparison of empty pages

    before = shown_period(page)
    page.get_by_label("This month").check()
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"period=this_month"))
    after = shown_period(page)
    assert after != before
    assert after["from"].endswith("-01")
    assert_overview_is_the_apis(page, served, served.head)


def test_a_managers_page(page: Page, served: Served) -> None:
    sign_in(page, served.head, "/managers")
    links = page.locator("#managers-table a[href^='/managers/']")
    expect(links).to_have_count(len(served.managers))
    name = links.first.inner_text()
    links.first.click()
    expect(page).to_have_url(re.compile(r"/managers/emp_"))
    employee_id = page.url.split("/managers/")[1].split("?")[0]
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    with served.api(served.head) as api:
        total = api.get(
            "/api/v1/metrics/funnel", params={**shown_period(page), "employee_id": employee_id}
        ).json()["total"]
    shown = figures(page)
    assert shown[f"{employee_id}.dials"] == str(total["dials"])
    for stage in total["stages"]:
        assert shown[f"{employee_id}.{stage['name']}"] == str(stage["count"]), stage


def _answered_call(served: Served, key: str) -> dict[str, Any]:
    with served.api(key) as api:
        calls = api.get("/api/v1/calls", params={"has_recording": "true", "limit": 1}).json()
    call: dict[str, Any] = calls["items"][0]
    return call


def test_tagging_a_call(page: Page, served: Served) -> None:
    employee_id, key = next(iter(served.managers.items()))
    call = _answered_call(served, key)
    new_outcome = "callback_requested" if call["outcome"] != "callback_requested" else "refused"
    sign_in(page, key, "/calls?has_recording=true")
    row = page.locator(f"#call-{call['id']}")
    row.locator("select[name=outcome]").select_option(new_outcome)
    row.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    expect(page.locator(f"#call-{call['id']} select[name=outcome]")).to_have_value(new_outcome)
    with served.api(key) as api:
        tagged = api.get(f"/api/v1/calls/{call['id']}").json()
    assert tagged["outcome"] == new_outcome
    assert tagged["employee_id"] == employee_id


def test_playing_a_recording(page: Page, served: Served) -> None:
    call = _answered_call(served, served.head)
    recording = call["recording"]
    assert recording["status"] == "stored"
    answers: list[Response] = []
    page.on("response", lambda r: answers.append(r) if "/recording" in r.url else None)
    sign_in(page, served.head, "/calls?has_recording=true")
    player = page.locator(f"#call-{call['id']} audio")
    duration = player.evaluate(
        """audio => new Promise((resolve, reject) => {
            audio.addEventListener("loadedmetadata", () => resolve(audio.duration));
            audio.addEventListener("error", () => reject(new Error("cannot play")));
            audio.muted = true;
            audio.play().catch(reject);
        })"""
    )
    assert duration == recording["duration_seconds"]
    page.wait_for_function("a => a.currentTime > 0", arg=player.element_handle())
    played = [r for r in answers if f"/calls/{call['id']}/recording" in r.url]
    assert played
    assert {r.status for r in played} == {206}
    assert played[0].headers["content-type"] == "audio/wav"
    assert played[0].headers["content-range"].endswith(f"/{recording['size_bytes']}")


def test_scoring_a_call(page: Page, served: Served) -> None:
    # The demo's sales head scored its queue; this head scores a call of it again, its own way.
    call_id = _answered_call(served, served.head)["id"]
    sign_in(page, served.head, f"/quality/calls/{call_id}")
    form = page.locator(f"form[action^='/quality/calls/{call_id}/evaluations/']")
    for group in form.locator("fieldset[aria-label]").all():
        group.get_by_label("Yes").check()
    form.get_by_label("Comment").fill("Scored in the browser test.")
    form.get_by_role("button").click()
    page.wait_for_load_state()
    saved = page.locator("[data-figure=saved-score]")
    expect(saved).to_be_visible()
    with served.api(served.head) as api:
        evaluations = api.get(f"/api/v1/calls/{call_id}/evaluations").json()
    (evaluation,) = [e for e in evaluations if e["evaluator"] == "test head"]
    assert evaluation["comment"] == "Scored in the browser test."
    assert Decimal(saved.get_attribute("data-value") or "") == Decimal(str(evaluation["score"]))
    assert evaluation["score"] == 100


def test_a_manager_cannot_open_a_colleagues_lead(page: Page, served: Served) -> None:
    (mine, key), (theirs, their_key) = list(served.managers.items())[:2]
    with served.api(their_key) as api:
        their_lead = api.get("/api/v1/leads", params={"limit": 1}).json()["items"][0]
    with served.api(key) as api:
        my_lead = api.get("/api/v1/leads", params={"limit": 1}).json()["items"][0]
        assert api.get(f"/api/v1/leads/{their_lead['id']}").status_code == 404
    assert mine != theirs
    sign_in(page, key, f"/leads/{my_lead['id']}")
    expect(page).to_have_url(f"{served.url}/leads/{my_lead['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(my_lead["company"])
    answer = page.goto(f"/leads/{their_lead['id']}")
    assert answer is not None
    assert answer.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Error 404")
    assert their_lead["company"] not in page.content()


def test_readme_screenshots(page: Page, served: Served, tmp_path: Path) -> None:
    """The Overview and the Managers page as the README shows them: small PNGs of one screen.

    Written to ``$CALLFUNNEL_SCREENSHOTS_DIR`` when set (``docs/img`` refreshes the README's),
    else to a temporary folder, so that a test run leaves the tree as it was.
    """
    folder = Path(os.environ.get("CALLFUNNEL_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    # The whole history: a cohort's later stages come in the weeks after its first dials.
    last_day = date.fromisoformat(served.summary.end_day) - timedelta(days=1)
    history = f"period=custom&from={served.summary.first_day}&until={last_day}"
    sign_in(page, served.head)
    for name, path in (("overview", "/"), ("managers", "/managers")):
        page.goto(f"{path}?{history}")
        shot = folder / f"{name}.png"
        page.screenshot(path=str(shot), type="png", animations="disabled")
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (VIEWPORT["width"], VIEWPORT["height"])
        assert len(data) < 200 * 1024, f"{name}.png is {len(data)} bytes"
