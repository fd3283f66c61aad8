"""Every ``SLOGATE_*`` variable of ``slogate run``: read only when ``slogate run`` starts, checked
like its flag, refused in one line that names it. A bad variable never breaks another command."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from slogate.api.gate import NoDataPolicy
from slogate.cli import build_parser, main, settings_from
from slogate.settings import AdmissionChoice, LogFormat, OperatorSettings


@pytest.fixture(autouse=True)
def prometheus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOGATE_PROMETHEUS_URL", "http://p:9090")


BAD_VALUES = {
    "EVALUATION_INTERVAL": ("10x", "use a duration such as 10s"),
    "LONG_WINDOW_INTERVAL": ("soon", "use a duration such as 10s"),
    "METRICS_PORT": ("abc", "use a number from 1 to 65535"),
    "HEALTH_PORT": ("0", "use a number from 1 to 65535"),
    "ADMISSION_WEBHOOK_PORT": ("70000", "use a number from 1 to 65535"),
    "ADMISSION": ("maybe", "not one of auto, policy, webhook, off"),
    "ADMISSION_FAILURE_POLICY": ("Sometimes", "not one of Ignore, Fail"),
    "PROMETHEUS_RULES": ("yes", "not one of auto, on, off"),
    "LOG_FORMAT": ("xml", "not one of plain, json"),
    "ON_PROMETHEUS_UNAVAILABLE": ("hold", "not one of Proceed, Hold"),
    "PROMETHEUS_INSECURE_SKIP_VERIFY": ("yes", "not true or false"),
    "PROMETHEUS_RULE_LABELS": ("release", "use k=v,..."),
    "WEBHOOK_HEADERS": ("no colon here", "use the form 'Name: value'"),
    "PROMETHEUS_URL": ("prometheus:9090", "is not an http(s) URL"),
    "GRAFANA_URL": ("grafana", "is not an http(s) URL"),
    "INTAKE_PORT": ("http", "use a number from 1 to 65535"),
    "INTAKE_MAX_BODY_BYTES": ("1MB", "a size in bytes of at least 1024"),
    "INTAKE_CONCURRENCY": ("0", "a number from 1 to 256"),
    "INTAKE_REPLAY_WINDOW": ("five minutes", "use a duration such as 10s"),
}


def settings(argv: tuple[str, ...] = ()) -> OperatorSettings:
    return settings_from(build_parser().parse_args(["run", *argv]))


@pytest.mark.parametrize("variable", list(BAD_VALUES))
def test_a_bad_variable_is_refused_in_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    value, advice = BAD_VALUES[variable]
    monkeypatch.setenv(f"SLOGATE_{variable}", value)
    with pytest.raises(SystemExit) as refused:
        settings()
    message = str(refused.value.code)
    assert message.startswith(f"slogate run: SLOGATE_{variable}={value!r}: ")
    assert advice in message
    assert "\n" not in message


def test_bad_variables_do_not_touch_the_other_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for variable, (value, _) in BAD_VALUES.items():
        monkeypatch.setenv(f"SLOGATE_{variable}", value)
    with pytest.raises(SystemExit) as shown:
        main(["status", "--help"])
    assert shown.value.code == 0
    assert "usage: slogate status" in capsys.readouterr().out


def test_a_flag_wins_over_its_variable_and_is_not_checked_against_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOGATE_METRICS_PORT", "abc")
    monkeypatch.setenv("SLOGATE_EVALUATION_INTERVAL", "5s")
    chosen = settings(("--metrics-port", "9999"))
    assert chosen.metrics_port == 9999
    assert chosen.evaluation_interval == timedelta(seconds=5)


def test_good_variables_are_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "ADMISSION": "off",
        "LOG_FORMAT": "json",
        "ON_PROMETHEUS_UNAVAILABLE": "Proceed",
        "NAMESPACES": "shop, payments",
        "PROMETHEUS_INSECURE_SKIP_VERIFY": "True",
    }.items():
        monkeypatch.setenv(f"SLOGATE_{name}", value)
    chosen = settings(("-n", "search"))
    assert chosen.admission.choice is AdmissionChoice.OFF
    assert chosen.log_format is LogFormat.JSON
    assert chosen.outage_policy is NoDataPolicy.PROCEED
    assert chosen.namespaces == ("shop", "payments", "search")
    assert chosen.prometheus.insecure_skip_verify


def test_defaults_stand_without_variables() -> None:
    chosen = settings()
    assert chosen.evaluation_interval == timedelta(seconds=1)
    assert chosen.metrics_port == 9464
    assert chosen.admission.choice is AdmissionChoice.AUTO
    assert chosen.namespaces == ()


def test_the_incident_intake_is_off_unless_a_port_is_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert settings().intake is None
    secrets = tmp_path / "pagerduty-secrets"
    secrets.write_text("one\ntwo\n")
    monkeypatch.setenv("SLOGATE_INTAKE_PORT", "9095")
    monkeypatch.setenv("SLOGATE_INTAKE_PAGERDUTY_SECRET_FILE", str(secrets))
    monkeypatch.setenv("SLOGATE_INTAKE_REPLAY_WINDOW", "2m")
    intake = settings(("--intake-concurrency=4",)).intake
    assert intake is not None
    assert (intake.port, intake.concurrency, intake.replay_window) == (9095, 4, timedelta(minutes=2))
    assert intake.pagerduty_secret_file == secrets


def test_intake_files_without_an_intake_port_are_refused() -> None:
    with pytest.raises(SystemExit, match="--intake-pagerduty-secret-file need --intake-port"):
        settings(("--intake-pagerduty-secret-file=/s",))


def test_a_bad_intake_mapping_or_secret_file_stops_the_start_in_one_line(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("services:\n  checkout: {namespace: shop, team: payments}\n")
    with pytest.raises(SystemExit) as refused:
        settings(("--intake-port=9095", f"--intake-mapping-file={mapping}"))
    assert "--intake-mapping-file" in str(refused.value.code)
    assert "services.checkout.team" in str(refused.value.code)
    secrets = tmp_path / "incidentio"
    secrets.write_text("whsec_%%%\n")
    with pytest.raises(SystemExit, match="the intake's credentials: a Svix signing secret is whsec_"):
        settings(("--intake-port=9095", f"--intake-incidentio-secret-file={secrets}"))
    mapping.write_text("services:\n  checkout: {namespace: shop, workload: checkout-api}\n")
    intake = settings(("--intake-port=9095", f"--intake-mapping-file={mapping}")).intake
    assert intake is not None
    assert intake.mapping.services["checkout"].workload == "checkout-api"
