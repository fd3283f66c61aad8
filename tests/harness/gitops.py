"""A throwaway Git repository and an Argo CD Application syncing it, for GitOps end-to-end tests.

The tests change workloads only through commits, as a GitOps user does; Argo CD (the local
cluster's application-controller and repo-server) syncs them from ``file://`` URLs. After each
commit the Application is asked to refresh, so a test waits for the sync, not for the Git poll.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.cluster import ROOT, Cluster
from harness.kube import get

ARGOCD_NAMESPACE = "argocd"
HEALTH_PATCH = ROOT / "deploy" / "argocd" / "argocd-cm-patch.yaml"


def argocd_installed(cluster: Cluster) -> bool:
    found = cluster.kubectl("get", "crd", "applications.argoproj.io", check=False)
    return found.returncode == 0


def install_health_checks(cluster: Cluster) -> None:
    """Load slogate's health Lua into Argo CD the way docs/argocd.md tells users to."""
    cluster.kubectl(
        "-n", ARGOCD_NAMESPACE, "patch", "configmap", "argocd-cm", "--type", "merge",
        "--patch-file", str(HEALTH_PATCH),
    )  # fmt: skip


@dataclass
class GitRepo:
    """A local repository whose ``main`` branch holds one manifest file per object."""

    path: Path

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._git("init", "--quiet", "--initial-branch=main")

    def _git(self, *args: str) -> str:
        identity = ("-c", "user.name=slogate tests", "-c", "user.email=tests@slogate.dev")
        done = subprocess.run(
            ["git", *identity, *args], cwd=self.path, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    @property
    def url(self) -> str:
        return f"file://{self.path}"

    def commit(self, message: str, **files: dict[str, Any] | None) -> str:
        """Write (or, with None, delete) ``<name>.yaml`` per keyword and commit; the new revision."""
        for name, manifest in files.items():
            target = self.path / f"{name}.yaml"
            if manifest is None:
                target.unlink(missing_ok=True)
            else:
                target.write_text(yaml.safe_dump(manifest, sort_keys=False))
        self._git("add", "--all")
        self._git("commit", "--quiet", "--allow-empty", "-m", message)
        return self._git("rev-parse", "HEAD")


def application(
    name: str, repo: GitRepo, namespace: str, ignore_slogate_pause: bool = False
) -> dict[str, Any]:
    """An auto-syncing, self-healing Application of ``repo`` into ``namespace``; with
    ``ignore_slogate_pause``, the ignoreDifferences docs/argocd.md gives for Git that sets paused."""
    spec: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": repo.url, "targetRevision": "main", "path": "."},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": []},
    }
    if ignore_slogate_pause:
        snippet = yaml.safe_load(
            (ROOT / "deploy" / "argocd" / "application-ignore-slogate-pause.yaml").read_text()
        )
        spec["ignoreDifferences"] = snippet["spec"]["ignoreDifferences"]
        spec["syncPolicy"]["syncOptions"] = snippet["spec"]["syncPolicy"]["syncOptions"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": ARGOCD_NAMESPACE},
        "spec": spec,
    }


def refresh(cluster: Cluster, name: str) -> None:
    """Ask Argo CD to compare with Git now instead of at its next poll."""
    cluster.kubectl(
        "-n", ARGOCD_NAMESPACE, "annotate", "application", name,
        "argocd.argoproj.io/refresh=normal", "--overwrite",
    )  # fmt: skip


def app_status(cluster: Cluster, name: str) -> dict[str, Any]:
    status: dict[str, Any] = get(cluster, "application", name, ARGOCD_NAMESPACE).get("status") or {}
    return status


def synced_to(cluster: Cluster, name: str, revision: str) -> bool:
    """The Application compared Git at ``revision`` and the cluster matches it."""
    sync = app_status(cluster, name).get("sync") or {}
    return sync.get("status") == "Synced" and sync.get("revision") == revision


def resource_health(cluster: Cluster, name: str, kind: str, resource: str) -> dict[str, Any]:
    """The health Argo CD shows for one resource of the Application ({} until it has one)."""
    for entry in app_status(cluster, name).get("resources") or []:
        if entry.get("kind") == kind and entry.get("name") == resource:
            health: dict[str, Any] = entry.get("health") or {}
            return health
    return {}
