"""The recording-rule flags and their SLOGATE_* variables, as settings and as what reconcile gets."""

from __future__ import annotations

import pytest

from slogate.cli import build_parser, settings_from
from slogate.runtime import rule_delivery_settings
from slogate.settings import OperatorSettings, PrometheusRulesChoice, RecordingRules

VARIABLES = ("PROMETHEUS_RULES", "PROMETHEUS_RULE_LABELS", "RULES_CONFIGMAP")


def settings(monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str]) -> OperatorSettings:
    for name in VARIABLES:
        monkeypatch.delenv(f"SLOGATE_{name}", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(f"SLOGATE_{name}", value)
    return settings_from(build_parser().parse_args(["run", "--prometheus-url", "http://prom:9090", *argv]))


def test_the_defaults_write_prometheus_rules_where_served_and_no_config_map(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = settings(monkeypatch, [], {}).recording_rules
    assert rules == RecordingRules()
    delivered = rule_delivery_settings(rules)
    assert (delivered.prometheus_rules, delivered.config_map) == (None, None)


def test_flags_set_the_choice_labels_and_config_map(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = [
        "--prometheus-rules=on",
        "--prometheus-rule-labels",
        "release=prometheus, team=sre",
        "--rules-configmap=monitoring/slogate-rules",
    ]
    rules = settings(monkeypatch, argv, {}).recording_rules
    assert rules == RecordingRules(
        PrometheusRulesChoice.ON,
        (("release", "prometheus"), ("team", "sre")),
        ("monitoring", "slogate-rules"),
    )
    delivered = rule_delivery_settings(rules)
    assert delivered.prometheus_rules is True
    assert delivered.prometheus_rule_labels == {"release": "prometheus", "team": "sre"}


def test_the_environment_sets_them_too(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"PROMETHEUS_RULES": "off", "PROMETHEUS_RULE_LABELS": "release=kps", "RULES_CONFIGMAP": "mon/rules"}
    rules = settings(monkeypatch, [], env).recording_rules
    assert rules == RecordingRules(PrometheusRulesChoice.OFF, (("release", "kps"),), ("mon", "rules"))
    assert rule_delivery_settings(rules).prometheus_rules is False


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--rules-configmap=just-a-name"], {}, "--rules-configmap must be NAMESPACE/NAME"),
        ([], {"RULES_CONFIGMAP": "a/b/c"}, "--rules-configmap must be NAMESPACE/NAME"),
    ],
)
def test_a_bad_config_map_is_refused(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: dict[str, str], message: str
) -> None:
    with pytest.raises(SystemExit, match=message):
        settings(monkeypatch, argv, env)


@pytest.mark.parametrize("labels", ["release", "=prometheus"])
def test_bad_labels_are_refused_with_the_form_to_use(monkeypatch: pytest.MonkeyPatch, labels: str) -> None:
    with pytest.raises(SystemExit, match=r"SLOGATE_PROMETHEUS_RULE_LABELS=.*use k=v,\.\.\."):
        settings(monkeypatch, [], {"PROMETHEUS_RULE_LABELS": labels})
