"""The operator's coordination.k8s.io/v1 Lease: take it, renew it, give it up.

Every write carries the resourceVersion that was read, so when two replicas find the Lease free at
once the API server accepts one write and refuses the other with 409 Conflict; the loser simply
does not hold it this time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.domain.leadership import LeaseRecord, may_hold

CONFLICT, NOT_FOUND = 409, 404


class MicroTime(datetime):
    """A time the client writes with microseconds even on a whole second: the API server parses a
    Lease's times as RFC 3339 with exactly six fractional digits, and refuses
    ``2026-11-22T08:16:02+00:00``, which is what a plain datetime becomes."""

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return super().isoformat(sep, "microseconds")


def micro_time(moment: datetime) -> MicroTime:
    return MicroTime.combine(moment.date(), moment.timetz())


def lease_record(spec: client.V1LeaseSpec | None) -> LeaseRecord | None:
    if spec is None:
        return None
    seconds = spec.lease_duration_seconds
    return LeaseRecord(
        holder=spec.holder_identity,
        renewed=spec.renew_time,
        duration=timedelta(seconds=seconds) if seconds else None,
    )


class KubernetesLease:
    def __init__(self, api: client.ApiClient, namespace: str, name: str, duration: timedelta) -> None:
        self._coordination = client.CoordinationV1Api(api)
        self.namespace = namespace
        self.name = name
        self.duration = duration

    def _read(self) -> client.V1Lease | None:
        try:
            return self._coordination.read_namespaced_lease(self.name, self.namespace)
        except ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise

    def _metadata(self, read: client.V1Lease | None) -> client.V1ObjectMeta:
        version = read.metadata.resource_version if read is not None and read.metadata is not None else None
        return client.V1ObjectMeta(name=self.name, namespace=self.namespace, resource_version=version)

    def _write(self, read: client.V1Lease | None, spec: client.V1LeaseSpec) -> bool:
        """Create or replace the Lease as read; False when another replica wrote it first."""
        body = client.V1Lease(metadata=self._metadata(read), spec=spec)
        try:
            if read is None:
                self._coordination.create_namespaced_lease(self.namespace, body)
            else:
                self._coordination.replace_namespaced_lease(self.name, self.namespace, body)
        except ApiException as error:
            if error.status == CONFLICT:
                return False
            raise
        return True

    def try_hold(self, identity: str, now: datetime) -> bool:
        """Take or renew the Lease for ``identity`` when it may; False when another replica holds a
        live Lease or won the race for it. API errors other than a conflict are raised."""
        read = self._read()
        current = read.spec if read is not None else None
        record = lease_record(current)
        if not may_hold(record, identity, now):
            return False
        renewing = record is not None and record.holder == identity
        transitions = (current.lease_transitions or 0) if current is not None else 0
        acquired = current.acquire_time if renewing and current is not None else None
        spec = client.V1LeaseSpec(
            holder_identity=identity,
            lease_duration_seconds=int(self.duration.total_seconds()),
            acquire_time=micro_time(acquired or now),
            renew_time=micro_time(now),
            lease_transitions=transitions if renewing else transitions + 1,
        )
        return self._write(read, spec)

    def release(self, identity: str) -> None:
        """Give the Lease up on a clean stop, so a standby takes it at its next try instead of
        waiting for it to expire. Does nothing when another replica holds it."""
        read = self._read()
        current = read.spec if read is not None else None
        if current is None or current.holder_identity != identity:
            return
        self._write(
            read,
            client.V1LeaseSpec(
                lease_duration_seconds=current.lease_duration_seconds,
                lease_transitions=current.lease_transitions,
            ),
        )
