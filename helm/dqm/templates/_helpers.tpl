{{/* Chart name, truncated to the 63 characters Kubernetes allows in a label. */}}
{{- define "dqm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name; leaves room for the "-worker" suffix. */}}
{{- define "dqm.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 56 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 56 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "dqm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "dqm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "dqm.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "dqm.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "dqm.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "dqm.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "dqm.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "dqm.secretName" -}}
{{- default (include "dqm.fullname" .) .Values.existingSecret }}
{{- end }}

{{/* True ("true") when the database is the built-in SQLite file on the data volume. */}}
{{- define "dqm.builtinSqlite" -}}
{{- if and (not .Values.existingSecret) (not .Values.database.url) }}true{{ end }}
{{- end }}

{{/*
True when migrations run in the pre-install/pre-upgrade Job, and the pods start with
`dqm serve --no-migrate`. Otherwise `dqm serve` applies them at start-up (the built-in SQLite file
lives on the pod's volume, which the Job cannot see).
*/}}
{{- define "dqm.migrationJob" -}}
{{- if and .Values.migrations.enabled (not (include "dqm.builtinSqlite" .)) }}true{{ end }}
{{- end }}

{{- define "dqm.sqliteUrl" -}}
{{- printf "sqlite:///%s/dqm.db" (trimSuffix "/" .Values.config.dataDir) }}
{{- end }}

{{- define "dqm.localDataDir" -}}
{{- if not (hasPrefix "s3://" .Values.config.dataDir) }}true{{ end }}
{{- end }}

{{/*
Roles rendered as Deployments: a list of {role, component, values} dicts.
Fails on combinations that cannot work, so `helm install` stops before creating anything.
*/}}
{{- define "dqm.roles" -}}
{{- if and (include "dqm.builtinSqlite" .) (not (include "dqm.localDataDir" .)) }}
{{- fail "the built-in SQLite database lives in a local config.dataDir: set database.url or existingSecret to use s3://" }}
{{- end }}
{{- if eq .Values.mode "split" }}
{{- if include "dqm.builtinSqlite" . }}
{{- fail "mode=split needs an external database: set database.url or existingSecret" }}
{{- end }}
{{- if and (include "dqm.localDataDir" .) (not (has "ReadWriteMany" .Values.persistence.accessModes)) }}
{{- fail "mode=split shares config.dataDir between pods: use s3://... or persistence with accessModes [ReadWriteMany]" }}
{{- end }}
{{- if and (include "dqm.localDataDir" .) (not .Values.persistence.enabled) }}
{{- fail "mode=split with a local config.dataDir needs persistence.enabled=true" }}
{{- end }}
{{- toJson (list (dict "role" "api" "component" "api" "values" .Values.api) (dict "role" "worker" "component" "worker" "values" .Values.worker)) }}
{{- else }}
{{- if and (include "dqm.builtinSqlite" .) (gt (int .Values.allInOne.replicas) 1) }}
{{- fail "the built-in SQLite database supports one replica: set database.url or existingSecret" }}
{{- end }}
{{- toJson (list (dict "role" "all" "component" "server" "values" .Values.allInOne)) }}
{{- end }}
{{- end }}

{{/* Name of a Deployment for a role dict. */}}
{{- define "dqm.deploymentName" -}}
{{- if eq .role.role "worker" }}{{ include "dqm.fullname" .root }}-worker
{{- else }}{{ include "dqm.fullname" .root }}{{ end }}
{{- end }}

{{/* Pods that serve the HTTP API (the Service selects them). */}}
{{- define "dqm.apiSelectorLabels" -}}
{{ include "dqm.selectorLabels" . }}
app.kubernetes.io/component: {{ ternary "api" "server" (eq .Values.mode "split") }}
{{- end }}

{{/* Environment shared by the Deployments and the migration Job. */}}
{{- define "dqm.secretEnv" -}}
- name: DQM_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "dqm.secretName" . }}
      key: {{ .Values.existingSecretKeys.databaseUrl }}
{{- end }}

{{/*
securityContext, volume mounts and environment of a dqm container. Ends inside `env:` so that a
caller can append more variables.
*/}}
{{- define "dqm.containerCommon" -}}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- if include "dqm.localDataDir" . }}
  - name: data
    mountPath: {{ .Values.config.dataDir }}
  {{- end }}
  {{- with .Values.extraVolumeMounts }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
envFrom:
  - configMapRef:
      name: {{ include "dqm.fullname" . }}
  {{- with .Values.extraEnvFrom }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
env:
  {{- include "dqm.secretEnv" . | nindent 2 }}
  # The root filesystem is read-only: libraries that cache under $HOME write to the emptyDir.
  - name: HOME
    value: /tmp
  - name: DQM_BOOTSTRAP_ADMIN_KEY
    valueFrom:
      secretKeyRef:
        name: {{ include "dqm.secretName" . }}
        key: {{ .Values.existingSecretKeys.bootstrapAdminKey }}
  - name: DQM_WEBHOOK_ALLOWLIST
    valueFrom:
      secretKeyRef:
        name: {{ include "dqm.secretName" . }}
        key: {{ .Values.existingSecretKeys.webhookAllowlist }}
        optional: true
  {{- with .Values.extraEnv }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/*
The pod's grace period: in-flight requests get config.shutdownGraceSeconds, then the run in
progress gets as long again before it is handed back to the queue, plus 5 s to exit.
An explicit terminationGracePeriodSeconds shorter than that would cut the drain short.
*/}}
{{- define "dqm.terminationGracePeriodSeconds" -}}
{{- $needed := add (mul 2 (int .Values.config.shutdownGraceSeconds)) 5 -}}
{{- $set := .Values.terminationGracePeriodSeconds -}}
{{- if kindIs "invalid" $set -}}
{{- $needed -}}
{{- else if lt (int $set) (int $needed) -}}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be at least 2 x config.shutdownGraceSeconds + 5 = %d" (int $set) (int $needed)) -}}
{{- else -}}
{{- int $set -}}
{{- end -}}
{{- end }}
