#!/usr/bin/env python3
"""Regenerate the Go wrapper modules under hack/gomod/ from the pinned versions.

Upstream modules such as k8s.io/kubernetes, etcd's server, Argo Rollouts and Argo CD carry
replace directives, so `go install module@version` refuses them. A wrapper module
requires the upstream module and copies its replace directives, turning local
ones (k8s staging directories, etcd's sibling modules) into the published
versions. The generated go.mod/go.sum are committed; this script only runs when
a version in hack/versions.env changes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HACK = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Wrapper:
    name: str
    module: str
    version_key: str
    programs: tuple[str, ...]

    def local_replacement_version(self, version: str, path: str) -> str | None:
        """The published version that stands in for a local replace, or None to drop it."""
        if self.module == "k8s.io/kubernetes" and path.startswith("k8s.io/"):
            return "v0." + version.removeprefix("v1.")
        major = version.split(".", maxsplit=1)[0]
        if major in ("v0", "v1") or path.endswith("/" + major):
            return version
        # e.g. etcd's root module go.etcd.io/etcd, which has no v3 path and no build role here.
        return None


WRAPPERS = (
    Wrapper(
        "kubernetes",
        "k8s.io/kubernetes",
        "KUBERNETES_VERSION",
        (
            "k8s.io/kubernetes/cmd/kube-apiserver",
            "k8s.io/kubernetes/cmd/kube-controller-manager",
            "k8s.io/kubernetes/cmd/kube-scheduler",
            "k8s.io/kubernetes/cmd/kubectl",
        ),
    ),
    Wrapper("etcd", "go.etcd.io/etcd/server/v3", "ETCD_VERSION", ("go.etcd.io/etcd/server/v3",)),
    Wrapper(
        "argo-rollouts",
        "github.com/argoproj/argo-rollouts",
        "ARGO_ROLLOUTS_VERSION",
        ("github.com/argoproj/argo-rollouts/cmd/rollouts-controller",),
    ),
    # One multi-call binary: cmd/main.go picks the component from the name it runs as.
    Wrapper(
        "argo-cd",
        "github.com/argoproj/argo-cd/v3",
        "ARGO_CD_VERSION",
        ("github.com/argoproj/argo-cd/v3/cmd",),
    ),
)


def read_versions() -> dict[str, str]:
    versions = {}
    for line in (HACK / "versions.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def go(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["go", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"go {' '.join(args)} failed in {cwd}:\n{result.stderr}")
    return result.stdout


def upstream_gomod(module: str, version: str) -> tuple[dict[str, Any], str]:
    info = json.loads(go("mod", "download", "-json", f"{module}@{version}", cwd=HACK))
    if info.get("Error"):
        sys.exit(f"cannot download {module}@{version}: {info['Error']}")
    raw = Path(info["GoMod"]).read_text()
    return json.loads(go("mod", "edit", "-json", info["GoMod"], cwd=HACK)), raw


def godebug_lines(raw: str) -> list[str]:
    return [line for line in raw.splitlines() if line.startswith("godebug ")]


def render(wrapper: Wrapper, version: str) -> str:
    upstream, raw = upstream_gomod(wrapper.module, version)
    lines = [f"module slogate.dev/hack/{wrapper.name}", "", f"go {upstream['Go']}", ""]
    lines += godebug_lines(raw)
    lines += ["", f"require {wrapper.module} {version}", "", "replace ("]
    for rep in upstream.get("Replace") or []:
        old, new = rep["Old"], rep["New"]
        old_spec = old["Path"] + (f" {old['Version']}" if old.get("Version") else "")
        if new["Path"].startswith("."):
            published = wrapper.local_replacement_version(version, old["Path"])
            if published is None:
                continue
            target = f"{old['Path']} {published}"
        else:
            target = new["Path"] + (f" {new['Version']}" if new.get("Version") else "")
        lines.append(f"\t{old_spec} => {target}")
    lines += [")", ""]
    return "\n".join(lines)


def render_tools(wrapper: Wrapper) -> str:
    imports = "\n".join(f'\t_ "{program}"' for program in wrapper.programs)
    return (
        "//go:build tools\n\n"
        "// Package tools pins the programs this wrapper module builds.\n"
        f"package tools\n\nimport (\n{imports}\n)\n"
    )


def main(names: list[str]) -> None:
    versions = read_versions()
    for wrapper in WRAPPERS:
        if names and wrapper.name not in names:
            continue
        target = HACK / "gomod" / wrapper.name
        target.mkdir(parents=True, exist_ok=True)
        (target / "go.mod").write_text(render(wrapper, versions[wrapper.version_key]))
        (target / "tools.go").write_text(render_tools(wrapper))
        (target / "go.sum").unlink(missing_ok=True)
        go("mod", "tidy", cwd=target)
        print(f"wrote {target}/go.mod and go.sum")


if __name__ == "__main__":
    main(sys.argv[1:])
