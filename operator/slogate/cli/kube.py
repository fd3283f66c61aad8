"""The CLI's only door to the API server: reads and the few writes the commands make.

It loads the kubeconfig as kubectl does (``--kubeconfig``, else ``$KUBECONFIG``, else
``~/.kube/config``; ``--context``; the context's namespace) and turns the client's exceptions into
``CliError`` messages that say what to do, so every command module stays pure and testable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from slogate.api.base import GROUP, VERSION, WorkloadKind
from slogate.api.kinds import names_of
from slogate.cli.output import CliError

ROLLOUTS = ("argoproj.io", "v1alpha1", "rollouts")


def _body(response: Any) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(response.data)
    return decoded


class Kube:
    """One API client for one command, with the namespace the command acts in."""

    def __init__(self, kubeconfig: str | None, context: str | None, namespace: str | None) -> None:
        try:
            self._api = config.new_client_from_config(config_file=kubeconfig, context=context)
            contexts, active = config.list_kube_config_contexts(config_file=kubeconfig)
        except (ConfigException, FileNotFoundError) as error:
            raise CliError(
                f"cannot load the kubeconfig ({kubeconfig or '$KUBECONFIG or ~/.kube/config'}): {error}; "
                "pass --kubeconfig PATH or set KUBECONFIG (for the local cluster: "
                "--kubeconfig .cluster/kubeconfig after 'make cluster-up')"
            ) from error
        chosen = next((c for c in contexts if c["name"] == context), active) if context else active
        self.server = str(self._api.configuration.host)
        self.namespace = namespace or (chosen.get("context") or {}).get("namespace") or "default"
        self._custom = client.CustomObjectsApi(self._api)
        self._apps = client.AppsV1Api(self._api)
        self._core = client.CoreV1Api(self._api)

    @contextmanager
    def _calling(self, what: str, *, missing: str | None = None) -> Iterator[None]:
        try:
            yield
        except urllib3.exceptions.HTTPError as error:
            raise CliError(
                f"cannot reach the API server at {self.server} while {what}: {error.__class__.__name__}; "
                "is the cluster up and the kubeconfig/context right? (local cluster: make cluster-up)"
            ) from error
        except ApiException as error:
            if error.status == 404 and missing is not None:
                raise CliError(missing) from error
            if error.status in (401, 403):
                raise CliError(
                    f"the API server refused {what} ({error.status} {error.reason}); use a context whose "
                    "user may read slogate's resources (kubectl auth can-i --list)"
                ) from error
            raise CliError(f"{what} failed: {error.status} {error.reason}: {_message(error)}") from error

    def _crds_missing(self, kind: str) -> str:
        return (
            f"the API server does not serve {kind} ({GROUP}/{VERSION}): slogate's CRDs are not installed; "
            "install them with 'kubectl apply --server-side -f crds/' "
            "or 'helm install slogate charts/slogate'"
        )

    def _list_custom(self, group: str, version: str, plural: str, namespace: str | None) -> Any:
        if namespace is None:
            return self._custom.list_cluster_custom_object(group, version, plural, _preload_content=False)
        return self._custom.list_namespaced_custom_object(
            group, version, namespace, plural, _preload_content=False
        )

    def list_resources(self, kind: str, namespace: str | None) -> list[dict[str, Any]]:
        """Every ``kind`` in ``namespace``, or in all namespaces when it is None."""
        plural = names_of(kind).plural
        with self._calling(f"listing {plural}", missing=self._crds_missing(kind)):
            response = self._list_custom(GROUP, VERSION, plural, namespace)
        return list(_body(response)["items"])

    def list_visible(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        """Every ``kind`` in all namespaces, or in ``namespace`` for a user who may not list them all."""
        try:
            return self.list_resources(kind, None)
        except CliError as error:
            if isinstance(error.__cause__, ApiException) and error.__cause__.status == 403:
                return self.list_resources(kind, namespace)
            raise

    def get_resource(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        response: Any
        self.list_resources(kind, namespace)  # tells "CRDs not installed" apart from "no such object"
        with self._calling(
            f"reading {kind} {namespace}/{name}",
            missing=f"{kind} {name!r} not found in namespace {namespace!r}; list them with "
            f"'kubectl get {names_of(kind).short_names[0]} -n {namespace}' or pass -n NAMESPACE",
        ):
            response = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, names_of(kind).plural, name, _preload_content=False
            )
        return _body(response)

    def create_resource(self, kind: str, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        with self._calling(f"creating a {kind} in {namespace}", missing=self._crds_missing(kind)):
            created: Any = self._custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, names_of(kind).plural, body
            )
        return dict(created)

    def patch_resource(self, kind: str, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        with self._calling(f"updating {kind} {namespace}/{name}", missing=f"{kind} {name!r} is gone"):
            patched: Any = self._custom.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, names_of(kind).plural, name, patch
            )
        return dict(patched)

    def get_workload(self, kind: WorkloadKind, namespace: str, name: str) -> dict[str, Any]:
        response: Any
        missing = (
            f"{kind.value} {name!r} not found in namespace {namespace!r}; list them with "
            f"'kubectl get {kind.value.lower()}s -n {namespace}' or pass -n NAMESPACE"
        )
        with self._calling(f"reading {kind.value} {namespace}/{name}", missing=missing):
            if kind is WorkloadKind.DEPLOYMENT:
                response = self._apps.read_namespaced_deployment(name, namespace, _preload_content=False)
            else:
                group, version, plural = ROLLOUTS
                response = self._custom.get_namespaced_custom_object(
                    group, version, namespace, plural, name, _preload_content=False
                )
        return _body(response)

    def list_workloads(self, namespace: str | None) -> list[tuple[WorkloadKind, dict[str, Any]]]:
        """Deployments and Rollouts; no Rollouts (rather than an error) where Argo Rollouts is absent."""
        response: Any
        with self._calling("listing Deployments"):
            if namespace is None:
                response = self._apps.list_deployment_for_all_namespaces(_preload_content=False)
            else:
                response = self._apps.list_namespaced_deployment(namespace, _preload_content=False)
        found = [(WorkloadKind.DEPLOYMENT, body) for body in _body(response)["items"]]
        try:
            with self._calling("listing Rollouts"):
                response = self._list_custom(*ROLLOUTS, namespace)
        except CliError as error:
            if isinstance(error.__cause__, ApiException) and error.__cause__.status == 404:
                return found
            raise
        return found + [(WorkloadKind.ROLLOUT, body) for body in _body(response)["items"]]

    def events_about(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """Events whose involved object has this name, oldest first."""
        with self._calling(f"listing Events of {namespace}/{name}"):
            response = self._core.list_namespaced_event(
                namespace, field_selector=f"involvedObject.name={name}", _preload_content=False
            )
        return list(_body(response)["items"])

    def whoami(self) -> str | None:
        """The user name the API server authenticates us as (SelfSubjectReview), when it says."""
        try:
            response: Any = client.AuthenticationV1Api(self._api).create_self_subject_review(
                client.V1SelfSubjectReview(api_version="authentication.k8s.io/v1", kind="SelfSubjectReview"),
                _preload_content=False,
            )
        except (ApiException, urllib3.exceptions.HTTPError):
            return None
        user = (_body(response).get("status") or {}).get("userInfo") or {}
        return str(user["username"]) if user.get("username") else None


def _message(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.body)
    except ValueError:
        return str(error.body)
