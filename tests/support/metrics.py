"""Reading Prometheus's text format in the end-to-end tests."""

from __future__ import annotations

import re

import requests

from tests.support.servers import LiveServer


def metric(text: str, name: str, **labels: str) -> float:
    """The value of the first sample of ``name`` with these labels; 0 when there is none."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def scrape(server: LiveServer) -> str:
    """``GET /metrics`` from this machine, as Prometheus on the host would."""
    response = requests.get(server.url("/metrics"), timeout=10)
    assert response.status_code == 200, response.text
    return response.text
