"""Writing the SLOs' recording rules into the cluster: PrometheusRule objects and a ConfigMap.

Both are written by server-side apply as slogate's field manager (as the other adapters write),
so a label or annotation someone else adds to them stays, and ``kubectl get --show-managed-fields``
says which fields are slogate's. Whether PrometheusRule is served is asked by API discovery of
``monitoring.coreos.com/v1``, which every authenticated user may read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.domain.rulefiles import MANAGED_BY, MANAGED_BY_LABEL

MONITORING_GROUP = "monitoring.coreos.com"
MONITORING_VERSION = "v1"
PROMETHEUS_RULES = "prometheusrules"
APPLY = "application/apply-patch+yaml"


class KubernetesRules:
    """The RuleStore port on one API client, for the governed namespaces (all when empty)."""

    def __init__(self, api: client.ApiClient, field_manager: str, namespaces: Iterable[str] = ()) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._core = client.CoreV1Api(api)
        self._field_manager = field_manager
        self._namespaces = tuple(namespaces)

    def serves_prometheus_rules(self) -> bool:
        try:
            served = self._custom.get_api_resources(MONITORING_GROUP, MONITORING_VERSION)
        except ApiException as error:
            if error.status == 404:
                return False
            raise
        return any(resource.name == PROMETHEUS_RULES for resource in served.resources or [])

    def list_prometheus_rules(self) -> list[Mapping[str, Any]]:
        selector = f"{MANAGED_BY_LABEL}={MANAGED_BY}"
        if not self._namespaces:
            listings: list[Any] = [
                self._custom.list_cluster_custom_object(
                    MONITORING_GROUP, MONITORING_VERSION, PROMETHEUS_RULES, label_selector=selector
                )
            ]
        else:
            listings = [
                self._custom.list_namespaced_custom_object(
                    MONITORING_GROUP, MONITORING_VERSION, namespace, PROMETHEUS_RULES, label_selector=selector
                )
                for namespace in self._namespaces
            ]
        return [item for listing in listings for item in listing["items"]]

    def apply_prometheus_rule(self, manifest: Mapping[str, Any]) -> None:
        metadata = manifest["metadata"]
        self._custom.patch_namespaced_custom_object(
            MONITORING_GROUP,
            MONITORING_VERSION,
            metadata["namespace"],
            PROMETHEUS_RULES,
            metadata["name"],
            dict(manifest),
            field_manager=self._field_manager,
            force=True,
            _content_type=APPLY,
        )

    def config_map_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        try:
            config_map = self._core.read_namespaced_config_map(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return dict(config_map.data or {})

    def apply_config_map(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
            "data": dict(data),
        }
        self._core.patch_namespaced_config_map(
            name, namespace, body, field_manager=self._field_manager, force=True, _content_type=APPLY
        )
