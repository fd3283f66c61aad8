"""The Helm chart installed with the real helm into the real API server, and its RBAC as the API
server's authorizer sees it (``kubectl auth can-i --as`` the operator's ServiceAccount).

kwok plays the kubelet, so the operator pods are scheduled and reported Ready without running a
container; what is checked here is what the chart gives the cluster, not the operator's behaviour.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from harness.chart import (
    CHART,
    PROMETHEUS,
    can_i,
    extra_namespaces,
    installed,
    namespaced,
    operator_args,
    service_account_kubeconfig,
)
from harness.cluster import ROOT, Cluster
from harness.kube import apply, get
from harness.manifests import deployment
from harness.observe import spec_paused, status_of
from harness.operator import running_operator
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until
from slogate.api.gate import ReleaseGate
from slogate.api.holdset import HoldSet
from slogate.api.incident import Incident
from slogate.api.kinds import RESOURCE_TYPES
from slogate.api.slo import ServiceLevelObjective
from slogate.cli import build_parser, settings_from

pytestmark = [pytest.mark.cluster]

LOGS = ROOT / ".cluster" / "logs"

ADMISSION_POLICY = ROOT / "deploy" / "admission" / "slogate-hold.yaml"
WORKLOADS = ("deployments", "rollouts.argoproj.io")


def cluster_object_exists(cluster: Cluster, kind: str, name: str) -> bool:
    return cluster.kubectl("get", kind, name, "--ignore-not-found", "-o", "name", check=False).stdout != ""


@contextmanager
def admission_policy_left_to_the_chart(cluster: Cluster) -> Iterator[None]:
    """The cluster's slogate-hold policy and binding (other tests' operators install them) removed,
    so the release installs its own; put back afterwards."""
    for kind in ("mutatingadmissionpolicybinding", "mutatingadmissionpolicy"):
        cluster.kubectl("delete", kind, "slogate-hold", "--ignore-not-found")
    try:
        yield
    finally:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ADMISSION_POLICY))


ADMISSION_OBJECTS = ("mutatingadmissionpolicy", "mutatingadmissionpolicybinding")


def admission_object(cluster: Cluster, kind: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        cluster.kubectl("get", kind, "slogate-hold", "--show-managed-fields", "-o", "json").stdout
    )
    return found


def release_of(found: dict[str, Any]) -> tuple[str, str, str]:
    metadata = found["metadata"]
    annotations = metadata.get("annotations", {})
    return (
        metadata.get("labels", {}).get("app.kubernetes.io/managed-by", ""),
        annotations.get("meta.helm.sh/release-namespace", ""),
        annotations.get("meta.helm.sh/release-name", ""),
    )


@contextmanager
def namespace_named(cluster: Cluster, name: str) -> Iterator[str]:
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.prometheus
def test_helm_install_after_slogate_run_adopts_what_the_operator_installed(
    slogate_crds: Cluster, prometheus: Prometheus
) -> None:
    """The newcomer's path, with the README's commands: `slogate run` first (it installs the
    admission policy and binding itself, and the CRDs are already applied), then `helm install
    slogate -n slogate-system`, which takes them over instead of refusing to import them."""
    cluster = slogate_crds
    namespace, release = "slogate-system", "slogate"
    log = LOGS / "operator-before-helm-install.log"
    with (
        admission_policy_left_to_the_chart(cluster),
        extra_namespaces(cluster, 1) as (team,),
        running_operator(cluster, prometheus.url, log, f"--namespace={team}"),
    ):
        wait_until(
            lambda: all(cluster_object_exists(cluster, kind, "slogate-hold") for kind in ADMISSION_OBJECTS),
            30,
            "the operator to install the policy and its binding",
        )
        for kind in ADMISSION_OBJECTS:
            assert release_of(admission_object(cluster, kind)) == ("Helm", namespace, release), kind
        assert admission_object(cluster, "mutatingadmissionpolicy")["spec"]["failurePolicy"] == "Ignore"

        with (
            namespace_named(cluster, namespace),
            installed(cluster, release, namespace, "--set", "admission.failurePolicy=Fail"),
        ):
            # The release owns them now: its values are applied to what it adopted.
            assert admission_object(cluster, "mutatingadmissionpolicy")["spec"]["failurePolicy"] == "Fail"
            for kind in ADMISSION_OBJECTS:
                assert release_of(admission_object(cluster, kind)) == ("Helm", namespace, release), kind
            for crd in (model.names.crd_name for model in RESOURCE_TYPES):
                assert cluster_object_exists(cluster, "crd", crd), crd
            cluster.helm("upgrade", release, CHART, "-n", namespace, "--reuse-values")
        # Uninstalled with the operator still running: it does not put them back behind helm's back.
        for kind in ADMISSION_OBJECTS:
            assert not cluster_object_exists(cluster, kind, "slogate-hold"), f"{kind} left by uninstall"


@pytest.mark.prometheus
def test_slogate_run_leaves_the_charts_admission_objects_alone(
    slogate_crds: Cluster, namespace: str, prometheus: Prometheus
) -> None:
    """The other order: with the chart installed, a local `slogate run` (whose own settings differ:
    failure policy Ignore, the default release) writes nothing to the chart's policy or binding,
    and the release still upgrades and uninstalls cleanly."""
    cluster = slogate_crds
    release = f"slogate-{namespace}"
    log = LOGS / f"operator-beside-chart-{namespace}.log"
    with admission_policy_left_to_the_chart(cluster), extra_namespaces(cluster, 1) as (team,):
        with installed(cluster, release, namespace, "--set", "admission.failurePolicy=Fail"):
            before = {kind: admission_object(cluster, kind) for kind in ADMISSION_OBJECTS}
            with running_operator(cluster, prometheus.url, log, f"--namespace={team}") as running:
                assert 'slogate_admission_mode{mode="MutatingAdmissionPolicy"} 1.0' in running.metrics()
                for kind in ADMISSION_OBJECTS:
                    now = admission_object(cluster, kind)
                    version = now["metadata"]["resourceVersion"]
                    assert version == before[kind]["metadata"]["resourceVersion"], kind
                    managers = {entry["manager"] for entry in now["metadata"].get("managedFields", [])}
                    assert "slogate" not in managers, kind
                    assert release_of(now) == ("Helm", namespace, release), kind
                policy = admission_object(cluster, "mutatingadmissionpolicy")
                assert policy["spec"]["failurePolicy"] == "Fail"
                cluster.helm("upgrade", release, CHART, "-n", namespace, "--reuse-values")
            assert "installed MutatingAdmissionPolicy" not in log.read_text()
        for kind in ADMISSION_OBJECTS:
            assert not cluster_object_exists(cluster, kind, "slogate-hold"), f"{kind} left by uninstall"


def test_cluster_wide_install_objects_and_least_privilege(cluster: Cluster, namespace: str) -> None:
    with admission_policy_left_to_the_chart(cluster):
        install_check_and_uninstall(cluster, namespace)


def install_check_and_uninstall(cluster: Cluster, namespace: str) -> None:
    release = f"slogate-{namespace}"
    with (
        extra_namespaces(cluster, 1) as (tenant,),
        installed(cluster, release, namespace),
    ):
        for kind in ("mutatingadmissionpolicy", "mutatingadmissionpolicybinding"):
            policy = json.loads(cluster.kubectl("get", kind, "slogate-hold", "-o", "json").stdout)
            assert policy["metadata"]["annotations"]["meta.helm.sh/release-name"] == release, kind
        for crd in (model.names.crd_name for model in RESOURCE_TYPES):
            assert cluster_object_exists(cluster, "crd", crd), crd

        check_operator_deployment(cluster, release, namespace)
        check_cluster_wide_rbac(cluster, release, namespace, tenant)

    # helm uninstall removes what the release installed. CRDs stay (Helm never deletes crds/), so
    # an uninstall cannot take every SLO, gate, freeze and incident in the cluster with it.
    for kind, name in (
        ("clusterrole", release),
        ("clusterrolebinding", release),
        ("mutatingadmissionpolicy", "slogate-hold"),
        ("mutatingadmissionpolicybinding", "slogate-hold"),
    ):
        assert not cluster_object_exists(cluster, kind, name), f"{kind}/{name} left after uninstall"
    left = cluster.kubectl(
        "get",
        "deploy,sa,svc,pdb,role,rolebinding",
        "-n",
        namespace,
        "-l",
        f"app.kubernetes.io/instance={release}",
        "-o",
        "name",
    )
    assert left.stdout == ""
    assert cluster_object_exists(cluster, "crd", ServiceLevelObjective.names.crd_name)


def check_operator_deployment(cluster: Cluster, release: str, namespace: str) -> None:
    """Hardened pod, two replicas, probes on the health port, and flags `slogate run` accepts."""
    deployment = get(cluster, "deployment", release, namespace)
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["serviceAccountName"] == release
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["resources"]["requests"]
    assert container["resources"]["limits"]
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "health",
        "scheme": "HTTP",
    }
    assert container["readinessProbe"]["httpGet"]["port"] == "health"

    # The rendered arguments are ones the real `slogate run` accepts, meaning what the values say.
    args = build_parser().parse_args(container["args"])
    settings = settings_from(args)
    assert settings.prometheus.url == PROMETHEUS
    assert settings.namespaces == ()
    assert settings.leader_election is not None
    assert (settings.leader_election.namespace, settings.leader_election.name) == (namespace, release)
    assert settings.health_port == 8081
    assert settings.metrics_port == 9464
    assert settings.admission.validation_webhook, "the chart refuses invalid slogate resources by default"

    service = get(cluster, "service", f"{release}-metrics", namespace)
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert get(cluster, "pdb", release, namespace)["spec"]["minAvailable"] == 1
    wait_until(
        lambda: get(cluster, "deployment", release, namespace)["status"].get("readyReplicas") == 2,
        60,
        "both operator replicas Ready (kwok)",
    )


def check_cluster_wide_rbac(cluster: Cluster, release: str, namespace: str, tenant: str) -> None:
    """What the operator may do in any namespace (``tenant``), and what it may never do."""
    account = f"system:serviceaccount:{namespace}:{release}"
    for workloads in WORKLOADS:
        assert can_i(cluster, account, "patch", workloads, "-n", tenant)
        assert can_i(cluster, account, "watch", workloads, "-n", tenant)
        assert not can_i(cluster, account, "delete", workloads, "-n", tenant)
        assert not can_i(cluster, account, "create", workloads, "-n", tenant)
        assert not can_i(cluster, account, "update", workloads, "-n", tenant)
    assert can_i(cluster, account, "patch", "rollouts.argoproj.io", "--subresource=status", "-n", tenant)
    for resource in (model.names.crd_name for model in RESOURCE_TYPES):
        assert can_i(cluster, account, "patch", resource, "--subresource=status", "-n", tenant), resource
        assert can_i(cluster, account, "list", resource, "-n", tenant), resource
        assert not can_i(cluster, account, "patch", resource, "-n", tenant), resource
        assert not can_i(cluster, account, "delete", resource, "-n", tenant), resource
        assert not can_i(cluster, account, "create", resource, "-n", tenant), resource
    assert can_i(cluster, account, "create", "events", "-n", tenant)
    for verb in ("list", "watch", "create", "patch", "delete"):
        assert can_i(cluster, account, verb, HoldSet.names.crd_name, "-n", tenant), verb
    assert can_i(cluster, account, "patch", HoldSet.names.crd_name, "--subresource=status", "-n", tenant)
    assert can_i(cluster, account, "list", "pods", "-n", tenant)
    assert not can_i(cluster, account, "delete", "pods", "-n", tenant)
    policies = "mutatingadmissionpolicies.admissionregistration.k8s.io"
    assert can_i(cluster, account, "get", f"{policies}/slogate-hold")
    assert not can_i(cluster, account, "patch", f"{policies}/slogate-hold")
    assert not can_i(cluster, account, "delete", f"{policies}/slogate-hold")
    # Validation is on by default: kopf creates both webhook configurations and patches only its own.
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        configurations = f"{kind}.admissionregistration.k8s.io"
        assert can_i(cluster, account, "create", configurations)
        assert can_i(cluster, account, "patch", f"{configurations}/slogate-hold.slogate.dev")
        assert not can_i(cluster, account, "patch", f"{configurations}/another-webhook")
        assert not can_i(cluster, account, "delete", f"{configurations}/slogate-hold.slogate.dev")
    assert can_i(cluster, account, "list", "namespaces")
    assert can_i(cluster, account, "watch", "customresourcedefinitions.apiextensions.k8s.io")
    check_lease_rbac(cluster, account, release, namespace)
    for secrets_namespace in (tenant, "kube-system", namespace):
        assert not can_i(cluster, account, "get", "secrets", "-n", secrets_namespace)
        assert not can_i(cluster, account, "list", "secrets", "-n", secrets_namespace)
    for owned_by_others in ("pods", "replicasets.apps", "services", "configmaps", "namespaces"):
        assert not can_i(cluster, account, "delete", owned_by_others, "-n", tenant), owned_by_others
    assert not can_i(cluster, account, "delete", "customresourcedefinitions.apiextensions.k8s.io")
    assert not can_i(cluster, account, "patch", "namespaces")
    assert not can_i(cluster, account, "*", "*", "--all-namespaces")

    rules = get_cluster_role_rules(cluster, release)
    assert {verb for rule in rules for verb in rule["verbs"]} <= {
        "get",
        "list",
        "watch",
        "patch",
        "create",
        "delete",
    }
    # Its SLOs' PrometheusRules (read from the ClusterRole: can-i needs the CRD served).
    monitoring = [rule for rule in rules if rule["apiGroups"] == ["monitoring.coreos.com"]]
    assert [(rule["resources"], rule["verbs"]) for rule in monitoring] == [
        (["prometheusrules"], ["list", "create", "patch"])
    ]
    # It creates Events, its own HoldSets, its webhook configurations and its SLOs' PrometheusRules,
    # and deletes nothing but its own HoldSets (the garbage collector deletes the PrometheusRules
    # with their SLO).
    creating = sorted(rule["resources"] for rule in rules if "create" in rule["verbs"])
    assert creating == [
        ["events"],
        [HoldSet.names.plural],
        ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
        ["prometheusrules"],
    ]
    assert [rule["resources"] for rule in rules if "delete" in rule["verbs"]] == [[HoldSet.names.plural]]


def check_lease_rbac(cluster: Cluster, account: str, release: str, namespace: str) -> None:
    """The leader Lease: created in the release namespace, and only this release's read and renewed."""
    leases = "leases.coordination.k8s.io"
    assert can_i(cluster, account, "create", leases, "-n", namespace)
    for verb in ("get", "update"):
        assert can_i(cluster, account, verb, f"{leases}/{release}", "-n", namespace), verb
        assert not can_i(cluster, account, verb, f"{leases}/another-operator", "-n", namespace), verb
    assert not can_i(cluster, account, "delete", f"{leases}/{release}", "-n", namespace)
    assert not can_i(cluster, account, "patch", f"{leases}/{release}", "-n", namespace)
    assert not can_i(cluster, account, "update", f"{leases}/kube-controller-manager", "-n", "kube-system")
    assert not can_i(cluster, account, "create", leases, "-n", "kube-system")


