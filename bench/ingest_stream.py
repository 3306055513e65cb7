"""Deliver a realistic mixed stream to a running callfunnel and check what it made of it.

Four providers, shuffled, ~30 % of requests sent twice, N deliveries at a time. Prints throughput
and latency, counts non-200 answers, and verifies through the API that every provider call became
exactly one correct call. Exits non-zero when anything is wrong.

    .venv/bin/callfunnel serve --port 8765 &          # any database
    .venv/bin/python bench/ingest_stream.py --url http://127.0.0.1:8765 --key cf_...
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from app.webhooks.providers import get_adapter
from app.webhooks.providers.simulation import CallSpec
from app.webhooks.traffic import (
    EXAMPLE_CONFIGS,
    Delivery,
    call_key,
    deliveries,
    mismatches,
    random_calls,
    shuffled_with_duplicates,
)

CONFIGS = EXAMPLE_CONFIGS


async def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    auth = {"Authorization": f"Bearer {args.key}"}
    async with httpx.AsyncClient(base_url=args.url, timeout=60) as http:
        expected: dict[tuple[str, str], CallSpec] = {}
        requests: list[Delivery] = []
        integration_ids = []
        for provider, config in CONFIGS.items():
            created = await http.post(
                "/api/v1/integrations",
                json={"provider": provider, "name": f"bench {provider}", "config": config},
                headers=auth,
            )
            created.raise_for_status()
            integration_id = created.json()["id"]
            integration_ids.append(integration_id)
            calls = random_calls(
                rng,
                args.calls_per_provider,
                start=datetime(2026, 11, 16, 6, tzinfo=UTC),
                extensions=[str(n) for n in range(101, 111)],
                numbers=[f"+7916{n:07d}" for n in range(args.calls_per_provider)],
                prefix=provider[:2],
            )
            parsed = get_adapter(provider).config_model.model_validate(config)
            requests += deliveries(provider, integration_id, parsed, calls)
            expected |= {call_key(integration_id, call.started_at): call for call in calls}
        stream = shuffled_with_duplicates(rng, requests)

        gate = asyncio.Semaphore(args.concurrency)
        latencies: list[float] = []
        statuses: dict[int, int] = {}

        async def send(item: Delivery) -> None:
            async with gate:
                began = time.perf_counter()
                response = await http.request(
                    item.method, item.path, content=item.body, headers=item.headers
                )
                latencies.append(time.perf_counter() - began)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(send(item) for item in stream))
        elapsed = time.perf_counter() - began

        seen: list[dict[str, Any]] = []
        for integration_id in integration_ids:
            cursor = None
            while True:
                params: dict[str, Any] = {"integration_id": integration_id, "limit": 500}
                if cursor:
                    params["cursor"] = cursor
                page = (await http.get("/api/v1/calls", params=params, headers=auth)).json()
                seen += page["items"]
                if (cursor := page["next_cursor"]) is None:
                    break

    problems = mismatches(expected, seen)
    latencies.sort()
    print(f"calls: {len(expected)} across {len(CONFIGS)} providers")
    print(
        f"deliveries: {len(stream)} ({len(stream) - len(requests)} duplicates), "
        f"concurrency {args.concurrency}"
    )
    print(f"elapsed: {elapsed:.2f} s, throughput: {len(stream) / elapsed:.0f} requests/s")
    print(
        f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.1f} ms"
    )
    print(f"statuses: {dict(sorted(statuses.items()))}")
    print(f"calls seen: {len(seen)}, problems: {len(problems)}")
    for problem in problems[:20]:
        print(f"  {problem}")
    return 0 if not problems and set(statuses) == {200} else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="an admin API key")
    parser.add_argument("--calls-per-provider", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
