"""``--admission-helm-release``: the Helm release whose ``helm install`` adopts the admission policy
and binding the operator installs itself, and the ownership metadata Helm checks for."""

from __future__ import annotations

import pytest

from slogate.api.admission import (
    LABELS,
    adoptable_by_helm,
    mutating_admission_policy,
    mutating_admission_policy_binding,
)
from slogate.cli import build_parser, settings_from


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLOGATE_PROMETHEUS_URL", "http://p:9090")
    monkeypatch.delenv("SLOGATE_ADMISSION_HELM_RELEASE", raising=False)


def helm_release(*argv: str) -> tuple[str, str] | None:
    return settings_from(build_parser().parse_args(["run", *argv])).admission.helm_release


def test_by_default_the_release_of_the_readme_install_may_adopt() -> None:
    assert helm_release() == ("slogate-system", "slogate")


def test_the_flag_and_the_variable_name_another_release(monkeypatch: pytest.MonkeyPatch) -> None:
    assert helm_release("--admission-helm-release=ops/gate") == ("ops", "gate")
    monkeypatch.setenv("SLOGATE_ADMISSION_HELM_RELEASE", "platform/slogate")
    assert helm_release() == ("platform", "slogate")


def test_none_installs_without_helm_metadata() -> None:
    assert helm_release("--admission-helm-release=none") is None


@pytest.mark.parametrize("release", ["slogate", "ops/", "/slogate", "a/b/c"])
def test_a_release_that_is_not_namespace_slash_name_is_refused(release: str) -> None:
    with pytest.raises(SystemExit, match="--admission-helm-release must be NAMESPACE/NAME"):
        helm_release(f"--admission-helm-release={release}")


@pytest.mark.parametrize("manifest", [mutating_admission_policy(), mutating_admission_policy_binding()])
def test_the_ownership_metadata_helm_checks_is_added_to_slogates_own(manifest: dict[str, object]) -> None:
    adopted = adoptable_by_helm(manifest, "ops", "gate")
    metadata = adopted["metadata"]
    assert metadata["labels"] == {**LABELS, "app.kubernetes.io/managed-by": "Helm"}
    assert metadata["annotations"] == {
        "meta.helm.sh/release-name": "gate",
        "meta.helm.sh/release-namespace": "ops",
    }
    assert adopted["spec"] == manifest["spec"]
    assert metadata["name"] == "slogate-hold"