def get_cluster_role_rules(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    role = json.loads(cluster.kubectl("get", "clusterrole", name, "-o", "json").stdout)
    rules: list[dict[str, Any]] = role["rules"]
    return rules


def test_namespaced_mode_writes_only_in_the_watched_namespaces(cluster: Cluster, namespace: str) -> None:
    release = f"slogate-{namespace}"
    account = f"system:serviceaccount:{namespace}:{release}"
    with extra_namespaces(cluster, 3) as (team_a, team_b, outsider):
        watched = f"watchNamespaces={{{team_a},{team_b}}}"
        with installed(
            cluster, release, namespace, "--set", watched, "--set", "admission.installPolicy=false"
        ):
            assert cluster.kubectl("get", "role", release, "-n", team_a, "-o", "name").stdout.strip()
            settings = settings_from(build_parser().parse_args(operator_args(cluster, release, namespace)))
            assert settings.namespaces == (team_a, team_b)

            for team in (team_a, team_b):
                for workloads in WORKLOADS:
                    assert can_i(cluster, account, "patch", workloads, "-n", team)
                assert can_i(
                    cluster, account, "patch", Incident.names.crd_name, "--subresource=status", "-n", team
                )
            for workloads in (*WORKLOADS, "events"):
                assert not can_i(cluster, account, "patch", workloads, "-n", outsider), workloads
                assert not can_i(cluster, account, "create", workloads, "-n", outsider), workloads
                assert not can_i(cluster, account, "patch", workloads, "--all-namespaces"), workloads
            assert not can_i(
                cluster, account, "patch", ReleaseGate.names.crd_name, "--subresource=status", "-n", outsider
            )
            assert not can_i(cluster, account, "get", "secrets", "-n", team_a)
            assert can_i(cluster, account, "list", "namespaces")
            check_lease_rbac(cluster, account, release, namespace)

            # Cluster-wide, the operator only reads (namespace labels, CRDs for kopf), but for its
            # own webhook configurations (validation is on by default), which are cluster-scoped.
            rules = get_cluster_role_rules(cluster, release)
            writing = [rule for rule in rules if set(rule["verbs"]) - {"get", "list", "watch"}]
            assert {resource for rule in writing for resource in rule["resources"]} == {
                "mutatingwebhookconfigurations",
                "validatingwebhookconfigurations",
            }
        assert not cluster.kubectl("get", "role", "-n", team_a, "-o", "name").stdout.strip()


@pytest.mark.prometheus
def test_the_operator_works_with_only_the_namespaced_rbac(
    cluster: Cluster, namespace: str, prometheus: Prometheus
) -> None:
    """The real operator, authenticated as the chart's ServiceAccount in namespaced mode with two
    the leader Lease, takes the Lease, lists, holds, writes status and posts Events without one
    Forbidden."""
    release = f"slogate-{namespace}"
    with (
        extra_namespaces(cluster, 1) as (team,),
        installed(
            cluster,
            release,
            namespace,
            *namespaced(team),
        ),
    ):
        as_operator = service_account_kubeconfig(cluster, namespace, release)
        log = LOGS / f"operator-chart-{namespace}.log"
        rendered = operator_args(cluster, release, namespace)
        scope = [arg for arg in rendered if arg.startswith(("--namespace=", "--leader-election-lease="))]
        apply(cluster, deployment("api", "registry.example/api:1", replicas=1), team)
        with running_operator(as_operator, prometheus.url, log, *scope):
            apply(cluster, freeze("release-freeze", duration="1h"), team)
            wait_until(lambda: spec_paused(cluster, "deployment", "api", team), 20, "the freeze to hold api")
            wait_until(
                lambda: status_of(cluster, "sgfreeze", "release-freeze", team).get("active") is True,
                20,
                "the freeze's status written",
            )
            events = cluster.kubectl("get", "events", "-n", team, "-o", "json").stdout
            assert '"component": "slogate"' in events
            lease = get(cluster, "lease", release, namespace)
            assert lease["spec"].get("holderIdentity"), "the operator took its leader Lease"
        text = log.read_text()
        for refusal in ("Forbidden", "forbidden", "Not enough permissions", "no permission"):
            assert refusal not in text, f"{refusal!r} in {log}"


def secret_data(cluster: Cluster, name: str, namespace: str) -> dict[str, bytes]:
    secret = get(cluster, "secret", name, namespace)
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def test_webhook_replicas_share_one_certificate_kept_across_upgrades(
    cluster: Cluster, namespace: str
) -> None:
    """With the fallback webhook, the Service may send a write to either replica, and the API server
    trusts one caBundle: both replicas must serve one certificate, signed by that CA, for the
    Service's name; an upgrade must not rotate it under running pods."""
    release = f"slogate-{namespace}"
    webhook = ("--set", "admission.mode=webhook", "--set", "admission.installPolicy=false")
    with installed(cluster, release, namespace, *webhook):
        tls = secret_data(cluster, f"{release}-webhook-tls", namespace)
        assert get(cluster, "secret", f"{release}-webhook-tls", namespace)["type"] == "kubernetes.io/tls"
        ca = x509.load_pem_x509_certificate(tls["ca.crt"])
        served = x509.load_pem_x509_certificate(tls["tls.crt"])
        served.verify_directly_issued_by(ca)
        names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert f"{release}-webhook.{namespace}.svc" in names.get_values_for_type(x509.DNSName)
        assert load_pem_private_key(tls["tls.key"], None).public_key() == served.public_key()

        pod = get(cluster, "deployment", release, namespace)["spec"]["template"]["spec"]
        mounted = {volume["name"]: volume for volume in pod["volumes"]}["webhook-tls"]
        assert mounted["secret"]["secretName"] == f"{release}-webhook-tls"
        settings = settings_from(build_parser().parse_args(pod["containers"][0]["args"]))
        mount = {each["name"]: each for each in pod["containers"][0]["volumeMounts"]}["webhook-tls"]
        assert settings.admission.webhook_cert_dir == Path(mount["mountPath"])
        assert mount["readOnly"] is True
        assert settings.admission.webhook_service == f"{namespace}/{release}-webhook"

        cluster.helm("upgrade", release, CHART, "-n", namespace, "--reuse-values", "--set", "logFormat=plain")
        assert secret_data(cluster, f"{release}-webhook-tls", namespace) == tls, "helm upgrade rotated it"

    given = ("--set", "admission.webhook.certificate.existingSecret=from-cert-manager")
    with installed(cluster, release, namespace, *webhook, *given):
        made = cluster.kubectl("get", "secret", f"{release}-webhook-tls", "-n", namespace, check=False)
        assert made.returncode != 0, "the chart made a certificate although one was given"
        pod = get(cluster, "deployment", release, namespace)["spec"]["template"]["spec"]
        mounted = {volume["name"]: volume for volume in pod["volumes"]}["webhook-tls"]
        assert mounted["secret"]["secretName"] == "from-cert-manager"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("replicaCount=0", "at '/replicaCount': minimum: got 0, want 1"),
        ("onPrometheusUnavailable=Sometimes", "value must be one of 'Hold', 'Proceed'"),
        ("prometheus.url=", "at '/prometheus/url'"),
        ("replicas=3", "additional properties 'replicas' not allowed"),
    ],
)
def test_bad_values_are_refused_and_nothing_is_installed(
    cluster: Cluster, namespace: str, setting: str, message: str
) -> None:
    release = f"slogate-{namespace}"
    result = cluster.helm(
        "install",
        release,
        CHART,
        "-n",
        namespace,
        "--set",
        f"prometheus.url={PROMETHEUS}",
        "--set",
        setting,
        check=False,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert cluster.helm("list", "-n", namespace, "-q").stdout.strip() == ""
