#!/usr/bin/env python3
"""`make image`: the operator image as an OCI archive, built without a container engine or registry.

Two layers, as the Dockerfile's runtime stage has them in spirit:

1. a Debian root filesystem (debootstrap minbase with python3 and python3-venv, ca-certificates,
   netbase), with the image's user added and what a build leaves behind removed (apt lists and
   archives, logs, /dev nodes, man pages and docs but the copyright files). It is cached under
   $SLOGATE_CACHE/image-base-<suite>-<key>, keyed by the suite, the packages and this recipe, so
   only the first build on a machine runs debootstrap;
2. a virtualenv /opt/slogate with slogate's wheel and the wheels of image/requirements.txt, each
   checked against its pinned hash, installed by the base's own python3 in a chroot and compiled
   to hash-checked .pyc files (no timestamps in them).

The user, entrypoint, command, environment, exposed ports and labels are read from the Dockerfile's
last stage, so the two recipes cannot drift. Every file is written to the layers with its
modification time clamped to the commit's time (SOURCE_DATE_EPOCH), owners as numbers, entries
sorted, gzip without a name or time: two builds of one commit on one base give the same digest.
The base itself is the Debian archive of the day it was made: a new point release changes it.

Prints the archive's path, the image reference and the manifest's digest, the one the container
runtime reports after an import (`ctr images import`).
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
REQUIREMENTS = ROOT / "image" / "requirements.txt"
CACHE = Path(os.environ.get("SLOGATE_CACHE") or Path.home() / ".cache" / "slogate")

DEBIAN_SUITE = "bookworm"
DEBIAN_MIRROR = os.environ.get("SLOGATE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
PACKAGES = ("python3", "python3-venv", "ca-certificates", "netbase")
BASE_RECIPE = "2"
"""Bump when the base's preparation below changes: it is part of the cache key."""
USER_NAME = "slogate"
VENV = "/opt/slogate"
PATH = f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
REPOSITORY = "ghcr.io/slogate/slogate"

LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def info(message: str) -> None:
    print(f"[slogate] {message}", file=sys.stderr, flush=True)


@dataclass
class ImageConfig:
    """What the Dockerfile's last stage says the image runs as."""

    user: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    exposed_ports: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    result = []
    for entry in logical:
        instruction, _, arguments = entry.partition(" ")
        result.append((instruction.upper(), arguments.strip()))
    return result


def _pairs(arguments: str) -> dict[str, str]:
    """KEY=value pairs of ENV and LABEL (values may be quoted)."""
    pairs = {}
    for word in shlex.split(arguments):
        key, equals, value = word.partition("=")
        if not equals:
            raise SystemExit(
                f"build_image: {DOCKERFILE.name}: write ENV and LABEL as KEY=value, not {word!r}"
            )
        pairs[key] = value
    return pairs


def dockerfile_config(text: str) -> ImageConfig:
    """The runtime settings of the Dockerfile's last stage (the stage the image is)."""
    stages: list[list[tuple[str, str]]] = []
    for instruction, arguments in _instructions(text):
        if instruction == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((instruction, arguments))
    if not stages:
        raise SystemExit(f"build_image: {DOCKERFILE} has no FROM")
    config = ImageConfig()
    for instruction, arguments in stages[-1]:
        if instruction == "USER":
            config.user = arguments
        elif instruction in ("ENTRYPOINT", "CMD"):
            words = json.loads(arguments)
            if instruction == "ENTRYPOINT":
                config.entrypoint = words
            else:
                config.cmd = words
        elif instruction == "ENV":
            config.env.update(_pairs(arguments))
        elif instruction == "LABEL":
            config.labels.update(_pairs(arguments))
        elif instruction == "EXPOSE":
            config.exposed_ports += [port if "/" in port else f"{port}/tcp" for port in arguments.split()]
    return config


def run(*command: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, check=True, text=True, **kwargs)


def git(*args: str) -> str:
    return run("git", "-C", str(ROOT), *args, capture_output=True).stdout.strip()


# --- layer 1: the Debian base -------------------------------------------------------------------


