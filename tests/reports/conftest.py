"""The worked example of docs/metrics.md, loaded for the report's tests."""

from __future__ import annotations

import pytest

from app.db import Database
from tests.metrics.loading import load_dataset
from tests.metrics.worked_example import DATASET


@pytest.fixture
async def worked(database: Database) -> None:
    await load_dataset(database, DATASET)
