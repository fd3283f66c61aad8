"""The operator image as ``make image`` builds it, unpacked and run by runc as the chart's pod runs:
the image's user, entrypoint and environment, a read-only root filesystem with an emptyDir-like
/tmp, no capabilities, no new privileges. The host's network, so it reaches the local API server
and Prometheus on 127.0.0.1 as a pod reaches them through its Service."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.cluster import ROOT

BUILD = ROOT / "hack" / "build_image.py"


def container_runtime_missing(*tools: str) -> str | None:
    """Why this machine cannot build or run the image (with ``tools`` too), or None when it can."""
    if os.geteuid() != 0:
        return "building the image (debootstrap, chroot) and running it (runc) need root"
    for tool in ("runc", "debootstrap", "unshare", *tools):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is missing; `make deps` installs it from Debian"
    return None


@dataclass(frozen=True)
class Image:
    archive: Path
    reference: str
    digest: str

    def _blob(self, digest: str) -> bytes:
        with tarfile.open(self.archive) as archive:
            member = archive.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}")
            assert member is not None, digest
            return member.read()

    def index(self) -> dict[str, Any]:
        with tarfile.open(self.archive) as archive:
            member = archive.extractfile("index.json")
            assert member is not None
            found: dict[str, Any] = json.loads(member.read())
            return found

    def manifest(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self._blob(self.digest))
        return found

    def config(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self._blob(self.manifest()["config"]["digest"]))
        return found

    def unpack(self, rootfs: Path) -> None:
        """The layers extracted in order into ``rootfs``, owners kept as numbers."""
        rootfs.mkdir(parents=True)
        for layer in self.manifest()["layers"]:
            blob = rootfs.parent / "layer.tar.gz"
            blob.write_bytes(self._blob(layer["digest"]))
            subprocess.run(["tar", "-xzf", str(blob), "-C", str(rootfs), "--numeric-owner"], check=True)
            blob.unlink()


def build_image(output: Path) -> Image:
    """``hack/build_image.py`` as ``make image`` runs it (the Debian base cached by version)."""
    built = subprocess.run(
        [sys.executable, str(BUILD), "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:] + built.stdout[-2000:]
    printed = dict(line.split(": ", 1) for line in built.stdout.splitlines() if ": " in line)
    return Image(archive=Path(printed["archive"]), reference=printed["reference"], digest=printed["digest"])


def dockerfile_settings() -> dict[str, Any]:
    """What the Dockerfile's last stage says (USER, ENTRYPOINT, ...), as the build reads it."""
    printed = subprocess.run(
        [sys.executable, str(BUILD), "--print-config"], capture_output=True, text=True, check=True
    )
    found: dict[str, Any] = json.loads(printed.stdout)
    return found


@dataclass(frozen=True)
class Unpacked:
    """An image and the root filesystem its layers were extracted into."""

    image: Image
    rootfs: Path


@dataclass
class Container:
    id: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _runc_config(
    bundle: Path, unpacked: Unpacked, args: Sequence[str], env: Mapping[str, str], mounts: Mapping[Path, str]
) -> dict[str, Any]:
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
    spec: dict[str, Any] = json.loads((bundle / "config.json").read_text())
    settings = unpacked.image.config()["config"]
    uid, _, gid = settings["User"].partition(":")
    spec["root"] = {"path": str(unpacked.rootfs), "readonly": True}
    process = spec["process"]
    process.update(
        terminal=False,
        args=list(args),
        cwd=settings.get("WorkingDir") or "/",
        env=[*settings["Env"], *(f"{key}={value}" for key, value in env.items())],
        user={"uid": int(uid), "gid": int(gid)},
        noNewPrivileges=True,
        capabilities={kind: [] for kind in ("bounding", "effective", "inheritable", "permitted", "ambient")},
    )
    spec["mounts"].append(
        {
            "destination": "/tmp",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "nodev", "size=64m"],
        }
    )
    for source, destination in mounts.items():
        spec["mounts"].append(
            {"destination": destination, "type": "bind", "source": str(source), "options": ["rbind", "ro"]}
        )
    linux = spec["linux"]
    linux["namespaces"] = [space for space in linux["namespaces"] if space["type"] != "network"]
    return spec


@contextmanager
def container(
    unpacked: Unpacked,
    workdir: Path,
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    mounts: Mapping[Path, str] | None = None,
) -> Iterator[Container]:
    """The image's process running (detached) in runc over its unpacked root; killed and
    deleted afterwards. Its stdout and stderr go to a log in ``workdir``."""
    name = f"slogate-test-{uuid.uuid4().hex[:8]}"
    bundle = workdir / name
    bundle.mkdir(parents=True)
    spec = _runc_config(bundle, unpacked, args, env or {}, mounts or {})
    (bundle / "config.json").write_text(json.dumps(spec))
    log = workdir / f"{name}.log"
    with log.open("wb") as sink:
        subprocess.run(
            ["runc", "run", "--detach", "--bundle", str(bundle), name],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=sink,
            check=True,
            timeout=60,
        )
    try:
        yield Container(id=name, log=log)
    finally:
        subprocess.run(["runc", "kill", name, "KILL"], capture_output=True, check=False)
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)


def run_to_completion(
    unpacked: Unpacked, workdir: Path, args: Sequence[str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The image's process run in the foreground to its exit, its output captured."""
    name = f"slogate-test-{uuid.uuid4().hex[:8]}"
    bundle = workdir / name
    bundle.mkdir(parents=True)
    (bundle / "config.json").write_text(json.dumps(_runc_config(bundle, unpacked, args, {}, {})))
    try:
        return subprocess.run(
            ["runc", "run", "--bundle", str(bundle), name],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)
