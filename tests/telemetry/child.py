"""A process of the service for the multiprocess tests: ``deliver`` sends one call's webhooks
through the app, ``scrape`` prints its ``/metrics``. PROMETHEUS_MULTIPROC_DIR comes from the test.

    python -m tests.telemetry.child deliver DATABASE_URL RECORDINGS_DIR INTEGRATION_ID CALL_ID
    python -m tests.telemetry.child scrape DATABASE_URL RECORDINGS_DIR
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from httpx import ASGITransport, AsyncClient

from app.main import create_app
from app.webhooks.providers import get_adapter
from tests.factories import GENERIC_CONFIG, settings_for
from tests.telemetry.support import METRICS_TOKEN, TOKEN
from tests.webhooks.delivery import spec


async def main(command: str, database_url: str, recordings: str, *args: str) -> None:
    settings = settings_for(database_url, Path(recordings), metrics_token=METRICS_TOKEN)
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        AsyncClient(transport=ASGITransport(app=application), base_url="http://t") as client,
    ):
        if command == "scrape":
            response = await client.get("/metrics", headers=TOKEN)
            assert response.status_code == 200, response.text
            sys.stdout.write(response.text)
            return
        integration_id, call_id = args
        adapter = get_adapter("generic")
        config = adapter.config_model.model_validate(GENERIC_CONFIG)
        for request in adapter.signed_requests(
            spec(call_id), config, integration_id=integration_id
        ):
            response = await client.post(
                f"/webhooks/generic/{integration_id}",
                content=request.body,
                headers=dict(request.headers),
            )
            assert response.status_code == 200, response.text


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
