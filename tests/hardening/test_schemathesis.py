"""Keep the 5xx count at zero: a bounded schemathesis run against the ASGI app, on both databases,
as an admin and as a manager, with the ``not_a_server_error`` check.

The requests go through one Starlette ``TestClient`` (one event loop for the app and its pools);
schemathesis generates the cases and judges the answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from httpx import RequestNotRead
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from starlette.testclient import TestClient

from app.main import create_app
from tests.factories import bearer, settings_for

# Small on purpose: a few cases per operation keeps the module to a minute or two in all.
MAX_EXAMPLES = 4


ADMIN_KEY = "cf_schemathesis_admin_key_0123456789abcdef"


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[Any, TestClient, dict[str, Any]]]:
    # Keys are made through the app itself (bootstrap key, then the API): everything then runs on
    # the TestClient's own event loop, which the pools' connections belong to.
    config = settings_for(database_url, tmp_path).model_copy(
        update={"bootstrap_admin_key": SecretStr(ADMIN_KEY)}
    )
    application = create_app(config)
    with TestClient(application, raise_server_exceptions=False) as client:
        admin = bearer(ADMIN_KEY)
        employee = client.post(
            "/api/v1/employees", json={"name": "Anna", "extensions": ["101"]}, headers=admin
        ).json()
        created = client.post(
            "/api/v1/api-keys",
            json={"name": "manager", "role": "manager", "employee_id": employee["id"]},
            headers=admin,
        )
        assert created.status_code == 201, created.text
        manager = bearer(created.json()["key"])
        yield application, client, {"admin": admin, "manager": manager}


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_no_server_errors(served: tuple[Any, TestClient, dict[str, Any]], role: str) -> None:
    application, client, keys = served
    # From the dict, not from_asgi: loading through ASGI would start the app (and its pools) on
    # a second event loop.
    schema = schemathesis.openapi.from_dict(application.openapi())
    failures: list[str] = []
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            nonlocal tried
            tried += 1
            kwargs = case.as_transport_kwargs(headers=keys[role])
            kwargs.pop("base_url", None)
            response = client.request(**kwargs)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
                return
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except FailureGroup as exc:
                failures.append(f"{case.method} {case.formatted_path}: {exc}")
            except RequestNotRead:
                # The multipart import's request object cannot be replayed for the report;
                # its status was checked above.
                pass

        run()
    assert tried > 0
    assert failures == [], failures
