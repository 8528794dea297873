{{/* Name of the chart, or nameOverride. */}}
{{- define "vdi-broker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the release's objects, at most 55 characters so that "-cluster" still fits in 63. */}}
{{- define "vdi-broker.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 55 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 55 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Headless service that lists every broker pod, ready or not, for JGroups DNS_PING. */}}
{{- define "vdi-broker.clusterServiceName" -}}
{{- printf "%s-cluster" (include "vdi-broker.fullname" .) }}
{{- end }}

{{- define "vdi-broker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vdi-broker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vdi-broker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vdi-broker.labels" -}}
helm.sh/chart: {{ include "vdi-broker.chart" . }}
{{ include "vdi-broker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vdi-broker
{{- end }}

{{- define "vdi-broker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vdi-broker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