def base_key(uid: int, gid: int) -> str:
    recipe = json.dumps([DEBIAN_SUITE, PACKAGES, BASE_RECIPE, USER_NAME, uid, gid])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def prepare_base(rootfs: Path, uid: int, gid: int, date: int) -> None:
    """Strip what a build leaves behind, and add the image's user (as the Dockerfile's useradd;
    the password's last change, in /etc/shadow, is dated ``date``)."""
    for pattern in (
        "var/cache/apt/*",
        "var/lib/apt/lists/*",
        "var/cache/debconf/*-old",
        "var/lib/dpkg/*-old",
        "var/cache/ldconfig/aux-cache",
        "dev/*",
        "usr/share/man/*",
        "usr/share/info/*",
        "usr/share/locale/*",
        "run/*",
        "tmp/*",
    ):
        for path in rootfs.glob(pattern):
            _remove(path)
    for path in (rootfs / "usr/share/doc").glob("*/*"):
        if path.name != "copyright":
            _remove(path)
    # Written by the container runtime at start; empty in the image, as in Debian's own images.
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "etc/hostname").write_text("")
    (rootfs / "etc/resolv.conf").unlink(missing_ok=True)
    dated = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SOURCE_DATE_EPOCH": str(date)}
    run("chroot", str(rootfs), "groupadd", "--gid", str(gid), USER_NAME, env=dated)
    run(
        "chroot",
        str(rootfs),
        "useradd",
        "--uid",
        str(uid),
        "--gid",
        str(gid),
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        USER_NAME,
        env=dated,
    )
    # useradd and dpkg log what they did; the image starts with empty logs.
    for log in (rootfs / "var/log").rglob("*"):
        if log.is_file():
            log.unlink()
    for backup in ("etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-"):
        (rootfs / backup).unlink(missing_ok=True)


def archive_date(rootfs: Path) -> int:
    """The Date of the suite's Release file debootstrap fetched: the time the base's files are
    clamped to, the same for every base made from one state of the archive."""
    for release in rootfs.glob("var/lib/apt/lists/*Release"):
        match = re.search(r"^Date: (.+)$", release.read_text(errors="replace"), re.M)
        if match:
            return int(email.utils.parsedate_to_datetime(match.group(1)).timestamp())
    raise SystemExit(f"build_image: debootstrap left no Release file with a Date in {rootfs}")


def base_rootfs(uid: int, gid: int) -> Path:
    """The cached base root filesystem, made by debootstrap on first use."""
    cached = CACHE / f"image-base-{DEBIAN_SUITE}-{base_key(uid, gid)}"
    if (cached / "rootfs").is_dir():
        return cached / "rootfs"
    if shutil.which("debootstrap") is None and not Path("/usr/sbin/debootstrap").exists():
        raise SystemExit("build_image: debootstrap is missing; 'make image' installs it from Debian")
    partial = cached.with_name(cached.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()
    info(f"debootstrap {DEBIAN_SUITE} minbase with {', '.join(PACKAGES)} (log: {partial}/debootstrap.log)")
    with (partial / "debootstrap.log").open("w") as log:
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                DEBIAN_SUITE,
                str(partial / "rootfs"),
                DEBIAN_MIRROR,
            ],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LC_ALL": "C"},
        )
    date = archive_date(partial / "rootfs")
    (partial / "archive-date").write_text(str(date))
    prepare_base(partial / "rootfs", uid, gid, date)
    packages = run(
        "chroot",
        str(partial / "rootfs"),
        "dpkg-query",
        "-W",
        "-f",
        "${Package} ${Version}\\n",
        capture_output=True,
    ).stdout
    (partial / "packages.txt").write_text(packages)
    partial.rename(cached)
    info(f"base root filesystem made in {time.monotonic() - started:.0f} s: {cached}")
    return cached / "rootfs"


# --- layer 2: slogate's virtualenv --------------------------------------------------------------


def slogate_wheel(directory: Path, epoch: int) -> Path:
    """slogate's wheel, built from the work tree with the commit's time in its entries."""
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        str(directory),
        str(ROOT),
        env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)},
        capture_output=True,
    )
    (wheel,) = directory.glob("slogate-*.whl")
    return wheel


