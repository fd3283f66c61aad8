"""The registry of slogate's kinds: which resources exist, and their plurals and short names.

Everything that names a kind to the API server (the kopf watches, the initial listing, the status
writes, the CLI, the RBAC expectations of the tests) derives it from here, so that adding or renaming
a kind is a change to this tuple and the model's ``names``, not a hunt for hand-typed plurals.
"""

from __future__ import annotations

from slogate.api.base import Resource, ResourceNames
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import ReleaseGate
from slogate.api.holdset import HoldSet
from slogate.api.incident import Incident
from slogate.api.slo import ServiceLevelObjective

RESOURCE_TYPES: tuple[type[Resource], ...] = (ServiceLevelObjective, ReleaseGate, ChangeFreeze, Incident)
"""The four resources people write and the operator watches, parses and reports status on."""

CRD_TYPES: tuple[type[Resource], ...] = (*RESOURCE_TYPES, HoldSet)
"""Every kind slogate installs a CRD for: the four resources people write, and HoldSet."""

RESOURCE_KINDS: tuple[str, ...] = tuple(model.names.kind for model in RESOURCE_TYPES)
RESOURCE_PLURALS: tuple[str, ...] = tuple(model.names.plural for model in RESOURCE_TYPES)


def by_kind(kind: str) -> type[Resource] | None:
    """The model of one of the four watched resources by its kind, None for any other kind."""
    return next((model for model in RESOURCE_TYPES if model.names.kind == kind), None)


def by_plural(plural: str) -> type[Resource]:
    """The model of one of the four watched resources by its plural; KeyError for any other."""
    found = next((model for model in RESOURCE_TYPES if model.names.plural == plural), None)
    if found is None:
        raise KeyError(plural)
    return found


def names_of(kind: str) -> ResourceNames:
    """The CRD names of any kind slogate installs, HoldSet included; KeyError for another kind."""
    found = next((model for model in CRD_TYPES if model.names.kind == kind), None)
    if found is None:
        raise KeyError(kind)
    return found.names
