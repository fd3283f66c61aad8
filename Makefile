# slogate developer entry points. `make run` and `make test` do all set-up themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
export SLOGATE_CACHE ?= $(HOME)/.cache/slogate
KUBECONFIG_LOCAL := $(CURDIR)/.cluster/kubeconfig

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Python virtualenv with slogate and its test tools

.PHONY: deps
deps: venv binaries prometheus-operator-crd prometheus alertmanager redis nginx container-tools ## everything the tests need on this machine

.PHONY: binaries
binaries: ## build (or reuse from $SLOGATE_CACHE) the cluster's Go binaries
	hack/build-binaries.sh

.PHONY: prometheus-operator-crd
prometheus-operator-crd: ## fetch (or reuse from $SLOGATE_CACHE) the PrometheusRule CRD the tests install
	hack/fetch-prometheus-operator-crd.sh

.PHONY: prometheus
prometheus: ## install Prometheus from Debian when it is missing
	hack/install-debian-package.sh prometheus prometheus

.PHONY: alertmanager
alertmanager: ## install Alertmanager (the incident intake's e2e test) from Debian when it is missing
	hack/install-debian-package.sh prometheus-alertmanager prometheus-alertmanager

.PHONY: redis
redis: ## install Redis (for the local Argo CD) from Debian when it is missing
	hack/install-debian-package.sh redis-server redis-server

.PHONY: nginx
nginx: ## install nginx (a reverse proxy in front of Prometheus, in the tests) from Debian when it is missing
	hack/install-debian-package.sh nginx nginx-light

.PHONY: cluster-up
cluster-up: binaries redis ## start the local cluster (idempotent); kubeconfig in .cluster/kubeconfig
	hack/cluster.sh up

.PHONY: node-up
node-up: venv cluster-up container-tools ## add the real node (kubelet, containerd, runc) to the local cluster; ARGS: OCI archives to import
	hack/node.sh up $(ARGS)

.PHONY: node-down
node-down: ## stop the real node (make cluster-down stops it too)
	hack/node.sh down

.PHONY: cluster-down
cluster-down: ## stop every process of the local cluster
	hack/cluster.sh down

.PHONY: lint
lint: venv ## ruff, mypy --strict, import-linter
	$(VENV)/bin/ruff check operator tests hack
	$(VENV)/bin/ruff format --check operator tests hack
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

.PHONY: fmt
fmt: venv ## format and autofix
	$(VENV)/bin/ruff format operator tests hack
	$(VENV)/bin/ruff check --fix operator tests hack

.PHONY: unit
unit: venv ## pure unit tests
	hack/pytest.sh tests/unit

.PHONY: integration
integration: deps ## tests against the real API server and Prometheus
	hack/pytest.sh tests/integration

.PHONY: e2e
e2e: deps ## end-to-end tests on the local cluster
	hack/pytest.sh tests/e2e

.PHONY: container-tools
container-tools: ## install debootstrap (make image), runc and containerd (the image's tests, the real node) from Debian when missing
	hack/install-debian-package.sh debootstrap debootstrap
	hack/install-debian-package.sh runc runc
	hack/install-debian-package.sh containerd containerd
	hack/install-debian-package.sh /usr/lib/cni/loopback containernetworking-plugins

.PHONY: image
image: venv container-tools ## the operator image as an OCI archive in dist/, without Docker or a registry; prints its digest
	$(PY) hack/build_image.py $(ARGS)

.PHONY: image-lock
image-lock: venv ## pin the image's dependencies with their hashes (image/requirements.txt) from pyproject.toml
	$(PY) hack/lock_image_requirements.py

.PHONY: manifests
manifests: venv ## generate the CRDs (crds/, charts/slogate/crds/) and the admission policy (deploy/admission/)
	$(PY) hack/gen_crds.py

.PHONY: verify-manifests
verify-manifests: venv ## fail when crds/ or charts/slogate/crds/ differ from what the models generate
	@generated=$$(mktemp -d); trap 'rm -rf "$$generated"' EXIT; \
	$(PY) hack/gen_crds.py --output "$$generated/crds" --admission-output "$$generated/admission" >/dev/null; \
	for dir in crds charts/slogate/crds deploy/admission charts/slogate/files/admission; do \
	  expected="$$generated/crds"; [[ "$$dir" == */admission ]] && expected="$$generated/admission"; \
	  if ! diff -ru "$$dir" "$$expected"; then \
	    echo "error: $$dir is out of date with operator/slogate/api; run 'make manifests' and commit the result" >&2; \
	    exit 1; \
	  fi; \
	done; \
	echo "manifests up to date"

.PHONY: argocd-manifests
argocd-manifests: venv ## generate deploy/argocd/ (argocd-cm patch, argo-cd chart values) from the health Lua
	$(PY) hack/gen_argocd.py

.PHONY: verify-argocd
verify-argocd: venv ## fail when deploy/argocd/ differs from what the health Lua generates
	@generated=$$(mktemp -d); trap 'rm -rf "$$generated"' EXIT; \
	$(PY) hack/gen_argocd.py --output "$$generated" >/dev/null; \
	for file in argocd-cm-patch.yaml argocd-values.yaml; do \
	  if ! diff -u "deploy/argocd/$$file" "$$generated/$$file"; then \
	    echo "error: deploy/argocd/$$file is out of date with charts/slogate/files/argocd/health; run 'make argocd-manifests' and commit the result" >&2; \
	    exit 1; \
	  fi; \
	done; \
	echo "argocd manifests up to date"

.PHONY: chart-check
chart-check: binaries ## helm lint --strict and helm template of charts/slogate; bad values must be refused
	hack/chart-check.sh

.PHONY: test
test: deps lint verify-manifests verify-argocd chart-check ## everything: lint, unit, integration, e2e (the CI gate)
	hack/pytest.sh tests

.PHONY: run
run: deps ## run the operator against $$KUBECONFIG, or against the local cluster (and a local Prometheus) when none is set
	hack/run.sh $(ARGS)

.PHONY: bench
bench: deps ## speed and memory figures on the local cluster with a real Prometheus (name: value unit)
	$(PY) hack/bench.py

.PHONY: chaos
chaos: deps ## faults and invariants on the local cluster (name: value unit); CHAOS=quick for CI's short form
	CHAOS=$(CHAOS) $(PY) hack/chaos.py

.PHONY: demo
demo: deps ## a walk-through on the local cluster with a real Prometheus; leaves it running (make demo-down)
	$(PY) hack/demo.py

.PHONY: demo-down
demo-down: ## stop the demo's traffic exporter, Prometheus and operator (make cluster-down stops them too)
	$(PY) hack/demo.py down

.PHONY: clean
clean: cluster-down ## stop the cluster and remove local state (not the binary cache)
	rm -rf .cluster $(VENV) .pytest_cache .mypy_cache .ruff_cache
