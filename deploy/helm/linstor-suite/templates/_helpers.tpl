{{/* Object name prefix: <release>-<chart>, or the release name when it holds the chart name; at most 40 characters, so "<prefix>-extender-metrics" is a valid Service name (63). */}}
{{- define "linstor-suite.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "linstor-suite.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of a mode; call with (dict "root" $ "mode" "affinity"). */}}
{{- define "linstor-suite.selectorLabels" -}}
app.kubernetes.io/name: {{ include "linstor-suite.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .mode }}
{{- end -}}

{{/* All labels of a mode's objects; call with (dict "root" $ "mode" "affinity"). */}}
{{- define "linstor-suite.labels" -}}
{{ include "linstor-suite.selectorLabels" . }}
app.kubernetes.io/part-of: linstor-suite
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "linstor-suite.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The container args of a mode: the subcommand, then the chart-managed flags
(.flags, a list), then the top-level options merged under the mode's options,
each as --<kebab-case key>=<value>; a null option is dropped. Call with
(dict "root" $ "mode" "affinity" "flags" (list ...)).
*/}}
{{- define "linstor-suite.args" -}}
{{- $values := index .root.Values .mode -}}
{{- $options := merge (dict) (deepCopy ($values.options | default dict)) (deepCopy (.root.Values.options | default dict)) -}}
- {{ .mode }}
{{- range .flags }}
- {{ . | quote }}
{{- end }}
{{- range $key, $value := $options }}
{{- if not (kindIs "invalid" $value) }}
- {{ printf "--%s=%v" (kebabcase $key) $value | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The golinstor LS_* variables: endpoint, and client certificate files when linstor.clientSecret is set. */}}
{{- define "linstor-suite.linstorEnv" -}}
- name: LS_CONTROLLERS
  value: {{ required "linstor.endpoint is required" .Values.linstor.endpoint | quote }}
{{- if .Values.linstor.clientSecret }}
- name: LS_USER_CERTIFICATE_FILE
  value: /etc/linstor-suite/linstor-client/tls.crt
- name: LS_USER_KEY_FILE
  value: /etc/linstor-suite/linstor-client/tls.key
- name: LS_ROOT_CA_FILE
  value: /etc/linstor-suite/linstor-client/ca.crt
{{- end }}
{{- end -}}

{{- define "linstor-suite.linstorVolumeMounts" -}}
{{- if .Values.linstor.clientSecret }}
- name: linstor-client
  mountPath: /etc/linstor-suite/linstor-client
  readOnly: true
{{- end }}
{{- end -}}

{{- define "linstor-suite.linstorVolumes" -}}
{{- if .Values.linstor.clientSecret }}
- name: linstor-client
  secret:
    secretName: {{ .Values.linstor.clientSecret }}
{{- end }}
{{- end -}}

{{/* The pod spec fields every mode shares; call with (dict "root" $ "mode" "affinity"). */}}
{{- define "linstor-suite.podCommon" -}}
{{- $values := index .root.Values .mode -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
enableServiceLinks: false
{{- with $values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* The pod affinity of a Deployment: the value, or else replicas spread over nodes. */}}
{{- define "linstor-suite.deploymentAffinity" -}}
{{- $values := index .root.Values .mode -}}
affinity:
{{- if $values.affinity }}
  {{- toYaml $values.affinity | nindent 2 }}
{{- else }}
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "linstor-suite.selectorLabels" . | nindent 14 }}
{{- end }}
{{- end -}}

{{/* A PodDisruptionBudget for a Deployment mode; call with (dict "root" $ "mode" "affinity" "name" NAME). */}}
{{- define "linstor-suite.pdb" -}}
{{- $pdb := (index .root.Values .mode).podDisruptionBudget -}}
{{- if $pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "linstor-suite.labels" . | nindent 4 }}
spec:
  {{- if not (kindIs "invalid" $pdb.minAvailable) }}
  minAvailable: {{ $pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $pdb.maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "linstor-suite.selectorLabels" . | nindent 6 }}
{{- end }}
{{- end -}}

{{/* The kube-scheduler image: the pinned tag, or the cluster's version without distribution suffixes. */}}
{{- define "linstor-suite.schedulerImage" -}}
{{- $image := .Values.extender.scheduler.image -}}
{{- $tag := $image.tag -}}
{{- if not $tag -}}
{{- $tag = regexFind "^v?[0-9]+\\.[0-9]+\\.[0-9]+" .Capabilities.KubeVersion.Version -}}
{{- if not (hasPrefix "v" $tag) }}{{ $tag = printf "v%s" $tag }}{{ end -}}
{{- end -}}
{{- printf "%s:%s" $image.repository $tag -}}
{{- end -}}

{{- define "linstor-suite.checkMode" -}}
{{- if not (has .Values.extender.mode (list "second-scheduler" "default-scheduler")) -}}
{{- fail (printf "extender.mode must be second-scheduler or default-scheduler, not %q" .Values.extender.mode) -}}
{{- end -}}
{{- end -}}