def dependency_wheels(directory: Path) -> None:
    """The pinned wheels, downloaded once into the cache (pip checks every hash). pip picks them
    for the interpreter it runs on, which must be the image's kind: CPython 3.11 on x86_64."""
    if sys.version_info[:2] != (3, 11) or os.uname().machine != "x86_64":
        raise SystemExit("build_image: run with CPython 3.11 on x86_64 (the image's), e.g. .venv/bin/python")
    wheels = CACHE / "image-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "--dest",
        str(wheels),
        "--requirement",
        str(REQUIREMENTS),
    )
    for line in REQUIREMENTS.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, version = line.split()[0].split("==")
        normalized = re.sub(r"[-_.]+", "_", name).lower()
        matches = [
            wheel
            for wheel in wheels.glob("*.whl")
            if re.sub(r"[-_.]+", "_", wheel.name.split("-")[0]).lower() == normalized
            and wheel.name.split("-")[1] == version
        ]
        if not matches:
            raise SystemExit(f"build_image: no wheel of {name} {version} in {wheels}")
        for wheel in matches:
            shutil.copy2(wheel, directory / wheel.name)


def install_venv(base: Path, work: Path, epoch: int) -> Path:
    """/opt/slogate, installed in a copy of the base by its own python3; returns the copy."""
    rootfs = work / "rootfs"
    run("cp", "-a", str(base), str(rootfs))
    wheels = rootfs / "wheels"
    wheels.mkdir()
    wheel = slogate_wheel(wheels, epoch)
    dependency_wheels(wheels)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    version = wheel.name.split("-")[1]
    requirements = REQUIREMENTS.read_text() + f"slogate=={version} --hash=sha256:{digest}\n"
    (wheels / "requirements.txt").write_text(requirements)
    script = f"""
set -eu
mount --rbind /dev {rootfs}/dev
mount -t proc proc {rootfs}/proc
exec chroot {rootfs} /bin/sh -c '
  set -eu
  python3 -m venv {VENV}
  {VENV}/bin/pip install --quiet --no-index --find-links /wheels --require-hashes --no-compile \\
    --disable-pip-version-check --no-cache-dir -r /wheels/requirements.txt
  find {VENV} -name __pycache__ -type d -prune -exec rm -rf {{}} +
  {VENV}/bin/python -m compileall -q -f -j 1 --invalidation-mode unchecked-hash {VENV}/lib
'
"""
    run(
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "/bin/sh",
        "-c",
        script,
        env={
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "SOURCE_DATE_EPOCH": str(epoch),
            "LC_ALL": "C.UTF-8",
        },
    )
    shutil.rmtree(wheels)
    return rootfs


# --- OCI ----------------------------------------------------------------------------------------


def layer(rootfs: Path, paths: list[str], epoch: int, output: Path) -> tuple[str, str, int]:
    """A gzipped tar of ``paths`` (relative to ``rootfs``, each with its parents and contents):
    sorted, owners numeric, mtimes clamped to ``epoch``. Returns (diff id, digest, size)."""
    uncompressed = hashlib.sha256()

    class Hashing(io.RawIOBase):
        def __init__(self, sink: gzip.GzipFile) -> None:
            self.sink = sink

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:
            uncompressed.update(data)
            self.sink.write(data)
            return len(data)

    def entries() -> list[Path]:
        found: set[Path] = set()
        for relative in paths:
            top = rootfs / relative
            for parent in Path(relative).parents:
                if str(parent) != ".":
                    found.add(rootfs / parent)
            found.add(top)
            if top.is_dir() and not top.is_symlink():
                for directory, dirnames, filenames in os.walk(top):
                    for name in dirnames + filenames:
                        found.add(Path(directory) / name)
        return sorted(found, key=lambda path: str(path.relative_to(rootfs)))

    with (
        output.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as zipped,
    ):
        stream = Hashing(zipped)
        with tarfile.open(fileobj=stream, mode="w|", format=tarfile.GNU_FORMAT) as tar:
            for path in entries():
                arcname = str(path.relative_to(rootfs))
                entry = tar.gettarinfo(str(path), arcname)
                entry.mtime = min(int(entry.mtime), epoch)
                entry.uname = entry.gname = ""
                if entry.isreg():
                    with path.open("rb") as content:
                        tar.addfile(entry, content)
                else:
                    tar.addfile(entry)
    digest = hashlib.sha256(output.read_bytes()).hexdigest()
    return f"sha256:{uncompressed.hexdigest()}", f"sha256:{digest}", output.stat().st_size


