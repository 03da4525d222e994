{{- /*
The environment of the emqx container: node identity, credentials from Secrets, and the EMQX settings.
Everything is in the pod template itself (no shared ConfigMap), so each revision of the pods carries its
own settings.
*/ -}}

{{- /* The chart's env entries of the emqx container of a role (JSON list): identity and credentials first
(from Secrets through secretKeyRef, never as values), then the EMQX settings of emqx-ee.configEnv by name.
Called with dict "ctx" "role". */ -}}
{{- define "emqx-ee.emqxEnv" -}}
{{- $ctx := .ctx -}}
{{- $cookie := include "emqx-ee.cookieSecretRef" $ctx | fromJson -}}
{{- $dashboard := include "emqx-ee.dashboardSecretRef" $ctx | fromJson -}}
{{- $license := include "emqx-ee.licenseSecretRef" $ctx | default "{}" | fromJson -}}
{{- $env := list
  (dict "name" "POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name")))
  (dict "name" "EMQX_NAME" "value" $ctx.Values.emqxName) -}}
{{- if eq .role "core" -}}
{{- /* Stable identity: the pod's FQDN under the headless Service, which is also the SRV target that DNS
discovery returns for this pod. */ -}}
{{- $env = append $env (dict "name" "EMQX_HOST" "value" (printf "$(POD_NAME).%s" (include "emqx-ee.headlessServiceFqdn" $ctx))) -}}
{{- else -}}
{{- /* A Deployment's pods have no stable DNS name: cores reach replicants by IP. */ -}}
{{- $env = append $env (dict "name" "EMQX_HOST" "valueFrom" (dict "fieldRef" (dict "fieldPath" "status.podIP"))) -}}
{{- $env = append $env (dict "name" "EMQX_NODE__ROLE" "value" "replicant") -}}
{{- end -}}
{{- $env = append $env (dict "name" "EMQX_NODE__COOKIE" "valueFrom" (dict "secretKeyRef" $cookie)) -}}
{{- $env = append $env (dict "name" "EMQX_DASHBOARD__DEFAULT_PASSWORD" "valueFrom" (dict "secretKeyRef" $dashboard)) -}}
{{- if $license.name -}}
{{- $env = append $env (dict "name" "EMQX_LICENSE__KEY" "valueFrom" (dict "secretKeyRef" $license)) -}}
{{- end -}}
{{- $config := include "emqx-ee.configEnv" $ctx | fromYaml -}}
{{- range $name := keys $config | sortAlpha -}}
{{- $env = append $env (dict "name" $name "value" (get $config $name | toString)) -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{- /* Name of the ConfigMap that pods of chart 0.3.0 and earlier read their settings from (envFrom). */ -}}
{{- define "emqx-ee.legacyConfigMapName" -}}
{{- printf "%s-config" (include "emqx-ee.fullname" .) -}}
{{- end -}}

{{- /* Whether a live workload (StatefulSet or Deployment) still runs pods of a template that reads the
legacy ConfigMap: its template does, or its roll has not finished (a partition holds pods back, or
pods of the old revision remain). "true" or "". */ -}}
{{- define "emqx-ee.readsLegacyConfig" -}}
{{- $name := .name -}}
{{- $obj := .obj -}}
{{- if $obj -}}
{{- $reads := false -}}
{{- range (dig "spec" "template" "spec" "containers" list $obj) -}}
{{- range (.envFrom | default list) -}}
{{- if eq (dig "configMapRef" "name" "" .) $name -}}{{- $reads = true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $status := $obj.status | default dict -}}
{{- if eq $obj.kind "StatefulSet" -}}
{{- if ne ($status.currentRevision | default "") ($status.updateRevision | default "") -}}{{- $reads = true -}}{{- end -}}
{{- else -}}
{{- if ne (int ($status.replicas | default 0)) (int ($status.updatedReplicas | default 0)) -}}{{- $reads = true -}}{{- end -}}
{{- end -}}
{{- if $reads -}}true{{- end -}}
{{- end -}}
{{- end -}}
