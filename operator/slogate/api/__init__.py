"""The four slogate resources (group slogate.dev, version v1alpha1) as pydantic models, the
HoldSet the operator keeps for admission, the registry of these kinds (``kinds``) and the wire
contract of what slogate writes on other objects: annotation and label keys, times (``wire``).

These models are the one source of truth: the CRDs in crds/ are generated from them
(``make manifests``), and the operator parses every object it reads through them
(``slogate.api.validation``). This package imports nothing from the rest of slogate.
"""

from slogate.api.base import API_VERSION, GROUP, VERSION
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import ReleaseGate
from slogate.api.holdset import HoldSet
from slogate.api.incident import Incident
from slogate.api.kinds import CRD_TYPES, RESOURCE_TYPES
from slogate.api.slo import ServiceLevelObjective
from slogate.api.validation import FieldProblem, InvalidResourceError, parse_resource, validation_problems

__all__ = [
    "API_VERSION",
    "CRD_TYPES",
    "GROUP",
    "RESOURCE_TYPES",
    "VERSION",
    "ChangeFreeze",
    "FieldProblem",
    "HoldSet",
    "Incident",
    "InvalidResourceError",
    "ReleaseGate",
    "ServiceLevelObjective",
    "parse_resource",
    "validation_problems",
]