def base_layer(base: Path, blobs: Path) -> tuple[str, str, int]:
    """The base's layer, made once beside the cached base, with its files' times clamped to the
    archive's date: the same for every commit."""
    cached, described = base.parent / "layer.tar.gz", base.parent / "layer.json"
    if not described.is_file():
        made = base.parent / "layer.tar.gz.partial"
        epoch = int((base.parent / "archive-date").read_text())
        diff_id, digest, size = layer(base, sorted(p.name for p in base.iterdir()), epoch, made)
        made.rename(cached)
        described.write_text(json.dumps({"diff_id": diff_id, "digest": digest, "size": size}))
    description = json.loads(described.read_text())
    shutil.copyfile(cached, blobs / description["digest"].removeprefix("sha256:"))
    return description["diff_id"], description["digest"], description["size"]


def venv_layer(rootfs: Path, work: Path, blobs: Path, epoch: int) -> tuple[str, str, int]:
    staging = work / "layer.tar.gz"
    diff_id, digest, size = layer(rootfs, [VENV.lstrip("/")], epoch, staging)
    staging.rename(blobs / digest.removeprefix("sha256:"))
    return diff_id, digest, size


def blob(blobs: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (blobs / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def canonical(document: object) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def archive(layout: Path, output: Path, epoch: int) -> None:
    """The OCI layout as a tar (what `ctr images import` and `podman load` read)."""
    with tarfile.open(output, "w", format=tarfile.GNU_FORMAT) as tar:
        for path in sorted(layout.rglob("*"), key=lambda p: str(p.relative_to(layout))):
            entry = tar.gettarinfo(str(path), str(path.relative_to(layout)))
            entry.mtime, entry.uid, entry.gid, entry.uname, entry.gname = epoch, 0, 0, "", ""
            entry.mode = 0o755 if entry.isdir() else 0o644
            if entry.isreg():
                with path.open("rb") as content:
                    tar.addfile(entry, content)
            else:
                tar.addfile(entry)


def write_oci(
    layout: Path,
    image_config: dict[str, object],
    layers: list[tuple[str, str, int]],
    *,
    reference: str,
    epoch: int,
    output: Path,
) -> str:
    """The image config, manifest and index beside the layers already in ``layout``'s blobs, the
    layout archived as ``output``; returns the manifest's digest."""
    blobs = layout / "blobs" / "sha256"
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    config_digest, config_size = blob(blobs, canonical(image_config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": d, "size": s} for _, d, s in layers],
        "annotations": {"org.opencontainers.image.created": created},
    }
    manifest_digest, manifest_size = blob(blobs, canonical(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": MANIFEST_MEDIA_TYPE,
                "digest": manifest_digest,
                "size": manifest_size,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": reference,
                    "org.opencontainers.image.ref.name": reference.rsplit(":", 1)[1],
                },
            }
        ],
    }
    (layout / "index.json").write_bytes(canonical(index))
    (layout / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
    output.parent.mkdir(parents=True, exist_ok=True)
    archive(layout, output, epoch)
    return manifest_digest


PAUSE_REFERENCE = "registry.k8s.io/pause:3.10"


def pause_image(binary: Path, output: Path) -> str:
    """The pod sandbox image of the local real node (hack/node.sh): ``binary`` as /pause, run as
    65535 like the upstream image; named as the container runtime asks for it."""
    with tempfile.TemporaryDirectory(prefix="slogate-pause-") as scratch:
        work = Path(scratch)
        (work / "root").mkdir()
        shutil.copy2(binary, work / "root" / "pause")
        blobs = work / "layout" / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        staging = work / "layer.tar.gz"
        diff_id, digest, size = layer(work / "root", ["pause"], 0, staging)
        staging.rename(blobs / digest.removeprefix("sha256:"))
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        }
        layers = [(diff_id, digest, size)]
        return write_oci(
            work / "layout", image_config, layers, reference=PAUSE_REFERENCE, epoch=0, output=output
        )


def chart_app_version() -> str:
    match = re.search(r'^appVersion:\s*"?([^"\n]+)"?', (ROOT / "charts/slogate/Chart.yaml").read_text(), re.M)
    if not match:
        raise SystemExit("build_image: charts/slogate/Chart.yaml has no appVersion")
    return match.group(1)


def build(output: Path, tag: str) -> dict[str, str]:
    if os.geteuid() != 0:
        raise SystemExit("build_image: debootstrap and chroot need root")
    config = dockerfile_config(DOCKERFILE.read_text())
    uid, _, gid = config.user.partition(":")
    if not uid.isdigit() or not gid.isdigit():
        raise SystemExit(f"build_image: the Dockerfile's USER must be numeric UID:GID, not {config.user!r}")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct"))
    revision = git("rev-parse", "HEAD") + (
        "-dirty" if git("status", "--porcelain", "--untracked-files=no") else ""
    )
    base = base_rootfs(int(uid), int(gid))
    reference = f"{REPOSITORY}:{tag}"
    with tempfile.TemporaryDirectory(prefix="slogate-image-") as scratch:
        work = Path(scratch)
        started = time.monotonic()
        rootfs = install_venv(base, work, epoch)
        info(f"virtualenv {VENV} installed in {time.monotonic() - started:.0f} s")
        layout = work / "layout"
        blobs = layout / "blobs" / "sha256"
        blobs.mkdir(parents=True)
        layers = [base_layer(base, blobs), venv_layer(rootfs, work, blobs, epoch)]
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
        labels = {
            **config.labels,
            "org.opencontainers.image.version": tag,
            "org.opencontainers.image.revision": revision,
            "org.opencontainers.image.created": created,
            "org.opencontainers.image.base.name": f"debian:{DEBIAN_SUITE} (debootstrap minbase)",
        }
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "config": {
                "User": config.user,
                "Env": [f"PATH={PATH}", "LANG=C.UTF-8", *(f"{k}={v}" for k, v in config.env.items())],
                "Entrypoint": config.entrypoint,
                "Cmd": config.cmd,
                "ExposedPorts": {port: {} for port in config.exposed_ports},
                "Labels": labels,
                "WorkingDir": "/",
            },
            "rootfs": {"type": "layers", "diff_ids": [diff_id for diff_id, _, _ in layers]},
            "history": [
                {
                    "created": created,
                    "created_by": f"debootstrap --variant=minbase {DEBIAN_SUITE} ({', '.join(PACKAGES)})",
                },
                {
                    "created": created,
                    "created_by": f"python3 -m venv {VENV}; pip install --require-hashes slogate",
                },
            ],
        }
        manifest_digest = write_oci(
            layout, image_config, layers, reference=reference, epoch=epoch, output=output
        )
    return {
        "archive": str(output),
        "reference": reference,
        "digest": manifest_digest,
        "layers": " ".join(digest for _, digest, _ in layers),
        "size": str(output.stat().st_size),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist" / "slogate-image.oci.tar")
    parser.add_argument(
        "--tag", default=chart_app_version(), help="image tag (default: the chart's appVersion)"
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the Dockerfile's runtime settings and exit"
    )
    parser.add_argument(
        "--pause-image",
        type=Path,
        metavar="BINARY",
        help=f"instead, write the real node's pod sandbox image {PAUSE_REFERENCE} from this binary",
    )
    args = parser.parse_args(argv)
    if args.print_config:
        print(json.dumps(dockerfile_config(DOCKERFILE.read_text()).__dict__, indent=2))
        return 0
    if args.pause_image:
        print(f"digest: {pause_image(args.pause_image, args.output)}")
        return 0
    started = time.monotonic()
    result = build(args.output, args.tag)
    for key, value in result.items():
        print(f"{key}: {value}")
    info(f"image built in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
