"""The decision sink flags and their SLOGATE_* variables, as settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from slogate.cli import build_parser, settings_from
from slogate.settings import GrafanaConnection, OperatorSettings, WebhookConnection

SINK_VARIABLES = (
    "GRAFANA_URL",
    "GRAFANA_TOKEN_FILE",
    "GRAFANA_DASHBOARD_UID",
    "WEBHOOK_URL",
    "WEBHOOK_TOKEN_FILE",
    "WEBHOOK_HEADERS",
)


def settings(monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]) -> OperatorSettings:
    for name in SINK_VARIABLES:
        monkeypatch.delenv(f"SLOGATE_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"SLOGATE_{name}", value)
    return settings_from(build_parser().parse_args(["run", "--prometheus-url", "http://prom:9090", *argv]))


@pytest.mark.parametrize(
    ("argv", "env", "grafana", "webhook"),
    [
        pytest.param([], {}, None, None, id="no-sinks"),
        pytest.param(
            ["--grafana-url", "http://grafana:3000", "--grafana-token-file", "/var/run/grafana/token"],
            {"GRAFANA_DASHBOARD_UID": "slo"},
            GrafanaConnection("http://grafana:3000", Path("/var/run/grafana/token"), "slo"),
            None,
            id="grafana-from-flags-and-env",
        ),
        pytest.param(
            ["--webhook-header", "X-Team: payments"],
            {"WEBHOOK_URL": "https://hooks.example/x", "WEBHOOK_HEADERS": "X-Env: prod\n\nX-Trace: a:b"},
            None,
            WebhookConnection(
                "https://hooks.example/x",
                None,
                (("X-Env", "prod"), ("X-Trace", "a:b"), ("X-Team", "payments")),
            ),
            id="webhook-headers-from-env-then-flags",
        ),
        pytest.param(
            ["--webhook-url", "https://hooks.example/x"],
            {"WEBHOOK_TOKEN_FILE": "/t", "GRAFANA_URL": "http://grafana"},
            GrafanaConnection("http://grafana"),
            WebhookConnection("https://hooks.example/x", Path("/t")),
            id="both",
        ),
    ],
)
def test_sink_settings(
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    grafana: GrafanaConnection | None,
    webhook: WebhookConnection | None,
) -> None:
    configured = settings(monkeypatch, argv, env)
    assert (configured.grafana, configured.webhook) == (grafana, webhook)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param(
            ["--grafana-token-file", "/t"], {}, "need --grafana-url", id="grafana-token-without-url"
        ),
        pytest.param([], {"GRAFANA_DASHBOARD_UID": "slo"}, "need --grafana-url", id="dashboard-without-url"),
        pytest.param(["--webhook-header", "X-A: 1"], {}, "need --webhook-url", id="header-without-url"),
        pytest.param([], {"WEBHOOK_HEADERS": "no separator"}, "SLOGATE_WEBHOOK_HEADERS", id="bad-env-header"),
    ],
)
def test_incomplete_sink_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        settings(monkeypatch, argv, env)
