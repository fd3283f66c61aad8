#!/usr/bin/env bash
# `make chart-check`: the Helm chart lints clean (also --strict), renders in both modes, and
# refuses bad values with a message naming the value. Needs only the helm binary, no cluster.
set -euo pipefail
HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=hack/lib.sh
source "$HACK/lib.sh"
CHART="$ROOT/charts/slogate"
helm="$(component_dir helm "$HELM_VERSION")/helm"
[[ -x "$helm" ]] || die "helm $HELM_VERSION is missing from $SLOGATE_CACHE; run 'make binaries'"

for values in "$CHART"/ci/*-values.yaml; do
  "$helm" lint --strict "$CHART" -f "$values" >/dev/null || {
    "$helm" lint --strict "$CHART" -f "$values"
    die "helm lint --strict failed with $(basename "$values")"
  }
  "$helm" template slogate "$CHART" -n slogate-system -f "$values" >/dev/null
done
# The fallback webhook: both replicas mount one certificate Secret, made by the chart or given.
rendered="$("$helm" template slogate "$CHART" -n slogate-system -f "$CHART/ci/cluster-values.yaml" --set admission.mode=webhook)"
for expected in "name: slogate-webhook-tls" "type: kubernetes.io/tls" "secretName: slogate-webhook-tls" \
  "--admission-webhook-cert-dir=/var/run/secrets/slogate/webhook-tls" "--admission-webhook-service=slogate-system/slogate-webhook"; do
  [[ "$rendered" == *"$expected"* ]] || die "admission.mode=webhook renders no '$expected'"
done
rendered="$("$helm" template slogate "$CHART" -f "$CHART/ci/cluster-values.yaml" --set admission.mode=webhook \
  --set admission.webhook.certificate.existingSecret=webhook-cert)"
[[ "$rendered" != *"kind: Secret"* && "$rendered" == *"secretName: webhook-cert"* ]] ||
  die "admission.webhook.certificate.existingSecret must replace the chart's certificate Secret"
# Validation (on by default) serves the webhook server whatever the admission mode; off, with the
# policy in use, the chart opens no webhook port.
rendered="$("$helm" template slogate "$CHART" -n slogate-system -f "$CHART/ci/cluster-values.yaml")"
for expected in '"--validation-webhook"' "name: slogate-webhook" '"validatingwebhookconfigurations"' \
  "--admission-webhook-service=slogate-system/slogate-webhook"; do
  [[ "$rendered" == *"$expected"* ]] || die "admission.validation.enabled=true renders no '$expected'"
done
rendered="$("$helm" template slogate "$CHART" -f "$CHART/ci/cluster-values.yaml" --set admission.mode=off \
  --set admission.validation.enabled=false)"
[[ "$rendered" != *"validation-webhook"* && "$rendered" != *"webhookconfigurations"* && "$rendered" != *"containerPort: 9443"* ]] ||
  die "admission.validation.enabled=false with admission.mode=off must serve no webhook"
# Recording rules: the ConfigMap option renders its flag and a Role on that one name; off drops the
# PrometheusRule permissions.
rendered="$("$helm" template slogate "$CHART" -n slogate-system -f "$CHART/ci/cluster-values.yaml" \
  --set recordingRules.configMap.enabled=true --set recordingRules.prometheusRuleLabels.release=kps)"
for expected in "--rules-configmap=slogate-system/slogate-rules" 'resourceNames: ["slogate-rules"]' \
  "--prometheus-rule-labels=release=kps" 'resources: ["prometheusrules"]'; do
  [[ "$rendered" == *"$expected"* ]] || die "recordingRules.configMap.enabled=true renders no '$expected'"
done
rendered="$("$helm" template slogate "$CHART" -f "$CHART/ci/cluster-values.yaml" --set recordingRules.prometheusRules=off)"
[[ "$rendered" != *"prometheusrules"* && "$rendered" == *"--prometheus-rules=off"* ]] ||
  die "recordingRules.prometheusRules=off must pass the flag and grant no prometheusrules permission"
# The incident intake: its flags, files, Service and the Incident permissions, only when enabled.
rendered="$("$helm" template slogate "$CHART" -n slogate-system -f "$CHART/ci/cluster-values.yaml" \
  --set intake.enabled=true --set intake.credentials.existingSecret=intake-creds \
  --set intake.credentials.pagerdutySecretsKey=pagerduty --set intake.tls.existingSecret=intake-tls \
  --set intake.mapping.services.checkout.namespace=shop)"
for expected in "--intake-port=9095" "--intake-pagerduty-secret-file=/var/run/secrets/slogate/intake/pagerduty" \
  "--intake-tls-dir=/var/run/secrets/slogate/intake-tls" "name: slogate-intake" "secretName: intake-creds" \
  'resources: ["incidents"]' "namespace: shop"; do
  [[ "$rendered" == *"$expected"* ]] || die "intake.enabled=true renders no '$expected'"
done
[[ "$rendered" != *"--intake-alertmanager-token-file"* ]] || die "an empty credentials key must pass no flag"
rendered="$("$helm" template slogate "$CHART" -f "$CHART/ci/cluster-values.yaml")"
[[ "$rendered" != *"intake"* ]] || die "the intake must render nothing while intake.enabled=false"
info "chart lints clean and renders with $(ls "$CHART"/ci/*-values.yaml | wc -l) values files"

# Each bad value, and a fragment the error must contain so the user knows what to fix.
refused=(
  "replicaCount=0|at '/replicaCount': minimum"
  "replicaCount=two|at '/replicaCount': got string, want integer"
  "replicas=2|additional properties 'replicas' not allowed"
  "prometheus.url=|at '/prometheus/url'"
  "onPrometheusUnavailable=Maybe|value must be one of 'Hold', 'Proceed'"
  "logFormat=xml|at '/logFormat'"
  "strategy.type=BlueGreen|at '/strategy/type'"
  "image.pullPolicy=Sometimes|at '/image/pullPolicy'"
  "watchNamespaces={Bad_NS}|at '/watchNamespaces/0'"
  "leaderElection.enabled=false,replicaCount=2|replicaCount > 1 needs leaderElection.enabled=true"
  "admission.mode=sometimes|at '/admission/mode'"
  "admission.failurePolicy=Retry|at '/admission/failurePolicy'"
  "admission.webhook.certificate.validityDays=0|at '/admission/webhook/certificate/validityDays'"
  "admission.webhook.certificate.existingSecret=Not_A_Name|at '/admission/webhook/certificate/existingSecret'"
  "recordingRules.prometheusRules=sometimes|at '/recordingRules/prometheusRules'"
  "recordingRules.configMap.name=Bad_Name|at '/recordingRules/configMap/name'"
  "sinks.webhook.headers={X-Team: sre}|sinks.webhook.headers and sinks.webhook.tokenSecret need sinks.webhook.url"
  "intake.enabled=true|intake.enabled needs intake.credentials.existingSecret"
  "intake.port=0|at '/intake/port'"
  "intake.replayWindow=5 minutes|at '/intake/replayWindow'"
)
for case in "${refused[@]}"; do
  setting="${case%%|*}" expected="${case#*|}"
  if output="$("$helm" template slogate "$CHART" -f "$CHART/ci/cluster-values.yaml" --set "$setting" 2>&1)"; then
    die "the chart accepted the bad value --set '$setting'"
  fi
  [[ "$output" == *"$expected"* ]] || die "--set '$setting' was refused without naming the problem ('$expected'):"$'\n'"$output"
done
info "chart refuses ${#refused[@]} kinds of bad values, each with a message naming the value"
