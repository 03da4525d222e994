{{- /*
Names and labels of the chart's objects, and the other small facts several templates share.
*/ -}}

{{- /* Chart name, overridable; used in the app.kubernetes.io/name label (part of the selector). */ -}}
{{- define "emqx-ee.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Full name of the StatefulSet and its Services. 52 characters at most: the controller appends a
revision hash to the StatefulSet name in the controller-revision-hash label (63 characters max). */ -}}
{{- define "emqx-ee.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Namespace of every object, so namespaceOverride applies everywhere including DNS names. */ -}}
{{- define "emqx-ee.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- /* Chart name and version for the helm.sh/chart label. */ -}}
{{- define "emqx-ee.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- /* Selector labels: frozen at the first release, never versions, because selectors are immutable. */ -}}
{{- define "emqx-ee.selectorLabels" -}}
app.kubernetes.io/name: {{ include "emqx-ee.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Labels of every object the chart renders (pod templates use selector labels + podLabels only). */ -}}
{{- define "emqx-ee.labels" -}}
helm.sh/chart: {{ include "emqx-ee.chart" . }}
{{ include "emqx-ee.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | toString | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: emqx
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* Labels of the helm test Pod: the chart's labels under another name, so that no Service or
PodDisruptionBudget selects it. */ -}}
{{- define "emqx-ee.testLabels" -}}
{{- include "emqx-ee.labels" . | fromYaml | merge (dict "app.kubernetes.io/name" (printf "%s-test" (include "emqx-ee.name" .)) "app.kubernetes.io/component" "test") | toYaml -}}
{{- end -}}

{{- /* Label of every EMQX node of this cluster, cores and replicants (not the helm test Pod): the
NetworkPolicy's membership and the metrics Service select on it. Derived from the fullname, which the
day-2 guards keep stable. */ -}}
{{- define "emqx-ee.memberLabels" -}}
emqx-ee/cluster: {{ include "emqx-ee.fullname" . }}
{{- end -}}

{{- /* EMQX's listener type of a chart listener name: its settings live under listeners.<type>.default. */ -}}
{{- define "emqx-ee.listenerType" -}}
{{- get (dict "mqtt" "tcp" "mqtts" "ssl" "ws" "ws" "wss" "wss") . -}}
{{- end -}}

{{- /* The port EMQX binds a listener to unless told otherwise (listeners.<type>.default.bind). */ -}}
{{- define "emqx-ee.listenerDefaultPort" -}}
{{- get (dict "mqtt" "1883" "mqtts" "8883" "ws" "8083" "wss" "8084") . -}}
{{- end -}}

{{- /* Name of the Service of the dashboard and REST API, kept apart from the MQTT clients' Service. */ -}}
{{- define "emqx-ee.dashboardServiceName" -}}
{{- printf "%s-dashboard" (include "emqx-ee.fullname" .) -}}
{{- end -}}

{{- /* Replicant nodes: their Deployment, PodDisruptionBudget and HorizontalPodAutoscaler. */ -}}
{{- define "emqx-ee.replicantName" -}}
{{- printf "%s-replicant" (include "emqx-ee.fullname" .) -}}
{{- end -}}

{{- /* Selector labels of replicant pods: another app.kubernetes.io/name, so that the core StatefulSet's
selector (frozen at 0.1.0), its headless Service and its PodDisruptionBudget never match them. */ -}}
{{- define "emqx-ee.replicantSelectorLabels" -}}
app.kubernetes.io/name: {{ include "emqx-ee.name" . }}-replicant
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- /* Labels of the replicants' objects: the chart's labels under the replicants' name. */ -}}
{{- define "emqx-ee.replicantLabels" -}}
{{- include "emqx-ee.labels" . | fromYaml | merge (include "emqx-ee.replicantSelectorLabels" . | fromYaml) (dict "app.kubernetes.io/component" "replicant") | toYaml -}}
{{- end -}}

{{- /* Name of the headless Service that gives each pod a DNS name; also the StatefulSet's serviceName. */ -}}
{{- define "emqx-ee.headlessServiceName" -}}
{{- printf "%s-headless" (include "emqx-ee.fullname" .) -}}
{{- end -}}

{{- /* DNS name of the headless Service: its SRV records list every node, its A records every pod IP. */ -}}
{{- define "emqx-ee.headlessServiceFqdn" -}}
{{- printf "%s.%s.svc.%s" (include "emqx-ee.headlessServiceName" .) (include "emqx-ee.namespace" .) .Values.clusterDomain -}}
{{- end -}}

{{- /* Host part of node N's name (EMQX_HOST with the pod name filled in), called with dict "ctx" "ordinal". */ -}}
{{- define "emqx-ee.nodeHost" -}}
{{- printf "%s-%d.%s" (include "emqx-ee.fullname" .ctx) (int .ordinal) (include "emqx-ee.headlessServiceFqdn" .ctx) -}}
{{- end -}}

{{- /* Secret the chart generates for the cookie, dashboard password and license. */ -}}
{{- define "emqx-ee.secretName" -}}
{{- include "emqx-ee.fullname" . -}}
{{- end -}}

{{- /* ServiceAccount used by the pods (bound to the discovery Role when discovery=k8s). */ -}}
{{- define "emqx-ee.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "emqx-ee.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- /* Image reference; a digest pins the exact build and wins over the tag. */ -}}
{{- define "emqx-ee.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}
{{- end -}}

{{- /* Delete policy of the helm test hooks: a failed test stays for its logs until the next test. */ -}}
{{- define "emqx-ee.testDeletePolicy" -}}
{{- ternary "before-hook-creation,hook-succeeded" "before-hook-creation" .Values.tests.deleteOnSuccess -}}
{{- end -}}

{{- /* Labels of the metrics Service; its component label tells it apart from the other Services. */ -}}
{{- define "emqx-ee.metricsServiceLabels" -}}
{{ include "emqx-ee.labels" . }}
app.kubernetes.io/component: metrics
{{- end -}}
