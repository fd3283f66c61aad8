"""A pod template's identity: the digest slogate compares to tell a new release from the one it
held, and records in ``rolled-back-to`` to know which template it rolled back to.

The workload controllers stamp their own hash labels on the templates they copy into ReplicaSets;
the digest ignores them, so a Deployment's template and its ReplicaSet's hash the same.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

POD_TEMPLATE_HASH_LABELS = ("pod-template-hash", "rollouts-pod-template-hash")


def template_hash(template: Mapping[str, Any]) -> str:
    """A stable digest of a pod template, ignoring the controllers' own hash labels."""
    metadata = dict(template.get("metadata") or {})
    labels = {
        key: value
        for key, value in (metadata.get("labels") or {}).items()
        if key not in POD_TEMPLATE_HASH_LABELS
    }
    canonical = json.dumps({**template, "metadata": {**metadata, "labels": labels}}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
