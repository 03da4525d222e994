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
{{- define "emqx-ee.mqttAuthDir" -}}/opt/emqx/etc/mqtt-auth{{- end -}}

{{- /* Source of the MQTT users file (JSON {name, key}). */ -}}
{{- define "emqx-ee.mqttUsersSecretRef" -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.mqttAuth "key" "mqtt-users") -}}
{{- end -}}

{{- /* "true" when the chart's MQTT authenticator is on. mqttAuth.enabled auto: on for a new install (no live
StatefulSet, also under helm template), and on an upgrade exactly when the live pod template carries the
chart's base.hocon (annotation emqx-ee/base-hocon), so a release that allowed anonymous clients keeps
doing so. Cached on the root context (it looks up the live StatefulSet). */ -}}
{{- define "emqx-ee.mqttAuthOn" -}}
{{- if not (hasKey . "emqxEeMqttAuth") -}}
{{- $on := false -}}
{{- $v := dig "enabled" "auto" (.Values.mqttAuth | default dict) -}}
{{- if kindIs "bool" $v -}}
{{- $on = $v -}}
{{- else if not .Values.mqttAuth -}}
{{- /* Values without the block (--reuse-values from an older chart): emqx-ee.drainProblems names it. */ -}}
{{- else -}}
{{- $sts := include "emqx-ee.liveStatefulSet" . | fromJson -}}
{{- $on = or (not $sts) (hasKey (dig "spec" "template" "metadata" "annotations" dict $sts) "emqx-ee/base-hocon") -}}
{{- end -}}
{{- $_ := set . "emqxEeMqttAuth" (ternary "true" "" $on) -}}
{{- end -}}
{{- get . "emqxEeMqttAuth" -}}
{{- end -}}

{{- /* EMQX's base.hocon with the chart's authenticator: the lowest layer of EMQX's config (emqx_config.erl
init_load/2 reads base.hocon, then cluster.hocon, where the dashboard saves changes, then etc/emqx.conf, and
merges the EMQX_* variables on top, overlay_v1/2), so an authentication made in the dashboard or in
emqxConfig replaces this one and the chart never overwrites it. The first part is EMQX 6.2.2's own
base.hocon (apps/emqx_conf/etc/base.hocon), which this file replaces in the container. The authenticator
is the built-in database's password_based one (emqx_authn_mnesia_schema.erl fields/1, bootstrap_fields/0);
EMQX imports the users file at boot with override false (emqx_authn_mnesia.erl bootstrap_user_from_file/2),
and picks the CSV reader from the file's extension (reader_fn/2). */ -}}
{{- define "emqx-ee.baseHocon" -}}
log {
  file {}
  console {}
}
dashboard {
  listeners {
    http.bind = 18083
    https {
      ssl_options {
        certfile = "${EMQX_ETC_DIR}/certs/cert.pem"
        keyfile = "${EMQX_ETC_DIR}/certs/key.pem"
      }
    }
  }
}
authentication = {{ include "emqx-ee.chartAuthentication" . }}
{{ end -}}

{{- /* The chart's authenticator list (JSON, which HOCON reads as is). */ -}}
{{- define "emqx-ee.chartAuthentication" -}}
{{- toJson (list (dict "mechanism" "password_based" "backend" "built_in_database" "user_id_type" "username" "bootstrap_type" "plain" "bootstrap_file" (printf "%s/users.csv" (include "emqx-ee.mqttAuthDir" .)))) -}}
{{- end -}}

{{- define "emqx-ee.apiKeyDir" -}}/opt/emqx/etc/api-key{{- end -}}
