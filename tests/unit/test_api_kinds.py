"""The registry of kinds: every CRD slogate installs is found by its kind, the four watched ones by
their plural too."""

from __future__ import annotations

import pytest

from slogate.api.holdset import HoldSet
from slogate.api.kinds import CRD_TYPES, RESOURCE_TYPES, by_kind, by_plural, names_of


def test_the_watched_resources_are_found_by_kind_and_plural() -> None:
    for model in RESOURCE_TYPES:
        assert by_kind(model.names.kind) is model
        assert by_plural(model.names.plural) is model


def test_holdset_has_a_crd_but_is_not_a_watched_resource() -> None:
    assert HoldSet in CRD_TYPES
    assert by_kind("HoldSet") is None
    with pytest.raises(KeyError):
        by_plural("holdsets")
    assert names_of("HoldSet").plural == "holdsets"


def test_an_unknown_kind_has_no_names() -> None:
    with pytest.raises(KeyError):
        names_of("Deployment")
