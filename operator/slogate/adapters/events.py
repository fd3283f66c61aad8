"""Kubernetes Events on the objects slogate acts on, so ``kubectl describe`` tells the story.

Events are core/v1 Events (what ``kubectl describe`` and ``kubectl events`` list),
reported as component ``slogate``. A failure to post an Event never fails the
decision it reports: the annotations on the object are the durable record.
"""

from __future__ import annotations

import logging
from datetime import datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.reconcile.ports import EventType, InvolvedObject

REPORTING_COMPONENT = "slogate"

log = logging.getLogger(__name__)


class KubernetesEvents:
    """Posts Events through one API client, naming this operator instance as reporter."""

    def __init__(self, api: client.ApiClient, instance: str) -> None:
        self._core = client.CoreV1Api(api)
        self._instance = instance

    def post(
        self,
        regarding: InvolvedObject,
        *,
        event_type: EventType,
        reason: str,
        action: str,
        message: str,
        now: datetime,
    ) -> None:
        event = client.CoreV1Event(
            metadata=client.V1ObjectMeta(
                generate_name=f"{regarding.name}.slogate-", namespace=regarding.namespace
            ),
            involved_object=client.V1ObjectReference(
                api_version=regarding.api_version,
                kind=regarding.kind,
                namespace=regarding.namespace,
                name=regarding.name,
                uid=regarding.uid,
            ),
            type=event_type.value,
            reason=reason,
            action=action,
            # The API server caps an Event message at 1 KiB; the annotations keep the full text.
            message=message[:1024],
            source=client.V1EventSource(component=REPORTING_COMPONENT),
            reporting_component=REPORTING_COMPONENT,
            reporting_instance=self._instance,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        try:
            self._core.create_namespaced_event(regarding.namespace, event)
        except ApiException as error:
            log.warning("could not post %s Event on %s/%s: %s", reason, regarding.kind, regarding.name, error)
