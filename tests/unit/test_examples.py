"""Every manifest in examples/ is valid for the models (the API-server side is in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from slogate.api import validation_problems

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))


def test_there_are_examples_of_every_kind() -> None:
    kinds = {yaml.safe_load(path.read_text())["kind"] for path in EXAMPLES}
    assert kinds == {"ServiceLevelObjective", "ReleaseGate", "ChangeFreeze", "Incident"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_is_valid(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        assert validation_problems(document) == ()
