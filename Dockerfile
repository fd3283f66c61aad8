# The slogate operator image: `docker build -t slogate:0.1.0 .`
#
# Two stages: the first builds slogate's wheel and the wheels of every dependency; the second
# installs them without a network or a compiler into a slim image that runs as a numeric non-root
# user (Kubernetes' runAsNonRoot can only verify a numeric UID). The root filesystem can be
# mounted read-only: nothing is written at run time (the chart mounts an emptyDir on /tmp).
# The base image is pinned by version; pin it by digest too in a release pipeline. The dependencies
# are the wheels pinned with their hashes in image/requirements.txt (`make image-lock`).
#
# `make image` builds the same image without Docker (hack/build_image.py): it reads USER,
# ENTRYPOINT, CMD, ENV, EXPOSE and LABEL of the last stage from this file, so keep them here.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY image/requirements.txt ./image/requirements.txt
RUN python -m pip download --no-deps --only-binary=:all: --require-hashes --dest /wheels \
    --requirement image/requirements.txt
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="slogate" \
      org.opencontainers.image.description="Holds, pauses or rolls back releases on SLO burn, change freezes and open incidents." \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --no-deps --find-links /wheels /wheels/*.whl \
    && groupadd --gid 10001 slogate \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin slogate
USER 10001:10001
# /metrics and /healthz (slogate run --metrics-port, --health-port).
EXPOSE 9464 8081
ENTRYPOINT ["slogate"]
CMD ["run"]
