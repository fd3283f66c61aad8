#!/usr/bin/env python3
"""The demo's traffic: a tiny exporter of ``demo_http_requests_total{service, code}``.

It pretends to be a service answering requests and counts them by status code, as a real HTTP
server's metrics would. The traffic it serves is read every tick from a small JSON control file, so
the demo script (or you) can inject errors while it runs:

    echo '{"requests_per_second": 20, "error_ratio": 0.1}' > .cluster/demo/traffic.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, start_http_server

TICK_SECONDS = 0.1


def traffic(control: Path) -> tuple[float, float]:
    """(requests per second, error ratio) from the control file; no traffic when it is unreadable."""
    try:
        wanted = json.loads(control.read_text())
        return float(wanted.get("requests_per_second", 0)), float(wanted.get("error_ratio", 0))
    except (OSError, ValueError, AttributeError):
        return 0.0, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--service", default="shop")
    parser.add_argument("--control", type=Path, required=True)
    args = parser.parse_args()
    registry = CollectorRegistry()
    requests = Counter(
        "demo_http_requests",
        "Requests served by the demo service, by status code.",
        ["service", "code"],
        registry=registry,
    )
    ok, failed = requests.labels(service=args.service, code="200"), requests.labels(args.service, "500")
    start_http_server(args.port, addr="127.0.0.1", registry=registry)
    while True:
        rate, error_ratio = traffic(args.control)
        ok.inc(rate * TICK_SECONDS * (1 - error_ratio))
        failed.inc(rate * TICK_SECONDS * error_ratio)
        time.sleep(TICK_SECONDS)


if __name__ == "__main__":
    main()
