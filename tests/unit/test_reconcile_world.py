"""The World: workload state from raw Deployment and Rollout bodies, and which resources reach what."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import ChangeType, WorkloadKind
from slogate.api.kinds import RESOURCE_TYPES
from slogate.api.wire import HELD_ANNOTATION, ROLLED_BACK_TO_ANNOTATION
from slogate.domain.scope import governs
from slogate.domain.templates import POD_TEMPLATE_HASH_LABELS, template_hash
from slogate.reconcile.reach import compute_reach
from slogate.reconcile.world import World, is_older, workload_state

DEPLOYMENT = WorkloadKind.DEPLOYMENT
ROLLOUT = WorkloadKind.ROLLOUT
PLATFORM = "slogate-system"


def pod_template(
    image: str = "registry.example.com/shop/checkout:1.4.2",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "labels": labels if labels is not None else {"app.kubernetes.io/name": "checkout"}
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "metadata": metadata,
        "spec": {
            "containers": [
                {
                    "name": "checkout",
                    "image": image,
                    "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
        },
    }


def deployment(
    *,
    name: str = "checkout",
    namespace: str = "shop",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    paused: bool | None = None,
    replicas: int = 3,
    generation: int = 4,
    observed_generation: int = 4,
    updated: int = 3,
    total: int = 3,
    available: int = 3,
    template: dict[str, Any] | None = None,
    resource_version: str = "48213",
) -> dict[str, Any]:
    """A Deployment as the API server returns it."""
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": template or pod_template(labels={"app.kubernetes.io/name": name}),
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "revisionHistoryLimit": 10,
        "progressDeadlineSeconds": 600,
    }
    if paused is not None:
        spec["paused"] = paused
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "resourceVersion": resource_version,
            "generation": generation,
            "creationTimestamp": "2026-04-01T09:00:00Z",
            "labels": labels if labels is not None else {"app.kubernetes.io/name": name},
            "annotations": {"deployment.kubernetes.io/revision": "7", **(annotations or {})},
        },
        "spec": spec,
        "status": {
            "observedGeneration": observed_generation,
            "replicas": total,
            "updatedReplicas": updated,
            "readyReplicas": available,
            "availableReplicas": available,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
            ],
        },
    }


def rollout(
    *,
    name: str = "payments",
    namespace: str = "shop",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    paused: bool | None = None,
    current_hash: str = "7d9f8b6c5",
    stable_hash: str = "7d9f8b6c5",
    updated: int = 4,
    abort: bool | None = None,
    phase: str = "Healthy",
    template: dict[str, Any] | None = None,
    resource_version: str = "51877",
) -> dict[str, Any]:
    """An Argo Rollouts canary Rollout as the API server returns it."""
    spec: dict[str, Any] = {
        "replicas": 4,
        "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
        "template": template or pod_template(labels={"app.kubernetes.io/name": name}),
        "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}]}},
    }
    if paused is not None:
        spec["paused"] = paused
    status: dict[str, Any] = {
        "observedGeneration": "5",
        "currentPodHash": current_hash,
        "stableRS": stable_hash,
        "replicas": 4,
        "updatedReplicas": updated,
        "availableReplicas": 4,
        "phase": phase,
        "currentStepIndex": 3 if current_hash == stable_hash else 1,
    }
    if abort is not None:
        status["abort"] = abort
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{namespace}-{name}",
            "resourceVersion": resource_version,
            "generation": 5,
            "creationTimestamp": "2026-04-01T09:00:00Z",
            "labels": labels if labels is not None else {"app.kubernetes.io/name": name},
            "annotations": {"rollout.argoproj.io/revision": "3", **(annotations or {})},
        },
        "spec": spec,
        "status": status,
    }


# ---------------------------------------------------------------------------------------------------
# workload_state


@pytest.mark.parametrize(
    ("body", "rolling"),
    [
        pytest.param(deployment(), False, id="completed"),
        pytest.param(deployment(updated=1, total=4, available=3), True, id="new-pods-started"),
        pytest.param(deployment(updated=3, total=4, available=3), True, id="old-pods-still-terminating"),
        pytest.param(deployment(updated=3, total=3, available=2), True, id="new-pods-not-yet-available"),
        pytest.param(
            deployment(paused=True, generation=5, observed_generation=5, updated=0, total=3, available=3),
            False,
            id="paused-before-any-new-pod",
        ),
        pytest.param(
            deployment(generation=5, observed_generation=4, updated=3), False, id="change-not-yet-observed"
        ),
        pytest.param(deployment(replicas=3, updated=1, total=1, available=0), True, id="first-rollout"),
    ],
)
def test_deployment_rollout_in_progress(body: dict[str, Any], rolling: bool) -> None:
    state = workload_state(DEPLOYMENT, body)
    assert state.rollout_in_progress is rolling
    assert state.aborted is False
    assert state.revision == "7"
    assert state.key == (DEPLOYMENT, "shop", "checkout")
    assert state.uid == "uid-shop-checkout"
    assert state.resource_version == "48213"


@pytest.mark.parametrize(
    ("body", "rolling", "aborted"),
    [
        pytest.param(rollout(), False, False, id="completed"),
        pytest.param(
            rollout(current_hash="5c6d7e8f9", updated=1, phase="Paused"), True, False, id="canary-first-step"
        ),
        pytest.param(
            rollout(current_hash="5c6d7e8f9", updated=0, paused=True, phase="Paused"),
            False,
            False,
            id="paused-before-any-new-pod",
        ),
        pytest.param(
            rollout(current_hash="5c6d7e8f9", updated=0, abort=True, phase="Degraded"),
            False,
            True,
            id="aborted",
        ),
        pytest.param(rollout(abort=False), False, False, id="retried-after-abort"),
    ],
)
def test_rollout_state(body: dict[str, Any], rolling: bool, aborted: bool) -> None:
    state = workload_state(ROLLOUT, body)
    assert state.rollout_in_progress is rolling
    assert state.aborted is aborted
    assert state.revision == "3"
    assert state.key == (ROLLOUT, "shop", "payments")


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        (None, None),
        ("feature", ChangeType.FEATURE),
        ("reliability", ChangeType.RELIABILITY),
        ("emergency", ChangeType.EMERGENCY),
        ("hotfix", None),
        ("", None),
    ],
)
@pytest.mark.parametrize("kind", [DEPLOYMENT, ROLLOUT])
def test_change_type_comes_from_the_pod_template(
    kind: WorkloadKind, declared: str | None, expected: ChangeType | None
) -> None:
    template = pod_template(
        annotations={"slogate.dev/change-type": declared} if declared is not None else None
    )
    body = deployment(template=template) if kind is DEPLOYMENT else rollout(template=template)
    assert workload_state(kind, body).change_type is expected


def test_change_type_on_the_workload_itself_does_not_count() -> None:
    body = deployment(annotations={"slogate.dev/change-type": "emergency"})
    assert workload_state(DEPLOYMENT, body).change_type is None


@pytest.mark.parametrize(
    ("paused", "held", "expected"),
    [
        (True, "true", True),
        (True, None, False),
        (True, "false", False),
        (False, "true", False),
        (None, "true", False),
        (None, None, False),
    ],
)
@pytest.mark.parametrize("kind", [DEPLOYMENT, ROLLOUT])
def test_held_by_slogate_needs_the_pause_and_the_annotation(
    kind: WorkloadKind, paused: bool | None, held: str | None, expected: bool
) -> None:
    annotations = {HELD_ANNOTATION: held} if held is not None else {}
    body = (
        deployment(paused=paused, annotations=annotations)
        if kind is DEPLOYMENT
        else rollout(paused=paused, annotations=annotations)
    )
    state = workload_state(kind, body)
    assert state.paused is bool(paused)
    assert state.held_by_slogate is expected


def test_rollback_target_is_the_current_template() -> None:
    good = pod_template(image="registry.example.com/shop/checkout:1.4.1")
    bad = pod_template(image="registry.example.com/shop/checkout:1.4.2")
    marked = {ROLLED_BACK_TO_ANNOTATION: template_hash(good)}
    assert workload_state(DEPLOYMENT, deployment(template=good, annotations=marked)).is_rollback_target
    # A new release after the rollback is a new template: it may be rolled back in its turn.
    assert not workload_state(DEPLOYMENT, deployment(template=bad, annotations=marked)).is_rollback_target
    assert not workload_state(DEPLOYMENT, deployment(template=good)).is_rollback_target


def test_rollback_target_ignores_the_controllers_hash_label() -> None:
    good = pod_template(image="registry.example.com/shop/checkout:1.4.1")
    restored = copy.deepcopy(good)
    restored["metadata"]["labels"]["pod-template-hash"] = "6b8c9d7f4"
    marked = {ROLLED_BACK_TO_ANNOTATION: template_hash(good)}
    assert workload_state(DEPLOYMENT, deployment(template=restored, annotations=marked)).is_rollback_target


def test_empty_body_gives_a_harmless_state() -> None:
    state = workload_state(DEPLOYMENT, {})
    assert (state.paused, state.rollout_in_progress, state.held_by_slogate) == (False, False, False)
    assert state.revision is None
    assert state.change_type is None


# ---------------------------------------------------------------------------------------------------
# template_hash

label_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-./", min_size=1, max_size=20)
label_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", max_size=12)
label_dicts = st.dictionaries(label_keys, label_values, max_size=6)
hash_labels = st.dictionaries(st.sampled_from(POD_TEMPLATE_HASH_LABELS), label_values, min_size=1)


@given(labels=label_dicts, controller_labels=hash_labels)
def test_template_hash_ignores_pod_template_hash_labels(
    labels: dict[str, str], controller_labels: dict[str, str]
) -> None:
    plain = pod_template(labels=labels)
    stamped = pod_template(labels={**labels, **controller_labels})
    assert template_hash(stamped) == template_hash(plain)


@given(labels=label_dicts, key=label_keys, value=label_values)
def test_template_hash_sees_every_other_label(labels: dict[str, str], key: str, value: str) -> None:
    if key in POD_TEMPLATE_HASH_LABELS or labels.get(key) == value:
        return
    assert template_hash(pod_template(labels={**labels, key: value})) != template_hash(
        pod_template(labels=labels)
    )


@given(labels=label_dicts)
def test_template_hash_does_not_depend_on_key_order(labels: dict[str, str]) -> None:
    reordered = dict(reversed(list(labels.items())))
    assert template_hash(pod_template(labels=reordered)) == template_hash(pod_template(labels=labels))


def test_template_hash_sees_the_image() -> None:
    assert template_hash(pod_template(image="a:1")) != template_hash(pod_template(image="a:2"))


def test_template_hash_does_not_change_its_argument() -> None:
    template = pod_template(labels={"app": "x", "pod-template-hash": "abc"})
    before = copy.deepcopy(template)
    template_hash(template)
    assert template == before


# ---------------------------------------------------------------------------------------------------
# is_older


@pytest.mark.parametrize(
    ("version", "than", "older"),
    [
        ("100", "101", True),
        ("99", "100", True),
        ("101", "100", False),
        ("100", "100", False),
        ("", "100", False),
        ("100", "", False),
        ("abc", "100", False),
        ("100", "abc", False),
        ("9", "10", True),
    ],
)
def test_is_older(version: str, than: str, older: bool) -> None:
    assert is_older(version, than) is older


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_is_older_is_integer_order(a: int, b: int) -> None:
    assert is_older(str(a), str(b)) is (a < b)


# ---------------------------------------------------------------------------------------------------
# the collections, one per kind of the registry


def test_the_world_keeps_one_collection_per_registered_kind() -> None:
    world = World()
    assert [collection.model_type for collection in world.collections()] == list(RESOURCE_TYPES)
    for model in RESOURCE_TYPES:
        assert world.collection(model.names.plural).model_type is model
        assert world.collection(model.names.plural).plural == model.names.plural
    with pytest.raises(KeyError):
        world.collection("holdsets")


# ---------------------------------------------------------------------------------------------------
# observe_workload and record_write


def test_a_body_older_than_slogates_own_write_is_ignored() -> None:
    world = World()
    state = world.observe_workload(DEPLOYMENT, deployment(resource_version="100"), deleted=False)
    world.record_write(state.key, True, {HELD_ANNOTATION: "true", "slogate.dev/decision": "Hold"}, "105")
    written = world.workloads[state.key]
    assert written.held_by_slogate
    assert written.resource_version == "105"

    # The watch delivers an event from before the write: it must not undo the write in the cache.
    stale = world.observe_workload(DEPLOYMENT, deployment(resource_version="103"), deleted=False)
    assert stale is written
    assert world.workloads[state.key].held_by_slogate

    # The event of the write itself, and anything later, is taken in.
    echoed = deployment(paused=True, annotations={HELD_ANNOTATION: "true"}, resource_version="105")
    assert world.observe_workload(DEPLOYMENT, echoed, deleted=False).resource_version == "105"
    unpaused_by_someone = deployment(paused=False, resource_version="110")
    assert not world.observe_workload(DEPLOYMENT, unpaused_by_someone, deleted=False).paused
    assert not world.workloads[state.key].paused


def test_record_write_merges_and_removes_annotations() -> None:
    world = World()
    key = world.observe_workload(
        DEPLOYMENT, deployment(annotations={"team": "shop", HELD_ANNOTATION: "true"}, paused=True), False
    ).key
    world.record_write(key, False, {HELD_ANNOTATION: None, "slogate.dev/decision": "Resume"}, "50000")
    state = world.workloads[key]
    assert state.annotations["team"] == "shop"
    assert HELD_ANNOTATION not in state.annotations
    assert state.annotations["slogate.dev/decision"] == "Resume"
    assert state.paused is False
    # paused=None leaves the pause as it was.
    world.record_write(key, None, {"slogate.dev/decision": "Proceed"}, "50001")
    assert world.workloads[key].paused is False


def test_record_write_for_an_unknown_workload_does_nothing() -> None:
    world = World()
    world.record_write((DEPLOYMENT, "shop", "gone"), True, {HELD_ANNOTATION: "true"}, "7")
    assert world.workloads == {}


def test_non_numeric_versions_are_never_called_older() -> None:
    world = World()
    world.observe_workload(DEPLOYMENT, deployment(resource_version="abc"), deleted=False)
    newer = world.observe_workload(DEPLOYMENT, deployment(resource_version="1", paused=True), deleted=False)
    assert world.workloads[newer.key].paused


def test_deletion_forgets_the_workload() -> None:
    world = World()
    state = world.observe_workload(ROLLOUT, rollout(), deleted=False)
    world.observe_workload(ROLLOUT, rollout(), deleted=True)
    assert state.key not in world.workloads


# ---------------------------------------------------------------------------------------------------
# Scope: which resources reach which workloads


def meta(kind: str, name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "generation": 1,
            "creationTimestamp": "2026-05-01T11:00:00Z",
        },
    }


def freeze_body(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        **meta("ChangeFreeze", name, namespace),
        "spec": {"reason": "maintenance", "duration": "2h", **spec},
    }


def incident_body(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        **meta("Incident", name, namespace),
        "spec": {"severity": "P1", "title": "checkout 5xx", "state": "Mitigating", **spec},
    }


def gate_body(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {**meta("ReleaseGate", name, namespace), "spec": {"selector": {}, **spec}}


def slo_body(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {
        **meta("ServiceLevelObjective", name, namespace),
        "spec": {
            "objective": 99.9,
            "selector": {},
            "indicator": {"errorRatio": {"query": "sum(rate(errors[$window]))"}},
            **spec,
        },
    }


CHECKOUT = {"app.kubernetes.io/name": "checkout"}


@pytest.fixture
def world() -> World:
    world = World(platform_namespace=PLATFORM)
    world.observe_namespace({"metadata": {"name": "shop", "labels": {"env": "prod", "team": "shop"}}}, False)
    world.observe_namespace({"metadata": {"name": "blog", "labels": {"env": "dev"}}}, False)
    world.observe_namespace({"metadata": {"name": PLATFORM, "labels": {"env": "prod"}}}, False)
    world.observe_workload(DEPLOYMENT, deployment(name="checkout", namespace="shop"), False)
    world.observe_workload(ROLLOUT, rollout(name="payments", namespace="shop"), False)
    world.observe_workload(DEPLOYMENT, deployment(name="web", namespace="blog"), False)
    return world


def names(tracked: list[Any]) -> list[str]:
    return sorted(f"{item.namespace}/{item.name}" for item in tracked)


def keys(world: World, namespace: str, name: str) -> Any:
    state = next(s for s in world.workloads.values() if (s.namespace, s.name) == (namespace, name))
    return world.as_workload(state)


def test_gates_reach_their_own_namespace_only(world: World) -> None:
    world.gates.observe(gate_body("checkout", "shop", selector={"matchLabels": CHECKOUT}), False)
    world.gates.observe(gate_body("everything", "shop"), False)
    world.gates.observe(gate_body("platform", PLATFORM), False)
    world.gates.observe(gate_body("blog", "blog"), False)
    assert names(world.gates_for(keys(world, "shop", "checkout"))) == ["shop/checkout", "shop/everything"]
    assert names(world.gates_for(keys(world, "shop", "payments"))) == ["shop/everything"]
    assert names(world.gates_for(keys(world, "blog", "web"))) == ["blog/blog"]


def test_slos_reach_their_own_namespace_only(world: World) -> None:
    world.slos.observe(slo_body("checkout", "shop", selector={"matchLabels": CHECKOUT}), False)
    world.slos.observe(slo_body("platform", PLATFORM), False)
    assert names(world.slos_for(keys(world, "shop", "checkout"))) == ["shop/checkout"]
    assert world.slos_for(keys(world, "shop", "payments")) == []
    assert world.slos_for(keys(world, "blog", "web")) == []


def test_platform_freezes_reach_other_namespaces_by_namespace_selector(world: World) -> None:
    world.freezes.observe(
        freeze_body("prod", PLATFORM, namespaceSelector={"matchLabels": {"env": "prod"}}), False
    )
    world.freezes.observe(freeze_body("platform-only", PLATFORM), False)
    assert names(world.freezes_for(keys(world, "shop", "checkout"))) == [f"{PLATFORM}/prod"]
    assert world.freezes_for(keys(world, "blog", "web")) == []


def test_a_tenant_namespace_selector_is_ignored(world: World) -> None:
    # A freeze in a tenant namespace naming another namespace reaches only its own workloads.
    world.freezes.observe(
        freeze_body("reach", "shop", namespaceSelector={"matchLabels": {"env": "dev"}}), False
    )
    assert names(world.freezes_for(keys(world, "shop", "checkout"))) == ["shop/reach"]
    assert world.freezes_for(keys(world, "blog", "web")) == []
    world.incidents.observe(incident_body("reach", "blog", affectedSelector={}, namespaceSelector={}), False)
    assert world.incidents_for(keys(world, "shop", "checkout")) == []
    assert names(world.incidents_for(keys(world, "blog", "web"))) == ["blog/reach"]


def test_platform_incidents_reach_by_namespace_and_label(world: World) -> None:
    world.incidents.observe(
        incident_body("p1", PLATFORM, affectedSelector={"matchLabels": CHECKOUT}, namespaceSelector={}), False
    )
    assert names(world.incidents_for(keys(world, "shop", "checkout"))) == [f"{PLATFORM}/p1"]
    assert world.incidents_for(keys(world, "shop", "payments")) == []
    assert world.incidents_for(keys(world, "blog", "web")) == []


def test_without_a_platform_namespace_nothing_crosses_namespaces() -> None:
    world = World(platform_namespace=None)
    world.observe_namespace({"metadata": {"name": "shop", "labels": {"env": "prod"}}}, False)
    state = world.observe_workload(DEPLOYMENT, deployment(), False)
    world.freezes.observe(freeze_body("prod", PLATFORM, namespaceSelector={}), False)
    assert world.freezes_for(world.as_workload(state)) == []


def test_invalid_resources_reach_nothing(world: World) -> None:
    tracked = world.freezes.observe(freeze_body("broken", "shop", timeZone="Mars/Olympus_Mons"), False)
    assert tracked.model is None
    assert any("timeZone" in problem.field for problem in tracked.problems)
    assert world.freezes_for(keys(world, "shop", "checkout")) == []
    assert compute_reach(world).selected_by("freeze", tracked) == []


def test_selected_by(world: World) -> None:
    platform = world.freezes.observe(
        freeze_body("prod", PLATFORM, namespaceSelector={"matchLabels": {"env": "prod"}}), False
    )
    assert [s.key for s in compute_reach(world).selected_by("freeze", platform)] == [
        (DEPLOYMENT, "shop", "checkout"),
        (ROLLOUT, "shop", "payments"),
    ]
    incident = world.incidents.observe(
        incident_body("p1", "shop", affectedSelector={"matchLabels": CHECKOUT}), False
    )
    assert [s.key for s in compute_reach(world).selected_by("incident", incident)] == [
        (DEPLOYMENT, "shop", "checkout")
    ]
    gate = world.gates.observe(gate_body("all", "blog"), False)
    assert [s.key for s in compute_reach(world).selected_by("gate", gate)] == [(DEPLOYMENT, "blog", "web")]


def test_the_cycle_index_answers_exactly_as_scope_does(world: World) -> None:
    """compute_reach skips pairs through a label index; it must never change who reaches whom."""
    world.gates.observe(gate_body("checkout", "shop", selector={"matchLabels": CHECKOUT}), False)
    world.gates.observe(gate_body("everything", "shop"), False)
    world.slos.observe(slo_body("checkout", "shop", selector={"matchLabels": CHECKOUT}), False)
    world.freezes.observe(
        freeze_body("prod", PLATFORM, namespaceSelector={"matchLabels": {"env": "prod"}}), False
    )
    world.freezes.observe(
        freeze_body("reach", "shop", namespaceSelector={"matchLabels": {"env": "dev"}}), False
    )
    world.incidents.observe(
        incident_body("p1", PLATFORM, affectedSelector={"matchLabels": CHECKOUT}, namespaceSelector={}), False
    )
    world.incidents.observe(incident_body("blog", "blog", affectedSelector={}), False)
    reach = compute_reach(world)
    for state in world.workloads.values():
        workload = world.as_workload(state)
        found = reach.for_workload(state.key)
        assert names(found.gates) == names(world.gates_for(workload))
        assert names(found.slos) == names(world.slos_for(workload))
        assert names(found.freezes) == names(world.freezes_for(workload))
        assert names(found.incidents) == names(world.incidents_for(workload))


small_labels = st.dictionaries(
    st.sampled_from(["app", "tier", "team"]), st.sampled_from(["a", "b"]), max_size=3
)
selectors = st.one_of(
    st.just({}),
    st.builds(lambda labels: {"matchLabels": labels}, small_labels),
    st.builds(
        lambda labels, key: {
            "matchLabels": labels,
            "matchExpressions": [{"key": key, "operator": "Exists"}],
        },
        small_labels,
        st.sampled_from(["app", "tier", "team"]),
    ),
)
# Each step: (what, resource number, namespace, selector): a spec written, a status written, a deletion.
steps = st.lists(
    st.tuples(
        st.sampled_from(["spec", "status", "delete"]),
        st.integers(min_value=0, max_value=5),
        st.sampled_from(["shop", "blog"]),
        selectors,
    ),
    max_size=25,
)


@given(steps=steps, workload_labels=st.lists(small_labels, min_size=1, max_size=4))
def test_the_selector_index_answers_exactly_as_scope_does(
    steps: list[tuple[str, int, str, dict[str, Any]]], workload_labels: list[dict[str, str]]
) -> None:
    """gates_for and slos_for answer from a SelectorIndex, rebuilt after a spec changes; whatever the
    sequence of writes, they must name exactly the resources ``governs`` names, in the same order."""
    world = World(platform_namespace=PLATFORM)
    for what, number, namespace, selector in steps:
        gate = gate_body(f"gate-{number}", namespace, selector=selector)
        slo = slo_body(f"slo-{number}", namespace, selector=selector)
        for collection, body in ((world.gates, gate), (world.slos, slo)):
            known = collection.get(namespace, body["metadata"]["name"])
            if what == "status" and known is not None:
                collection.observe({**known.body, "status": {"observedGeneration": 1}}, deleted=False)
            elif what != "status":
                collection.observe(body, deleted=what == "delete")
        for index, labels in enumerate(workload_labels):
            for workload_namespace in ("shop", "blog"):
                state = world.observe_workload(
                    DEPLOYMENT,
                    deployment(name=f"w{index}", namespace=workload_namespace, labels=labels),
                    False,
                )
                workload = world.as_workload(state)
                assert world.gates_for(workload) == [
                    gate
                    for gate in world.gates.valid()
                    if gate.model is not None
                    and governs(gate.namespace, gate.model.spec.selector, None, workload, PLATFORM)
                ]
                assert world.slos_for(workload) == [
                    slo
                    for slo in world.slos.valid()
                    if slo.model is not None
                    and governs(slo.namespace, slo.model.spec.selector, None, workload, PLATFORM)
                ]


def test_workloads_in_reach_of(world: World) -> None:
    assert {s.name for s in world.workloads_in_reach_of(PLATFORM)} == {"checkout", "payments", "web"}
    assert {s.name for s in world.workloads_in_reach_of("shop")} == {"checkout", "payments"}
    assert {s.name for s in world.workloads_in_reach_of("blog")} == {"web"}
    assert world.workloads_in_reach_of("elsewhere") == []


def test_namespace_labels_follow_the_namespace(world: World) -> None:
    world.freezes.observe(
        freeze_body("prod", PLATFORM, namespaceSelector={"matchLabels": {"env": "prod"}}), False
    )
    world.observe_namespace({"metadata": {"name": "blog", "labels": {"env": "prod"}}}, False)
    assert names(world.freezes_for(keys(world, "blog", "web"))) == [f"{PLATFORM}/prod"]
    world.observe_namespace({"metadata": {"name": "blog"}}, True)
    assert world.freezes_for(keys(world, "blog", "web")) == []
