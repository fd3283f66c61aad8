"""GitOps end to end: Argo CD syncs slogate's resources and the workloads they govern from Git.

Everything a test changes goes through a commit to a throwaway repository that a real Argo CD
(application-controller and repo-server on the local cluster) syncs with auto-sync and self-heal,
next to the real Deployment and Argo Rollouts controllers and a real Prometheus. What is asserted
is what an Argo CD user sees: the Application's sync status, conditions and resource health.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import Cluster
from harness.gitops import (
    ARGOCD_NAMESPACE,
    GitRepo,
    app_status,
    application,
    argocd_installed,
    install_health_checks,
    refresh,
    resource_health,
    synced_to,
)
from harness.kube import apply, get, list_items, merge_patch
from harness.manifests import canary_rollout, deployment
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    pods_with_image,
    slogate_events,
    spec_paused,
    status_of,
)
from harness.operator import OperatorProcess
from harness.prometheus import Prometheus
from harness.slogate import freeze, gate, incident, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

SYNC_TIMEOUT = 60


@pytest.fixture(scope="session")
def argocd(slogate_crds: Cluster) -> Cluster:
    if not argocd_installed(slogate_crds):
        pytest.skip("this cluster runs no Argo CD; the local cluster (hack/cluster.sh up) does")
    install_health_checks(slogate_crds)
    return slogate_crds


@dataclass
class GitOps:
    """One test's repository and the Application syncing it into the test's namespace."""

    cluster: Cluster
    repo: GitRepo
    app: str
    namespace: str

    def start(self, ignore_slogate_pause: bool = False) -> None:
        apply(
            self.cluster,
            application(self.app, self.repo, self.namespace, ignore_slogate_pause),
            ARGOCD_NAMESPACE,
        )

    def push(self, message: str, **files: dict[str, Any] | None) -> str:
        """Commit, have Argo CD look at Git at once, and return the revision."""
        revision = self.repo.commit(message, **files)
        refresh(self.cluster, self.app)
        return revision

    def sync(self, message: str, **files: dict[str, Any] | None) -> str:
        """Commit and wait until Argo CD has synced that revision."""
        revision = self.push(message, **files)
        wait_until(
            lambda: synced_to(self.cluster, self.app, revision), SYNC_TIMEOUT, f"Argo CD to sync {message!r}"
        )
        return revision

    def health(self, kind: str, name: str) -> dict[str, Any]:
        return resource_health(self.cluster, self.app, kind, name)

    def wait_health(self, kind: str, name: str, status: str, timeout: float = 60) -> str:
        """Wait until Argo CD shows ``status`` for the resource; its health message."""
        seen: list[dict[str, Any]] = [{}]

        def shown() -> bool:
            seen[0] = self.health(kind, name)
            return seen[0].get("status") == status

        try:
            wait_until(shown, timeout, f"Argo CD to show {kind}/{name} {status}")
        except AssertionError as timeout_error:
            raise AssertionError(f"{timeout_error}; last shown: {seen[0]}") from None
        return str(seen[0].get("message", ""))


@pytest.fixture
def gitops(argocd: Cluster, namespace: str, tmp_path: Path) -> Iterator[GitOps]:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("empty")
    yield GitOps(argocd, repo, app=namespace, namespace=namespace)
    argocd.kubectl("-n", ARGOCD_NAMESPACE, "delete", "application", namespace, "--wait=false", check=False)


def wait_rolled_out(cluster: Cluster, namespace: str, name: str, image: str, what: str) -> None:
    """Wait for the Deployment to run ``image``; on a timeout, say who paused it and what slogate said."""
    try:
        wait_until(lambda: deployment_rolled_out(cluster, namespace, name, image), 90, what)
    except AssertionError as stuck:
        workload = get(cluster, "deployment", name, namespace)
        pausers = [
            entry.get("manager")
            for entry in workload["metadata"].get("managedFields", [])
            if "f:paused" in (entry.get("fieldsV1", {}).get("f:spec") or {})
        ]
        events = [(event["reason"], event["message"]) for event in slogate_events(cluster, namespace, name)]
        raise AssertionError(
            f"{stuck}; paused={workload['spec'].get('paused')} by {pausers} status={workload.get('status')} "
            f"annotations={workload['metadata'].get('annotations')} events={events}"
        ) from None


def image_of(cluster: Cluster, kind: str, name: str, namespace: str) -> str:
    image: str = get(cluster, kind, name, namespace)["spec"]["template"]["spec"]["containers"][0]["image"]
    return image


def test_slogate_resources_from_git_take_effect_and_show_their_health(
    gitops: GitOps, prometheus: Prometheus, operator: OperatorProcess
) -> None:
    cluster, namespace, service = gitops.cluster, gitops.namespace, f"web-{gitops.namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    gitops.start()
    gitops.sync(
        "web and its SLO",
        web=deployment("web", "registry.example/web:1"),
        slo=slo("web-availability", service, app="web"),
        gate=gate("web", app="web"),
    )
    assert gitops.wait_health("ServiceLevelObjective", "web-availability", "Healthy").startswith("SLI 100%")
    assert gitops.wait_health("ReleaseGate", "web", "Healthy") == "1 workload(s) may proceed"
    gitops.wait_health("Deployment", "web", "Healthy")

    gitops.sync(
        "freeze for the migration, and an incident",
        freeze=freeze("migration"),
        incident=incident("web-errors", app="web", severity="P1"),
    )
    message = gitops.wait_health("ChangeFreeze", "migration", "Suspended")
    assert message.startswith("change freeze in force: Database migration (until ")
    assert "holding Deployment/web" in gitops.wait_health("ChangeFreeze", "migration", "Suspended", 30)
    assert gitops.wait_health("Incident", "web-errors", "Degraded").startswith(
        "P1 Detected: web returns errors"
    )
    held = gitops.wait_health("ReleaseGate", "web", "Suspended")
    assert held.startswith("holding Deployment/web: ")
    assert "ChangeFreeze/migration" in held or "Database migration" in held
    gitops.wait_health("Deployment", "web", "Suspended")
    assert spec_paused(cluster, "deployment", "web", namespace)
    assert app_status(cluster, gitops.app)["sync"]["status"] == "Synced"

    martian = freeze("lunch", reason="Lunch")
    martian["spec"]["timeZone"] = "Mars/Olympus"
    gitops.sync("a freeze in a time zone the API server cannot check", lunch=martian)
    message = gitops.wait_health("ChangeFreeze", "lunch", "Degraded")
    assert message.startswith("invalid: ")
    assert "Mars/Olympus" in message

    resolved = incident("web-errors", app="web", severity="P1", state="Resolved")
    gitops.sync("the incident is resolved", incident=resolved)
    assert gitops.wait_health("Incident", "web-errors", "Healthy").startswith(
        "P1 Resolved: web returns errors"
    )

    too_long = slo("checkout-availability", service, app="checkout")
    too_long["spec"]["policies"][0]["longWindow"] = "2h"
    gitops.push("an SLO the API server refuses", bad=too_long)
    # Argo CD reports a failed (and retried) sync in the operation state, which its UI shows as
    # the last sync result; the Application stays OutOfSync.
    wait_until(
        lambda: (
            "every policy's longWindow must be no longer than window"
            in (app_status(cluster, gitops.app).get("operationState") or {}).get("message", "")
        ),
        SYNC_TIMEOUT,
        "the failed sync to show the API server's message on the Application",
    )
    assert app_status(cluster, gitops.app)["sync"]["status"] == "OutOfSync"
    gitops.sync("drop the refused SLO", bad=None)
    prometheus.exporter.stop_traffic(service)


@pytest.mark.parametrize(
    "git_sets_paused", [False, True], ids=["git-leaves-paused-unset", "git-sets-paused-false"]
)
def test_a_commit_during_a_freeze_waits_in_the_cluster_and_rolls_out_when_git_ends_the_freeze(
    gitops: GitOps, operator: OperatorProcess, git_sets_paused: bool
) -> None:
    cluster, namespace = gitops.cluster, gitops.namespace

    def web(image: str) -> dict[str, Any]:
        manifest = deployment("web", image)
        if git_sets_paused:
            manifest["spec"]["paused"] = False
        return manifest

    gitops.start(ignore_slogate_pause=git_sets_paused)
    gitops.sync("web 1", web=web("registry.example/web:1"))
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "web", "registry.example/web:1"), 60, "web:1"
    )

    gitops.sync("freeze", freeze=freeze("migration"))
    wait_until(lambda: spec_paused(cluster, "deployment", "web", namespace), 30, "the freeze to hold web")
    gitops.wait_health("Deployment", "web", "Suspended")
    time.sleep(25)  # more than two self-heal and resync periods of the local Argo CD
    assert spec_paused(cluster, "deployment", "web", namespace), "self-heal lifted slogate's hold"
    assert app_status(cluster, gitops.app)["sync"]["status"] == "Synced"

    gitops.sync("web 2, during the freeze", web=web("registry.example/web:2"))
    wait_until(
        lambda: image_of(cluster, "deployment", "web", namespace) == "registry.example/web:2",
        30,
        "Argo CD to apply web:2",
    )
    time.sleep(5)  # what the Deployment controller would do with it, it has done by now
    assert spec_paused(cluster, "deployment", "web", namespace)
    assert pods_with_image(cluster, namespace, "web", "registry.example/web:2") == []
    assert app_status(cluster, gitops.app)["sync"]["status"] == "Synced"
    assert gitops.health("Deployment", "web")["status"] == "Suspended"
    assert (
        "Database migration" in annotations_of(cluster, "deployment", "web", namespace)["slogate.dev/reason"]
    )

    gitops.sync("the migration is over", freeze=None)
    wait_rolled_out(
        cluster, namespace, "web", "registry.example/web:2", "web:2 to roll out once Git ends the freeze"
    )
    gitops.wait_health("Deployment", "web", "Healthy")
    wait_until(
        lambda: (app_status(cluster, gitops.app).get("health") or {}).get("status") == "Healthy",
        30,
        "the Application to be Healthy",
    )
    assert app_status(cluster, gitops.app)["sync"]["status"] == "Synced"


def test_a_canary_from_git_that_burns_is_aborted_and_stays_aborted_across_syncs(
    gitops: GitOps, prometheus: Prometheus, operator: OperatorProcess
) -> None:
    cluster, namespace, service = gitops.cluster, gitops.namespace, f"shop-{gitops.namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    gitops.start()
    gitops.sync(
        "shop 1 with its SLO and a rollback gate",
        shop=canary_rollout("shop", "registry.example/shop:1"),
        slo=slo("shop-availability", service, app="shop"),
        gate=gate("shop", app="shop", during_rollout="Rollback"),
    )
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("phase") == "Healthy", 120, "shop:1"
    )

    revision = gitops.sync("shop 2", shop=canary_rollout("shop", "registry.example/shop:2"))
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("currentStepIndex") == 1,
        60,
        "the canary to reach its pause step",
    )
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.3)
    wait_until(lambda: status_of(cluster, "rollout", "shop", namespace).get("abort") is True, 30, "the abort")
    message = gitops.wait_health("Rollout", "shop", "Degraded")
    assert "abort" in message.lower()
    wait_until(
        lambda: not pods_with_image(cluster, namespace, "shop", "registry.example/shop:2"),
        60,
        "the canary pods to be scaled down",
    )

    time.sleep(25)  # more than two resync periods: a re-sync would have restarted the canary
    assert status_of(cluster, "rollout", "shop", namespace).get("abort") is True
    assert pods_with_image(cluster, namespace, "shop", "registry.example/shop:2") == []
    assert synced_to(cluster, gitops.app, revision)
    assert gitops.health("Rollout", "shop")["status"] == "Degraded"
    assert (app_status(cluster, gitops.app).get("health") or {}).get("status") == "Degraded"
    prometheus.exporter.stop_traffic(service)


def revisions(cluster: Cluster, namespace: str, app: str) -> set[str]:
    return {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
        for rs in list_items(cluster, "replicasets", namespace, f"app={app}")
    }


def test_a_synced_deployment_under_a_rollback_gate_is_held_with_rollback_left_to_git(
    gitops: GitOps, prometheus: Prometheus, operator: OperatorProcess
) -> None:
    cluster, namespace, service = gitops.cluster, gitops.namespace, f"cart-{gitops.namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    cart_1 = deployment("cart", "registry.example/cart:1")
    gitops.start()
    gitops.sync(
        "cart 1 with its SLO and a rollback gate",
        cart=cart_1,
        slo=slo("cart-availability", service, app="cart"),
        gate=gate("cart", app="cart", during_rollout="Rollback"),
    )
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "cart", "registry.example/cart:1"), 60, "cart:1"
    )

    # New pods count as available only after a minute, so the rollout stays in progress.
    cart_2 = deployment("cart", "registry.example/cart:2")
    cart_2["spec"]["minReadySeconds"] = 60
    cart_2["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    gitops.sync("cart 2", cart=cart_2)
    wait_until(
        lambda: pods_with_image(cluster, namespace, "cart", "registry.example/cart:2"), 30, "cart:2 to start"
    )
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.3)
    wait_until(lambda: spec_paused(cluster, "deployment", "cart", namespace), 30, "slogate to hold cart")

    seen: set[str] = set()
    images: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen |= revisions(cluster, namespace, "cart")
        images.add(image_of(cluster, "deployment", "cart", namespace))
        assert spec_paused(cluster, "deployment", "cart", namespace), "the hold was lifted"
        time.sleep(2)
    assert seen == {"1", "2"}, f"the Deployment moved between revisions: {sorted(seen)}"
    assert images == {"registry.example/cart:2"}

    marked = annotations_of(cluster, "deployment", "cart", namespace)
    # Rollback while the rollout counts as in progress, Hold once it no longer does: held either way.
    assert marked["slogate.dev/decision"] in {"Rollback", "Hold"}
    assert marked["slogate.dev/held"] == "true"
    assert "roll back in Git" in marked["slogate.dev/action-required"]
    held_events = [event for event in slogate_events(cluster, namespace, "cart") if event["reason"] == "Held"]
    assert len(held_events) == 1
    assert "roll back in Git" in held_events[0]["message"]
    assert "RolledBack" not in {event["reason"] for event in slogate_events(cluster, namespace, "cart")}
    assert app_status(cluster, gitops.app)["sync"]["status"] == "Synced"
    assert gitops.health("Deployment", "cart")["status"] == "Suspended"

    # The rollback, made where it belongs: Git, while the burn goes on. It must roll out: holding
    # it would keep cart:2's pods, and the errors they cause, forever.
    gitops.sync("Revert cart 2", cart=cart_1)
    wait_rolled_out(
        cluster, namespace, "cart", "registry.example/cart:1", "the rollback made in Git to roll out"
    )
    released = annotations_of(cluster, "deployment", "cart", namespace)
    assert "slogate.dev/action-required" not in released
    assert "slogate.dev/rolled-back-to" in released
    gitops.wait_health("Deployment", "cart", "Healthy")
    time.sleep(6)  # three evaluation cycles, still burning: the restored revision is not held again
    assert not spec_paused(cluster, "deployment", "cart", namespace)
    prometheus.exporter.stop_traffic(service)


def test_the_pause_argo_cd_writes_back_after_a_release_is_released_once(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    """The race behind a sync that ends a freeze while Git sets ``paused: false`` and the
    Application respects the ignored ``/spec/paused``: the sync read the live ``paused: true``
    while slogate held, and applies it after slogate released. Here that write is made exactly as
    Argo CD makes it (a write of ``spec.paused`` under its field manager), at a chosen moment."""
    cluster = slogate_crds
    synced = deployment("web", "registry.example/web:1")
    synced["metadata"]["annotations"] = {
        "argocd.argoproj.io/tracking-id": f"{namespace}:apps/Deployment:{namespace}/web"
    }
    apply(cluster, synced, namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "web", "registry.example/web:1"), 60, "web:1"
    )
    apply(cluster, freeze("migration"), namespace)
    wait_until(lambda: spec_paused(cluster, "deployment", "web", namespace), 30, "the freeze to hold web")
    web_2 = {"containers": [{"name": "app", "image": "registry.example/web:2"}]}
    merge_patch(cluster, "deployment", "web", namespace, {"spec": {"template": {"spec": web_2}}})
    cluster.kubectl("delete", "sgfreeze", "migration", "-n", namespace)
    wait_until(lambda: not spec_paused(cluster, "deployment", "web", namespace), 30, "slogate to release web")
    assert "slogate.dev/released-at" in annotations_of(cluster, "deployment", "web", namespace)

    def argocd_writes_paused() -> None:
        paused = {"spec": {"paused": True}}
        merge_patch(cluster, "deployment", "web", namespace, paused, field_manager="argocd-controller")

    argocd_writes_paused()
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "web", "registry.example/web:2"),
        90,
        "slogate to release the written-back pause and web:2 to roll out",
    )
    released = [
        event["message"]
        for event in slogate_events(cluster, namespace, "web")
        if event["reason"] == "Released"
    ]
    assert any("Argo CD wrote back the pause slogate had lifted" in message for message in released), released
    assert "slogate.dev/released-at" not in annotations_of(cluster, "deployment", "web", namespace)

    # Written back a second time, it is Argo CD's own pause (Git declares it): left alone.
    argocd_writes_paused()
    time.sleep(6)  # three evaluation cycles
    assert spec_paused(cluster, "deployment", "web", namespace)
