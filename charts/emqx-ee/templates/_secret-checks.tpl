{{- /*
Secrets checked before use. Every Secret a value makes the chart mount or reference is looked up on
install and upgrade, so that a missing Secret or key is refused before anything is applied instead of
leaving pods that a kubelet cannot start (a secretKeyRef or a volume item naming a missing key fails the
pod) or a ServiceMonitor that prometheus-operator skips. Secrets the release itself creates through
extraObjects are checked in the render. Under `helm template`, `--dry-run=client` and GitOps tools
`lookup` reads nothing: those Secrets are listed as unchecked (NOTES print the list).
*/ -}}

{{- /* "true" when `lookup` reads the cluster. kube-controller-manager publishes ConfigMap
kube-root-ca.crt into every namespace (its root-ca-cert-publisher controller), so an empty answer means
no cluster (helm template, --dry-run=client, GitOps) or a namespace this very command creates. */ -}}
{{- define "emqx-ee.lookupWorks" -}}
{{- if lookup "v1" "ConfigMap" .Release.Namespace "kube-root-ca.crt" -}}true{{- end -}}
{{- end -}}

{{- /* Secrets that extraObjects create in this release, as JSON {"<namespace>/<name>": [keys]}. */ -}}
{{- define "emqx-ee.extraSecrets" -}}
{{- $found := dict -}}
{{- range .Values.extraObjects -}}
{{- $text := tpl (ternary . (toYaml .) (kindIs "string" .)) $ -}}
{{- range regexSplit "(?m)^---.*$" $text -1 -}}
{{- $obj := fromYaml . -}}
{{- if and (eq (toString $obj.kind) "Secret") (eq (toString $obj.apiVersion) "v1") -}}
{{- $ns := dig "metadata" "namespace" "" $obj | default $.Release.Namespace -}}
{{- $keys := concat (keys ($obj.data | default dict)) (keys ($obj.stringData | default dict)) -}}
{{- $_ := set $found (printf "%s/%s" $ns (dig "metadata" "name" "" $obj)) $keys -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{- /* What the values need from Secrets, as a JSON list of {name, namespace, value, optional, keys}; each
key is {key, value, use}: `value` names what to change. `optional`: a Secret that another controller
creates later (cert-manager's), whose keys are checked only once it exists. */ -}}
{{- define "emqx-ee.secretNeeds" -}}
{{- $v := .Values -}}
{{- $ns := include "emqx-ee.namespace" . -}}
{{- $needs := list -}}
{{- range $source := list
  (dict "path" "auth.erlangCookie" "values" $v.auth.erlangCookie "enabled" true "use" "the Erlang cookie, env EMQX_NODE__COOKIE")
  (dict "path" "auth.dashboard" "values" $v.auth.dashboard "enabled" true "use" "the dashboard password, env EMQX_DASHBOARD__DEFAULT_PASSWORD")
  (dict "path" "license" "values" $v.license "enabled" true "use" "the license, env EMQX_LICENSE__KEY")
  (dict "path" "apiKey" "values" $v.apiKey "enabled" $v.apiKey.enabled "use" "the API key bootstrap file, mounted in the nodes and the helm test Pod") -}}
{{- if and $source.enabled $source.values.existingSecret -}}
{{- $key := dict "key" $source.values.existingSecretKey "value" (printf "%s.existingSecretKey" $source.path) "use" $source.use -}}
{{- $needs = append $needs (dict "name" $source.values.existingSecret "namespace" $ns "value" (printf "%s.existingSecret" $source.path) "optional" false "keys" (list $key)) -}}
{{- end -}}
{{- end -}}
{{- /* A missing pull Secret does not stop the kubelet, which pulls without it: from a private registry,
that pull fails (ImagePullBackOff). Any type of Secret will do, so only its existence is checked. */ -}}
{{- range $v.imagePullSecrets -}}
{{- $needs = append $needs (dict "name" .name "namespace" $ns "value" "imagePullSecrets" "optional" false "keys" list) -}}
{{- end -}}
{{- if $v.tls.enabled -}}
{{- $tlsKeys := list -}}
{{- if not $v.tls.certManager.enabled -}}
{{- $tlsKeys = list
  (dict "key" "tls.crt" "value" "tls.existingSecret" "use" "the certificate of the TLS listeners")
  (dict "key" "tls.key" "value" "tls.existingSecret" "use" "the private key of the TLS listeners") -}}
{{- end -}}
{{- if $v.tls.verifyClients -}}
{{- $tlsKeys = append $tlsKeys (dict "key" "ca.crt" "value" "tls.verifyClients" "use" "the CA that client certificates must be signed by") -}}
{{- end -}}
{{- $value := ternary "tls.certManager.enabled" "tls.existingSecret" $v.tls.certManager.enabled -}}
{{- if $tlsKeys -}}
{{- $needs = append $needs (dict "name" (include "emqx-ee.tlsSecretName" .) "namespace" $ns "value" $value "optional" $v.tls.certManager.enabled "keys" $tlsKeys) -}}
{{- end -}}
{{- end -}}
{{- $sm := $v.metrics.serviceMonitor -}}
{{- if and $sm.enabled (or $sm.force (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
{{- /* prometheus-operator reads the Secrets of a ServiceMonitor from the ServiceMonitor's namespace. */ -}}
{{- $smNs := $sm.namespace | default $ns -}}
{{- if include "emqx-ee.dashboardHttps" . -}}
{{- $key := dict "key" "ca.crt" "value" "tls.dashboard" "use" "the ServiceMonitor's tlsConfig.ca, which verifies the HTTPS dashboard" -}}
{{- $optional := and $v.tls.certManager.enabled (eq $smNs $ns) -}}
{{- $needs = append $needs (dict "name" (include "emqx-ee.tlsSecretName" .) "namespace" $smNs "value" "tls.dashboard" "optional" $optional "keys" (list $key)) -}}
{{- end -}}
{{- if and $v.metrics.basicAuth $sm.basicAuthSecret -}}
{{- $keys := list -}}
{{- range list "username" "password" -}}
{{- $keys = append $keys (dict "key" . "value" "metrics.serviceMonitor.basicAuthSecret" "use" (printf "the ServiceMonitor's basic-auth %s" .)) -}}
{{- end -}}
{{- $needs = append $needs (dict "name" $sm.basicAuthSecret "namespace" $smNs "value" "metrics.serviceMonitor.basicAuthSecret" "optional" false "keys" $keys) -}}
{{- end -}}
{{- end -}}
{{- /* cert-manager's CA key: a CA Issuer signs with the key pair in its spec.ca.secretName, a Secret in the
Issuer's namespace; without it the Issuer is not Ready, the Certificate is never issued and the pods wait for
its Secret. A ClusterIssuer's Secret lives in cert-manager's cluster resource namespace, which only its
deployment knows, so it is not checked. */ -}}
{{- $cm := $v.tls.certManager -}}
{{- if and $v.tls.enabled $cm.enabled (eq $cm.issuerRef.kind "Issuer") (eq $cm.issuerRef.group "cert-manager.io") (.Capabilities.APIVersions.Has "cert-manager.io/v1/Issuer") (include "emqx-ee.lookupWorks" .) -}}
{{- $issuer := lookup "cert-manager.io/v1" "Issuer" $ns $cm.issuerRef.name | default dict -}}
{{- with dig "spec" "ca" "secretName" "" $issuer -}}
{{- $keys := list
  (dict "key" "tls.crt" "value" "tls.certManager.issuerRef" "use" (printf "the CA certificate of Issuer %s (spec.ca.secretName)" $cm.issuerRef.name))
  (dict "key" "tls.key" "value" "tls.certManager.issuerRef" "use" (printf "the CA key of Issuer %s (spec.ca.secretName)" $cm.issuerRef.name)) -}}
{{- $needs = append $needs (dict "name" . "namespace" $ns "value" "tls.certManager.issuerRef" "optional" false "keys" $keys) -}}
{{- end -}}
{{- end -}}
{{- toJson $needs -}}
{{- end -}}

{{- /* The outcome of the checks, as JSON {problems, unchecked}: lists of sentences, each naming the value,
the Secret, its namespace and the key. */ -}}
{{- define "emqx-ee.secretChecks" -}}
{{- $extra := include "emqx-ee.extraSecrets" . | fromJson -}}
{{- $live := include "emqx-ee.lookupWorks" . -}}
{{- $problems := list -}}
{{- $unchecked := list -}}
{{- $missing := dict -}}
{{- range $need := include "emqx-ee.secretNeeds" . | fromJsonArray -}}
{{- $where := printf "%s/%s" $need.namespace $need.name -}}
{{- $keys := list -}}
{{- $found := false -}}
{{- if hasKey $extra $where -}}
{{- $found = true -}}
{{- $keys = get $extra $where -}}
{{- else if $live -}}
{{- with lookup "v1" "Secret" $need.namespace $need.name -}}
{{- $found = true -}}
{{- $keys = keys (.data | default dict) -}}
{{- end -}}
{{- else -}}
{{- $names := list -}}
{{- range $need.keys -}}
{{- $names = append $names .key -}}
{{- end -}}
{{- $what := ternary "" (printf ", key%s %s" (ternary "" "s" (eq (len $names) 1)) (join ", " $names)) (empty $names) -}}
{{- $unchecked = append $unchecked (printf "%s: Secret %s in namespace %s%s%s" $need.value $need.name $need.namespace $what (ternary " (once cert-manager has issued it)" "" $need.optional)) -}}
{{- end -}}
{{- if $found -}}
{{- range $need.keys -}}
{{- if not (has .key $keys) -}}
{{- $problems = append $problems (printf "%s: Secret %s in namespace %s has no key %s (%s)" .value $need.name $need.namespace .key .use) -}}
{{- end -}}
{{- end -}}
{{- else if and $live (not $need.optional) -}}
{{- $wanted := get $missing $where | default list -}}
{{- range $need.keys -}}
{{- /* The value that wants the key: the one naming the Secret when the key is chosen with it. */ -}}
{{- $by := ternary $need.value .value (hasSuffix "existingSecretKey" .value) -}}
{{- $wanted = append $wanted (printf "%s for key %s" $by .key) -}}
{{- else -}}
{{- $wanted = append $wanted $need.value -}}
{{- end -}}
{{- $_ := set $missing $where $wanted -}}
{{- end -}}
{{- end -}}
{{- range $where, $wanted := $missing -}}
{{- $parts := splitList "/" $where -}}
{{- $problems = append $problems (printf "Secret %s does not exist in namespace %s (wanted by %s)" (index $parts 1) (index $parts 0) (join ", " ($wanted | uniq))) -}}
{{- end -}}
{{- toJson (dict "problems" ($problems | uniq) "unchecked" ($unchecked | uniq)) -}}
{{- end -}}

{{- /* Every problem with the Secrets the values name, as a JSON list of messages (empty when there is
none, or when the chart cannot read the cluster). */ -}}
{{- define "emqx-ee.secretProblems" -}}
{{- toJson (include "emqx-ee.secretChecks" . | fromJson).problems -}}
{{- end -}}
