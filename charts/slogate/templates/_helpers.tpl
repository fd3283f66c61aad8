{{/* Names, labels and the derived settings every template shares. */}}

{{- define "slogate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "slogate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "slogate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slogate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "slogate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slogate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slogate
{{- end -}}

{{- define "slogate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "slogate.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The namespaces the operator watches, one per line; none means the whole cluster. The platform
namespace is added in namespaced mode: its freezes and incidents must be seen to be applied.
*/}}
{{- define "slogate.watchedNamespaces" -}}
{{- $namespaces := .Values.watchNamespaces -}}
{{- if and $namespaces .Values.platformNamespace -}}
{{- $namespaces = append $namespaces .Values.platformNamespace | uniq -}}
{{- end -}}
{{- range $namespaces }}
{{ . }}
{{- end -}}
{{- end -}}

{{/* Rules for the workloads and slogate's resources, granted cluster-wide or per watched namespace. */}}
{{- define "slogate.workloadRules" -}}
# Watch, read and hold (spec.paused) or roll back (spec.template) Deployments.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "patch"]
# A Deployment's revisions: the previous template for a rollback, recent deployments of incidents.
- apiGroups: ["apps"]
  resources: ["replicasets"]
  verbs: ["list"]
# Watch, read and hold (spec.paused) Argo Rollouts; abort them on the status subresource.
- apiGroups: ["argoproj.io"]
  resources: ["rollouts"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["argoproj.io"]
  resources: ["rollouts/status"]
  verbs: ["patch"]
# slogate's own resources: read them, write only their status.
- apiGroups: ["slogate.dev"]
  resources: ["servicelevelobjectives", "releasegates", "changefreezes", "incidents"]
  verbs: ["list", "watch"]
- apiGroups: ["slogate.dev"]
  resources:
    - servicelevelobjectives/status
    - releasegates/status
    - changefreezes/status
    - incidents/status
  verbs: ["patch"]
# An Event on the workload for every decision.
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- if .Values.intake.enabled }}
# The incident intake: find the Incident a webhook is about, create it or bring it up to date.
- apiGroups: ["slogate.dev"]
  resources: ["incidents"]
  verbs: ["get", "create", "patch"]
{{- end }}
# The holds admission applies: one HoldSet per namespace, created on the first hold, deleted after
# the last (docs/admission.md). Every replica watches them, so a standby answers the webhook too.
- apiGroups: ["slogate.dev"]
  resources: ["holdsets"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["slogate.dev"]
  resources: ["holdsets/status"]
  verbs: ["patch"]
# For a deploy admission missed: how many pods of the new revision had started.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list"]
{{- if ne (include "slogate.prometheusRules" .) "off" }}
# A PrometheusRule per SLO holding its recording rules: list slogate's own (by label) once, then
# write them by server-side apply. The garbage collector deletes them with their SLO.
- apiGroups: ["monitoring.coreos.com"]
  resources: ["prometheusrules"]
  verbs: ["list", "create", "patch"]
{{- end }}
{{- end -}}

{{/* recordingRules.prometheusRules as the flag takes it: YAML reads an unquoted on/off as a boolean. */}}
{{- define "slogate.prometheusRules" -}}
{{- $mode := toString .Values.recordingRules.prometheusRules -}}
{{- if eq $mode "true" }}on{{ else if eq $mode "false" }}off{{ else }}{{ $mode }}{{ end -}}
{{- end -}}

{{/* The ConfigMap holding every SLO's recording rules (recordingRules.configMap). */}}
{{- define "slogate.rulesConfigMap" -}}
{{- default (printf "%s-rules" (include "slogate.fullname" .)) .Values.recordingRules.configMap.name -}}
{{- end -}}

{{/* Read-only cluster-scoped rules, needed in both modes. */}}
{{- define "slogate.clusterReadRules" -}}
# Namespace labels, for the namespaceSelector of platform freezes and incidents.
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
# kopf discovers the resources it serves, and notices CRDs installed after it started.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
# Whether the admission policy is installed (the chart installs it; the operator only looks).
- apiGroups: ["admissionregistration.k8s.io"]
  resources: ["mutatingadmissionpolicies"]
  resourceNames: ["slogate-hold"]
  verbs: ["get"]
{{- if eq (include "slogate.webhookServer" .) "true" }}
# The webhooks: kopf creates its Mutating- and ValidatingWebhookConfiguration (both, whichever
# webhooks are on) and keeps their caBundle current.
- apiGroups: ["admissionregistration.k8s.io"]
  resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
  verbs: ["create"]
- apiGroups: ["admissionregistration.k8s.io"]
  resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"]
  resourceNames: ["slogate-hold.slogate.dev"]
  verbs: ["get", "patch"]
{{- end }}
{{- end -}}

{{/* Whether the cluster serves MutatingAdmissionPolicy (admissionregistration.k8s.io/v1). */}}
{{- define "slogate.admissionPolicyServed" -}}
{{- .Capabilities.APIVersions.Has "admissionregistration.k8s.io/v1/MutatingAdmissionPolicy" -}}
{{- end -}}

{{/* Whether the operator serves the fallback webhook: asked for, or auto where the policy is not served. */}}
{{- define "slogate.admissionWebhook" -}}
{{- $mode := .Values.admission.mode -}}
{{- or (eq $mode "webhook") (and (eq $mode "auto") (ne (include "slogate.admissionPolicyServed" .) "true")) -}}
{{- end -}}

{{/* Whether the operator serves kopf's webhook server: for the fallback hold, validation, or both. */}}
{{- define "slogate.webhookServer" -}}
{{- or (eq (include "slogate.admissionWebhook" .) "true") .Values.admission.validation.enabled -}}
{{- end -}}

{{/* The Secret holding the webhooks' certificate: the user's, or the one the chart makes. */}}
{{- define "slogate.webhookCertificateSecret" -}}
{{- default (printf "%s-webhook-tls" (include "slogate.fullname" .)) .Values.admission.webhook.certificate.existingSecret -}}
{{- end -}}

{{- define "slogate.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
