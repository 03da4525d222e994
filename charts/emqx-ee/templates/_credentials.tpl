{{- /*
Where credentials and certificates come from (the chart's Secret or the user's existingSecret), and
where the pods find them.
*/ -}}

{{- /* The API token EMQX's k8s discovery reads (at the path ekka expects), mounted into the EMQX container
only; the pod-wide automount stays off, so sidecars and init containers get no token. */ -}}
{{- define "emqx-ee.apiTokenVolume" -}}
name: kube-api-access
projected:
  sources:
    - serviceAccountToken:
        path: token
        expirationSeconds: 3607
    - configMap:
        name: kube-root-ca.crt
        items:
          - key: ca.crt
            path: ca.crt
{{- end -}}

{{- /* TLS: the Secret with the certificate (cert-manager's or the user's) and where EMQX reads it. */ -}}
{{- define "emqx-ee.tlsSecretName" -}}
{{- if .Values.tls.certManager.enabled -}}
{{- printf "%s-tls" (include "emqx-ee.fullname" .) -}}
{{- else -}}
{{- .Values.tls.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "emqx-ee.tlsDir" -}}/opt/emqx/etc/certs/tls{{- end -}}

{{- /* Where a credential comes from, as JSON {name, key}: the user's existing Secret when
`.source.existingSecret` is set, else the chart's own Secret under `.key`. */ -}}
{{- define "emqx-ee.secretRef" -}}
{{- if .source.existingSecret -}}
{{- toJson (dict "name" .source.existingSecret "key" .source.existingSecretKey) -}}
{{- else -}}
{{- toJson (dict "name" (include "emqx-ee.secretName" .ctx) "key" .key) -}}
{{- end -}}
{{- end -}}

{{- /* Source of the license key; empty when no license is set. */ -}}
{{- define "emqx-ee.licenseSecretRef" -}}
{{- if or .Values.license.existingSecret .Values.license.key -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.license "key" "license-key") -}}
{{- end -}}
{{- end -}}

{{- /* Source of the Erlang cookie. */ -}}
{{- define "emqx-ee.cookieSecretRef" -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.auth.erlangCookie "key" "erlang-cookie") -}}
{{- end -}}

{{- /* Source of the dashboard administrator password. */ -}}
{{- define "emqx-ee.dashboardSecretRef" -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.auth.dashboard "key" "dashboard-password") -}}
{{- end -}}

{{- /* Source of the API bootstrap file (EMQX api_key.bootstrap_file). */ -}}
{{- define "emqx-ee.apiKeySecretRef" -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.apiKey "key" "api-key-bootstrap") -}}
{{- end -}}

{{- /* "true" when the dashboard and REST API are served over HTTPS (tls.dashboard), else "". */ -}}
{{- define "emqx-ee.dashboardHttps" -}}
{{- if and .Values.tls.enabled .Values.tls.dashboard -}}true{{- end -}}
{{- end -}}

{{- /* Basic-auth credentials of the ServiceMonitor, as JSON {name, username, password} (Secret and keys),
or "" when there are none to give. */ -}}
{{- define "emqx-ee.metricsAuthSecretRef" -}}
{{- $sm := .Values.metrics.serviceMonitor -}}
{{- if $sm.basicAuthSecret -}}
{{- toJson (dict "name" $sm.basicAuthSecret "username" "username" "password" "password") -}}
{{- else if and .Values.apiKey.enabled (not .Values.apiKey.existingSecret) -}}
{{- toJson (dict "name" (include "emqx-ee.secretName" .) "username" "api-key-name" "password" "api-key-secret") -}}
{{- end -}}
{{- end -}}

{{- /* Where the pods find the API bootstrap file. */ -}}
{{- define "emqx-ee.apiKeyDir" -}}/opt/emqx/etc/api-key{{- end -}}
