{{/* Resource names: <release>-preflight, cut to the 63 characters a DNS label allows. */}}
{{- define "preflight.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "preflight.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "preflight.secretName" -}}
{{- .Values.secrets.existingSecret | default (include "preflight.fullname" .) -}}
{{- end -}}

{{/*
Hook annotations for the configuration objects the Job reads. They are hooks themselves because a
pre-install hook runs before any of the chart's ordinary resources exist (mastodon#21640), and they
carry a lower weight so they are created before the Job. Helm deletes hook-succeeded objects only
after every hook of the event has succeeded, so they outlive the Job they serve.
*/}}
{{- define "preflight.configHookAnnotations" -}}
helm.sh/hook: pre-install,pre-upgrade
helm.sh/hook-weight: "-10"
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
argocd.argoproj.io/hook: PreSync
argocd.argoproj.io/sync-wave: "-10"
{{- /* Argo CD does not promise to wait for the Job before deleting a HookSucceeded hook (a ConfigMap "succeeds" at once): keep these until the next sync. */}}
argocd.argoproj.io/hook-delete-policy: BeforeHookCreation
{{- end -}}
