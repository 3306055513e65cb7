"""Scraping ``/metrics`` and reading its samples."""

from __future__ import annotations

from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-for-the-tests-0123456789"
TOKEN = {"Authorization": f"Bearer {METRICS_TOKEN}"}

Key = tuple[str, tuple[tuple[str, str], ...]]


class Samples:
    """One scrape: every sample by its name and labels."""

    def __init__(self, text: str) -> None:
        self.values: dict[Key, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value

    def get(self, name: str, **labels: str) -> float:
        return self.values.get((name, tuple(sorted(labels.items()))), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, tuple(sorted(labels.items()))) in self.values

    def label_values(self) -> set[str]:
        return {value for _, labels in self.values for _, value in labels}


async def scrape(client: AsyncClient) -> Samples:
    response = await client.get("/metrics", headers=TOKEN)
    assert response.status_code == 200, response.text
    return Samples(response.text)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return after.get(name, **labels) - before.get(name, **labels)
