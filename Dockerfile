# The slogate operator image: `docker build -t slogate:0.1.0 .`
#
# Two stages: the first builds slogate's wheel and the wheels of every dependency; the second
# installs them without a network or a compiler into a slim image that runs as a numeric non-root
# user (Kubernetes' runAsNonRoot can only verify a numeric UID). The root filesystem can be
# mounted read-only: nothing is written at run time (the chart mounts an emptyDir on /tmp).
# The base image is pinned by version; pin it by digest too in a release pipeline.

ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-index --find-links /wheels slogate \
    && groupadd --gid 10001 slogate \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin slogate
USER 10001:10001
# /metrics and /healthz (slogate run --metrics-port, --health-port).
EXPOSE 9464 8081
ENTRYPOINT ["slogate"]
CMD ["run"]
