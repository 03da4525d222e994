{{- /*
The MQTT listeners the pods serve. They follow listeners.*, except the TLS listeners (mqtts, wss) without
a certificate of the user's (tls.enabled false): EMQX would serve them with the test certificate it ships
(etc/certs/cert.pem and key.pem in EMQX's repository, whose private key anyone can read), so they are off,
unless tls.testCertificate asks for them or the live pods serve them already (releases installed by chart
0.3.0 or earlier, which left them on): a port clients may use is never closed by an upgrade. NOTES warn
about every TLS listener served with the test certificate.
*/ -}}

{{- /* The effective listeners (JSON {name: {enabled, containerPort, proxyProtocol}}), and under
"testCertificate" the names served with EMQX's test certificate and why ("kept" or "asked"). Computed
once per render and kept on the root context (it looks up the live StatefulSet). */ -}}
{{- define "emqx-ee.listeners" -}}
{{- if not (hasKey . "emqxEeListeners") -}}
{{- $_ := set . "emqxEeListeners" (include "emqx-ee.listenersUncached" .) -}}
{{- end -}}
{{- get . "emqxEeListeners" -}}
{{- end -}}

{{- /* emqx-ee.listeners, computed (root context). */ -}}
{{- define "emqx-ee.listenersUncached" -}}
{{- $out := dict -}}
{{- $test := dict -}}
{{- $served := dict -}}
{{- if and (not .Values.tls.enabled) (not .Values.tls.testCertificate) (or .Values.listeners.mqtts.enabled .Values.listeners.wss.enabled) -}}
{{- $served = include "emqx-ee.liveListenerNames" . | fromJson -}}
{{- end -}}
{{- range $name, $listener := .Values.listeners -}}
{{- $enabled := $listener.enabled -}}
{{- if and $enabled (has $name (list "mqtts" "wss")) (not $.Values.tls.enabled) -}}
{{- if $.Values.tls.testCertificate -}}
{{- $_ := set $test $name "asked" -}}
{{- else if hasKey $served $name -}}
{{- $_ := set $test $name "kept" -}}
{{- else -}}
{{- $enabled = false -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out $name (dict "enabled" $enabled "containerPort" $listener.containerPort "proxyProtocol" $listener.proxyProtocol) -}}
{{- end -}}
{{- toJson (dict "listeners" $out "testCertificate" $test) -}}
{{- end -}}

{{- /* Names of the listener ports the emqx container of the live StatefulSet declares (JSON {name: true});
{} under helm template and GitOps tools, where lookup reads nothing. */ -}}
{{- define "emqx-ee.liveListenerNames" -}}
{{- $names := dict -}}
{{- $sts := include "emqx-ee.liveStatefulSet" . | fromJson -}}
{{- range (dig "spec" "template" "spec" "containers" list $sts) -}}
{{- if eq .name "emqx" -}}
{{- range (.ports | default list) -}}
{{- if has .name (list "mqtts" "wss") -}}{{- $_ := set $names .name true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $names -}}
{{- end -}}
