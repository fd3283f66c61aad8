"""A real nginx reverse proxy in front of the test Prometheus, as production Prometheus is often
reached (an auth gateway, an ingress): with nginx's default 8 KB request-line limit, and a bearer
token it requires."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from harness.processes import free_port

TOKEN = "slogate-test-token"


def nginx_binary() -> str:
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        raise FileNotFoundError("nginx is not installed; run 'make nginx' (Debian's nginx-light)")
    return found


@contextmanager
def nginx_proxy(upstream: str, workdir: Path) -> Iterator[str]:
    """The URL of an nginx that passes requests carrying ``Bearer TOKEN`` on to ``upstream`` and
    answers 401 to others."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "nginx.conf"
    config.write_text(
        "daemon off;\n"
        "master_process off;\n"
        f"pid {workdir}/nginx.pid;\n"
        f"error_log {workdir}/error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        "  access_log off;\n"
        f"  client_body_temp_path {workdir}/body;\n"
        f"  proxy_temp_path {workdir}/proxy;\n"
        f"  fastcgi_temp_path {workdir}/fastcgi;\n"
        f"  uwsgi_temp_path {workdir}/uwsgi;\n"
        f"  scgi_temp_path {workdir}/scgi;\n"
        "  server {\n"
        f"    listen 127.0.0.1:{port};\n"
        "    location / {\n"
        f'      if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}\n'
        f"      proxy_pass {upstream};\n"
        "    }\n"
        "  }\n"
        "}\n"
    )
    process = subprocess.Popen(
        [nginx_binary(), "-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nginx exited with {process.returncode}; see {workdir}/error.log")
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not listen within 30 s; see {workdir}/error.log") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
