"""Prometheus metrics: the instruments the choke points move, and ``GET /metrics``.

Kept apart from ``app.metrics``, which is the funnel (the product's metrics, not the service's).
"""
