"""The Incidents the intake writes, through the API server: every call bounded by its own timeout, so
a slow API server delays the webhook that waits for it and nothing else."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.api.base import GROUP, VERSION
from slogate.api.incident import Incident
from slogate.reconcile.ports import IncidentConflictError

PLURAL = Incident.names.plural


class KubernetesIncidents:
    def __init__(self, api: client.ApiClient, field_manager: str, timeout_seconds: float) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._field_manager = field_manager
        self._timeout = timeout_seconds

    def read_incident(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        try:
            response = self._custom.get_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                _request_timeout=self._timeout,
                _preload_content=False,
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        body = json.loads(response.data)  # type: ignore[attr-defined]
        return body if isinstance(body, dict) else None

    def create_incident(self, body: Mapping[str, Any]) -> None:
        try:
            self._custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                body["metadata"]["namespace"],
                PLURAL,
                dict(body),
                field_manager=self._field_manager,
                _request_timeout=self._timeout,
            )
        except ApiException as error:
            if error.status == 409:
                raise IncidentConflictError(str(error.reason)) from None
            raise

    def patch_incident(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        try:
            self._custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                name,
                dict(patch),
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
                _request_timeout=self._timeout,
            )
        except ApiException as error:
            if error.status in (404, 409):
                raise IncidentConflictError(str(error.reason)) from None
            raise
