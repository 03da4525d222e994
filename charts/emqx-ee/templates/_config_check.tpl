{{- /*
EMQX's own check of the settings before Helm changes anything. `emqx check_config` (bin/emqx of EMQX 6.2.2)
runs hocon_cli check_schema: hocon_tconf:generate over base.hocon, cluster.hocon, emqx.conf and the EMQX_*
environment, the step `emqx foreground` runs before the node boots, which stops it on a value EMQX refuses.
A pre-install/pre-upgrade hook Job runs it on the release's image with the new settings; Helm runs those hooks
before it applies any resource and stops when one fails (helm pkg/action install.go, upgrade.go).

The Job is rendered only where the chart's own checks leave the verdict to EMQX: emqxConfig values at
validators the chart cannot run (the parsers of roots.py UNCHECKED, which NOTES also name), or
emqxConfigCheck.allowUnknown, which turns the chart's schema checks off. Its environment is what the nodes
read as settings (emqx-ee.configEnv, extraEnv, extraEnvFrom) without the chart's own Secret, which does not
exist before an install: EMQX's defaults stand in for the cookie, the dashboard password and the license,
which the check only types. The settings name files (TLS) that the check does not open, so no volume of the
nodes is mounted.
*/ -}}

{{- /* Whether the hook Job renders ("true" or empty). */ -}}
{{- define "emqx-ee.configCheckNeeded" -}}
{{- $c := .Values.emqxConfigCheck -}}
{{- if and $c.withEmqx .Values.emqxConfig -}}
{{- if or $c.allowUnknown (include "emqx-ee.userConfig" . | fromJson).unchecked -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Name of the hook's Job: 63 characters at most (its pods carry it in the job-name label). */ -}}
{{- define "emqx-ee.configCheckName" -}}
{{- $base := include "emqx-ee.fullname" . -}}
{{- if gt (len $base) 50 -}}
{{- $base = printf "%s-%s" ($base | trunc 41 | trimSuffix "-") (sha256sum $base | trunc 8) -}}
{{- end -}}
{{- printf "%s-config-check" $base -}}
{{- end -}}

{{- /* Labels of the hook's Job and Pod: the chart's labels under another name, so that no Service,
PodDisruptionBudget or NetworkPolicy of the nodes selects its Pod. */ -}}
{{- define "emqx-ee.configCheckLabels" -}}
{{- $name := printf "%s-config-check" (include "emqx-ee.name" .) | trunc 63 | trimSuffix "-" -}}
{{- include "emqx-ee.labels" . | fromYaml | merge (dict "app.kubernetes.io/name" $name "app.kubernetes.io/component" "config-check") | toYaml -}}
{{- end -}}

{{- /* The hook Job's container env (JSON list): the node name, then the settings. EMQX_HOST is given: without it
EMQX's image entrypoint (deploy/docker/docker-entrypoint.sh) derives the host from the discovery settings, and
for k8s discovery by hostname it looks for the pod's name under the headless Service in /etc/hosts, which a
Job's pod does not have, and exits. The check needs a well-formed node name only. */ -}}
{{- define "emqx-ee.configCheckEnv" -}}
{{- $env := list (dict "name" "EMQX_NAME" "value" .Values.emqxName) (dict "name" "EMQX_HOST" "value" "127.0.0.1") -}}
{{- toJson (concat $env (include "emqx-ee.configEnvEntries" . | fromJsonArray) (.Values.extraEnv | default list)) -}}
{{- end -}}
