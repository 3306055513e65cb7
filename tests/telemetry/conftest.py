from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from tests.factories import settings_for
from tests.telemetry.support import METRICS_TOKEN

# Small enough for a test to send a body over it without sending a megabyte.
MAX_BODY = 8192


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for(
        database_url, tmp_path, metrics_token=METRICS_TOKEN, max_webhook_body_bytes=MAX_BODY
    )
