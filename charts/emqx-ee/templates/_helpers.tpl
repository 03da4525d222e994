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

{{- /* Pod template labels: selector labels, membership, role and podLabels; versions stay out, so a chart
upgrade alone never rolls the brokers. */ -}}
{{- define "emqx-ee.podLabels" -}}
{{ include "emqx-ee.selectorLabels" . }}
{{ include "emqx-ee.memberLabels" . }}
app.kubernetes.io/component: core
{{- with .Values.podLabels }}
{{ toYaml . }}
{{- end }}
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

{{- /* The replicants' pod template: the core pod template with what makes a replicant. Node name
emqx@<pod IP> (a Deployment's pods have no stable DNS name; cores reach replicants by IP), node.role
replicant, data in an emptyDir (replicants keep no data), their own resources and scheduling. */ -}}
{{- define "emqx-ee.replicantPodTemplate" -}}
{{- $r := .Values.replicants -}}
{{- $pod := include "emqx-ee.podTemplate" . | fromYaml -}}
{{- $selector := include "emqx-ee.replicantSelectorLabels" . | fromYaml -}}
{{- $member := include "emqx-ee.memberLabels" . | fromYaml -}}
{{- $_ := set $pod.metadata "labels" (merge (deepCopy $selector) $member (dict "app.kubernetes.io/component" "replicant") (.Values.podLabels | default dict)) -}}
{{- $spec := omit $pod.spec "affinity" "nodeSelector" "tolerations" "topologySpreadConstraints" -}}
{{- $spread := dict "weight" 100 "podAffinityTerm" (dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" $selector)) -}}
{{- $_ := set $spec "affinity" ($r.affinity | default (dict "podAntiAffinity" (dict "preferredDuringSchedulingIgnoredDuringExecution" (list $spread)))) -}}
{{- with $r.nodeSelector }}{{ $_ := set $spec "nodeSelector" . }}{{ end -}}
{{- with $r.tolerations }}{{ $_ := set $spec "tolerations" . }}{{ end -}}
{{- with $r.topologySpreadConstraints -}}
{{- $constraints := list -}}
{{- range . -}}
{{- $constraints = append $constraints (merge (deepCopy .) (dict "labelSelector" (dict "matchLabels" $selector))) -}}
{{- end -}}
{{- $_ := set $spec "topologySpreadConstraints" $constraints -}}
{{- end -}}
{{- $containers := list -}}
{{- range $spec.containers -}}
{{- if eq .name "emqx" -}}
{{- $env := list -}}
{{- range .env -}}
{{- if eq .name "EMQX_HOST" -}}
{{- $env = append $env (dict "name" "EMQX_HOST" "valueFrom" (dict "fieldRef" (dict "fieldPath" "status.podIP"))) -}}
{{- $env = append $env (dict "name" "EMQX_NODE__ROLE" "value" "replicant") -}}
{{- else -}}
{{- $env = append $env . -}}
{{- end -}}
{{- end -}}
{{- $container := deepCopy . -}}
{{- $_ := set $container "env" $env -}}
{{- $_ := set $container "resources" ($r.resources | default dict) -}}
{{- $containers = append $containers $container -}}
{{- else -}}
{{- $containers = append $containers . -}}
{{- end -}}
{{- end -}}
{{- $_ := set $spec "containers" $containers -}}
{{- $volumes := list (dict "name" "emqx-data" "emptyDir" (dict "sizeLimit" .Values.persistence.emptyDirSizeLimit)) -}}
{{- range $spec.volumes -}}
{{- if ne .name "emqx-data" }}{{ $volumes = append $volumes . }}{{ end -}}
{{- end -}}
{{- $_ := set $spec "volumes" $volumes -}}
{{- toYaml (dict "metadata" $pod.metadata "spec" $spec) -}}
{{- end -}}

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

{{- /* ConfigMap with the EMQX settings (environment variables). */ -}}
{{- define "emqx-ee.configMapName" -}}
{{- printf "%s-config" (include "emqx-ee.fullname" .) -}}
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

{{- /* Delete policy of the helm test hooks: a failed test stays for its logs until the next test. */ -}}
{{- define "emqx-ee.testDeletePolicy" -}}
{{- ternary "before-hook-creation,hook-succeeded" "before-hook-creation" .Values.tests.deleteOnSuccess -}}
{{- end -}}

{{- /* Source of the API bootstrap file (EMQX api_key.bootstrap_file). */ -}}
{{- define "emqx-ee.apiKeySecretRef" -}}
{{- include "emqx-ee.secretRef" (dict "ctx" . "source" .Values.apiKey "key" "api-key-bootstrap") -}}
{{- end -}}

{{- /* "true" when the dashboard and REST API are served over HTTPS (tls.dashboard), else "". */ -}}
{{- define "emqx-ee.dashboardHttps" -}}
{{- if and .Values.tls.enabled .Values.tls.dashboard -}}true{{- end -}}
{{- end -}}

{{- /* Labels of the metrics Service; its component label tells it apart from the other Services. */ -}}
{{- define "emqx-ee.metricsServiceLabels" -}}
{{ include "emqx-ee.labels" . }}
app.kubernetes.io/component: metrics
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

{{- /* A string as EMQX reads it from a variable: EMQX parses the value as HOCON, where an unquoted
"#" or "//" starts a comment, "${...}" is a substitution and ":" or "=" a separator. Text that HOCON
reads as one literal (a word, number, duration, byte size or percentage, or an already quoted string)
stays as it is; anything else is written as a JSON string, which HOCON reads literally (its escapes are
JSON's: hocon src/hocon_scanner.xrl). */ -}}
{{- define "emqx-ee.hoconString" -}}
{{- $literal := `^([A-Za-z][A-Za-z0-9_.@%|-]*|[+-]?[0-9]+|[+-]?[0-9]*\.[0-9]+|[0-9]+(d|D|h|H|m|M|s|S|ms|MS|kb|KB|mb|MB|gb|GB|%)|"([^"\\]|\\["\\bfnrt]|\\u[0-9A-Fa-f]{4})*")$` -}}
{{- if and (regexMatch $literal .) (ne . "include") -}}
{{- . -}}
{{- else -}}
{{- toJson . -}}
{{- end -}}
{{- end -}}

{{- /* Flatten emqxConfig into EMQX_* variables: `a.b` or nested {a: {b: ...}} both become EMQX_A__B.
Called with dict "prefix" "out" "value"; writes into "out". Keys must be lowercase: EMQX lowercases
variable names, so "listeners.tcp.Internal" could only ever reach listener "internal". */ -}}
{{- define "emqx-ee.flattenConfig" -}}
{{- $out := .out -}}
{{- range $key, $value := .value -}}
{{- $path := ternary $key (printf "%s.%s" $.prefix $key) (eq $.prefix "") -}}
{{- if regexMatch "[A-Z]" $key -}}
{{- fail (printf "emqxConfig: %q has capital letters; EMQX lowercases the variable names it reads, so it would set %q: write the key in lowercase" $path (lower $path)) -}}
{{- end -}}
{{- if or (not (regexMatch "^[a-z0-9_]+(\\.[a-z0-9_]+)*$" $key)) (contains "__" $key) -}}
{{- fail (printf "emqxConfig: %q is not an EMQX config path; use lowercase letters, digits and single _ separated by dots (log.console.level)" $path) -}}
{{- end -}}
{{- if kindIs "map" $value -}}
{{- include "emqx-ee.flattenConfig" (dict "prefix" $path "value" $value "out" $out) -}}
{{- else -}}
{{- $env := printf "EMQX_%s" ($path | replace "." "__" | upper) -}}
{{- $text := "" -}}
{{- if kindIs "slice" $value -}}
{{- $text = toJson $value -}}
{{- else if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) -}}
{{- $text = int64 $value | toString -}}
{{- else if kindIs "string" $value -}}
{{- $text = include "emqx-ee.hoconString" $value -}}
{{- else -}}
{{- $text = toString $value -}}
{{- end -}}
{{- $_ := set $out $env (dict "path" $path "text" $text) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Levenshtein distance between .a and .b (to suggest the nearest EMQX config roots). */ -}}
{{- define "emqx-ee.editDistance" -}}
{{- $b := .b -}}
{{- $prev := until (add1 (len $b) | int) -}}
{{- range $i, $_ := until (len .a) -}}
{{- $ca := substr $i (add1 $i | int) $.a -}}
{{- $row := list (add1 $i) -}}
{{- range $j, $_ := until (len $b) -}}
{{- $cost := ternary 0 1 (eq $ca (substr $j (add1 $j | int) $b)) -}}
{{- $row = append $row (min (add1 (index $prev (add1 $j))) (add1 (index $row $j)) (add (index $prev $j) $cost)) -}}
{{- end -}}
{{- $prev = $row -}}
{{- end -}}
{{- last $prev -}}
{{- end -}}

{{- /* Refuse an emqxConfig key whose first segment is not one of EMQX's config roots: EMQX would ignore
it without a word. The message names the nearest roots. */ -}}
{{- define "emqx-ee.checkConfigRoot" -}}
{{- $root := first (splitList "." .) -}}
{{- $roots := include "emqx-ee.emqxConfigRoots" $ | fromJsonArray -}}
{{- if not (has $root $roots) -}}
{{- $best := 99 -}}
{{- $near := list -}}
{{- range $candidate := $roots -}}
{{- $d := include "emqx-ee.editDistance" (dict "a" $root "b" $candidate) | int -}}
{{- if lt $d $best -}}
{{- $best = $d -}}
{{- $near = list $candidate -}}
{{- else if eq $d $best -}}
{{- $near = append $near $candidate -}}
{{- end -}}
{{- end -}}
{{- fail (printf "emqxConfig.%s: EMQX has no config root %q and would ignore the setting without a word; nearest roots: %s (roots of EMQX %s's schema)" . $root (join ", " $near) (include "emqx-ee.emqxSchemaVersion" $)) -}}
{{- end -}}
{{- end -}}

{{- /* EMQX environment of the ConfigMap: the chart's cluster settings, then emqxConfig on top. */ -}}
{{- define "emqx-ee.configEnv" -}}
{{- $user := dict -}}
{{- include "emqx-ee.flattenConfig" (dict "prefix" "" "value" .Values.emqxConfig "out" $user) -}}
{{- $owned := dict
  "EMQX_NODE__NAME" "the node name is EMQX_NAME@<pod FQDN>; set emqxName"
  "EMQX_NODE__COOKIE" "the Erlang cookie is a secret; set auth.erlangCookie.existingSecret"
  "EMQX_NODE__DATA_DIR" "the data directory is the persistent volume at /opt/emqx/data"
  "EMQX_LICENSE__KEY" "the license is a secret; set license.key or license.existingSecret"
  "EMQX_DASHBOARD__DEFAULT_USERNAME" "set auth.dashboard.username"
  "EMQX_DASHBOARD__DEFAULT_PASSWORD" "the password is a secret; set auth.dashboard.existingSecret"
  "EMQX_API_KEY__BOOTSTRAP_FILE" "the chart mounts the bootstrap file from apiKey.*; set apiKey.existingSecret"
  "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH" "set metrics.basicAuth (the ServiceMonitor follows it)" -}}
{{- range $env, $entry := $user -}}
{{- include "emqx-ee.checkConfigRoot" $entry.path -}}
{{- if hasKey $owned $env -}}
{{- fail (printf "emqxConfig.%s cannot be set here: %s" $entry.path (get $owned $env)) -}}
{{- end -}}
{{- if regexMatch "^cluster\\.(discovery_strategy|dns\\.|k8s\\.|static\\.)" $entry.path -}}
{{- fail (printf "emqxConfig.%s cannot be set here: the chart derives cluster discovery from discovery (dns, k8s or static) and the Service names" $entry.path) -}}
{{- end -}}
{{- if regexMatch "^(listeners\\.(tcp|ssl|ws|wss)\\.default\\.(bind|enable|enabled|proxy_protocol)|dashboard\\.listeners\\.https?\\.bind)$" $entry.path -}}
{{- fail (printf "emqxConfig.%s cannot be set here: the chart derives it, with the container ports and Services, from listeners.* and dashboard.containerPort" $entry.path) -}}
{{- end -}}
{{- if regexMatch "(?i)(password|passwd|secret|token|api_key)$" $entry.path -}}
{{- fail (printf "emqxConfig.%s looks like a secret and would land in a ConfigMap: pass it as extraEnv %s with valueFrom.secretKeyRef" $entry.path $env) -}}
{{- end -}}
{{- end -}}
{{- $env := dict
  "EMQX_CLUSTER__DISCOVERY_STRATEGY" .Values.discovery
  "EMQX_DASHBOARD__DEFAULT_USERNAME" .Values.auth.dashboard.username
  "EMQX_PLUGINS__INSTALL_DIR" "/opt/emqx/data/plugins" -}}
{{- if eq .Values.discovery "dns" -}}
{{- $_ := set $env "EMQX_CLUSTER__DNS__NAME" (include "emqx-ee.headlessServiceFqdn" .) -}}
{{- $_ := set $env "EMQX_CLUSTER__DNS__RECORD_TYPE" "srv" -}}
{{- else if eq .Values.discovery "k8s" -}}
{{- /* ekka reads GET /api/v1/namespaces/<ns>/endpoints/<service> and, with address_type hostname, names
each node <emqxName>@<hostname>.<service>.<ns>.<suffix>: exactly EMQX_HOST. The API server stays EMQX's
default (https://kubernetes.default.svc:443): unquoted, its "//" would start a HOCON comment. */ -}}
{{- $_ := set $env "EMQX_CLUSTER__K8S__SERVICE_NAME" (include "emqx-ee.headlessServiceName" .) -}}
{{- $_ := set $env "EMQX_CLUSTER__K8S__NAMESPACE" (include "emqx-ee.namespace" .) -}}
{{- $_ := set $env "EMQX_CLUSTER__K8S__ADDRESS_TYPE" "hostname" -}}
{{- $_ := set $env "EMQX_CLUSTER__K8S__SUFFIX" (printf "svc.%s" .Values.clusterDomain) -}}
{{- else -}}
{{- $seeds := list -}}
{{- range $i := until (int .Values.replicaCount) -}}
{{- $seeds = append $seeds (printf "%s@%s" $.Values.emqxName (include "emqx-ee.nodeHost" (dict "ctx" $ "ordinal" $i))) -}}
{{- end -}}
{{- $_ := set $env "EMQX_CLUSTER__STATIC__SEEDS" (toJson $seeds) -}}
{{- end -}}
{{- if .Values.metrics.basicAuth -}}
{{- $_ := set $env "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH" "true" -}}
{{- end -}}
{{- if .Values.apiKey.enabled -}}
{{- $_ := set $env "EMQX_API_KEY__BOOTSTRAP_FILE" (include "emqx-ee.hoconString" (printf "%s/bootstrap.txt" (include "emqx-ee.apiKeyDir" .))) -}}
{{- end -}}
{{- if .Values.tls.enabled -}}
{{- /* Paths are quoted for HOCON: an unquoted value starting with "/" is not a HOCON string. */ -}}
{{- $dir := include "emqx-ee.tlsDir" . -}}
{{- range $name := list "mqtts" "wss" -}}
{{- if (get $.Values.listeners $name).enabled -}}
{{- $prefix := printf "EMQX_LISTENERS__%s__DEFAULT__SSL_OPTIONS__" (include "emqx-ee.listenerType" $name | upper) -}}
{{- $_ := set $env (printf "%sCERTFILE" $prefix) (printf "%q" (printf "%s/tls.crt" $dir)) -}}
{{- $_ := set $env (printf "%sKEYFILE" $prefix) (printf "%q" (printf "%s/tls.key" $dir)) -}}
{{- if $.Values.tls.verifyClients -}}
{{- $_ := set $env (printf "%sCACERTFILE" $prefix) (printf "%q" (printf "%s/ca.crt" $dir)) -}}
{{- $_ := set $env (printf "%sVERIFY" $prefix) "verify_peer" -}}
{{- $_ := set $env (printf "%sFAIL_IF_NO_PEER_CERT" $prefix) "true" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Listener settings only where they differ from EMQX's defaults, so that a chart upgrade over
unchanged values changes no setting and restarts no node. */ -}}
{{- if include "emqx-ee.dashboardHttps" . -}}
{{- /* HTTPS only: bind 0 switches EMQX's HTTP listener off (apps/emqx_dashboard/src/emqx_dashboard_schema.erl). */ -}}
{{- $dir := include "emqx-ee.tlsDir" . -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTP__BIND" "0" -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__BIND" (printf "%d" (int .Values.dashboard.containerPort)) -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__CERTFILE" (include "emqx-ee.hoconString" (printf "%s/tls.crt" $dir)) -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__KEYFILE" (include "emqx-ee.hoconString" (printf "%s/tls.key" $dir)) -}}
{{- else if ne (int .Values.dashboard.containerPort) 18083 -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTP__BIND" (printf "%d" (int .Values.dashboard.containerPort)) -}}
{{- end -}}
{{- range $name, $listener := .Values.listeners -}}
{{- $prefix := printf "EMQX_LISTENERS__%s__DEFAULT__" (include "emqx-ee.listenerType" $name | upper) -}}
{{- if $listener.enabled -}}
{{- if ne (toString (int $listener.containerPort)) (include "emqx-ee.listenerDefaultPort" $name) -}}
{{- /* Quoted: EMQX reads the value as HOCON, where an unquoted ":" is a separator. */ -}}
{{- $_ := set $env (printf "%sBIND" $prefix) (printf "%q" (printf "0.0.0.0:%d" (int $listener.containerPort))) -}}
{{- end -}}
{{- if $listener.proxyProtocol -}}
{{- $_ := set $env (printf "%sPROXY_PROTOCOL" $prefix) "true" -}}
{{- end -}}
{{- else -}}
{{- $_ := set $env (printf "%sENABLE" $prefix) "false" -}}
{{- end -}}
{{- end -}}
{{- range $name, $entry := $user -}}
{{- $_ := set $env $name $entry.text -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{- /* Cross-field rules the schema cannot express (values.schema.json holds the others, so that
`helm lint`, editors and `helm install` refuse the same values). Each message names the value. */ -}}
{{- define "emqx-ee.validate" -}}
{{- $v := .Values -}}
{{- if not (kindIs "string" $v.image.tag) -}}
{{- fail (printf "image.tag was read as the number %v, which loses digits (6.10 becomes 6.1): pass it as text, with --set-string image.tag=... or quotes in YAML" $v.image.tag) -}}
{{- end -}}
{{- range $name, $_ := $v.service.nodePorts -}}
{{- if not (dig $name "enabled" false $v.listeners) -}}
{{- fail (printf "service.nodePorts.%s: listener %s is not enabled (listeners.%s.enabled), so the Service has no such port" $name $name $name) -}}
{{- end -}}
{{- end -}}
{{- $ports := dict (toString (int $v.dashboard.containerPort)) "dashboard.containerPort" "4370" "the Erlang distribution" "5369" "gen_rpc" -}}
{{- range $name, $listener := $v.listeners -}}
{{- if $listener.enabled -}}
{{- $port := toString (int $listener.containerPort) -}}
{{- if hasKey $ports $port -}}
{{- fail (printf "listeners.%s.containerPort=%s is already taken by %s: choose another port" $name $port (get $ports $port)) -}}
{{- end -}}
{{- $_ := set $ports $port (printf "listeners.%s.containerPort" $name) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.discovery "k8s") (not $v.serviceAccount.create) (not $v.serviceAccount.name) -}}
{{- fail "discovery=k8s with serviceAccount.create=false and no serviceAccount.name would grant the Endpoints read to the namespace's default ServiceAccount, which every pod there uses: set serviceAccount.name, or serviceAccount.create=true" -}}
{{- end -}}
{{- if and $v.tls.enabled (not $v.listeners.mqtts.enabled) (not $v.listeners.wss.enabled) (not $v.tls.dashboard) -}}
{{- fail "tls.enabled: neither TLS listener (listeners.mqtts, listeners.wss) nor tls.dashboard is enabled, so nothing would use the certificate" -}}
{{- end -}}
{{- if and $v.tls.dashboard (not $v.tls.enabled) -}}
{{- fail "tls.dashboard needs tls.enabled and a certificate (tls.existingSecret or tls.certManager)" -}}
{{- end -}}
{{- if and $v.tls.verifyClients (not $v.tls.enabled) -}}
{{- fail "tls.verifyClients needs tls.enabled (and a ca.crt in the certificate's Secret)" -}}
{{- end -}}
{{- if and $v.tests.enabled (not $v.apiKey.enabled) -}}
{{- fail "tests.enabled: the helm test asks the REST API for the cluster's members with the bootstrap API key: set apiKey.enabled=true, or tests.enabled=false" -}}
{{- end -}}
{{- $sm := $v.metrics.serviceMonitor -}}
{{- if and $sm.enabled $v.metrics.basicAuth (or $sm.force (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
{{- if not (include "emqx-ee.metricsAuthSecretRef" .) -}}
{{- fail "metrics.basicAuth: the ServiceMonitor needs credentials, and the chart generates none (apiKey.existingSecret or apiKey.enabled=false): set metrics.serviceMonitor.basicAuthSecret (a Secret with keys username and password), or metrics.basicAuth=false" -}}
{{- end -}}
{{- if and $sm.namespace (ne $sm.namespace (include "emqx-ee.namespace" .)) (not $sm.basicAuthSecret) -}}
{{- fail (printf "metrics.serviceMonitor.namespace=%s: Prometheus reads the basic-auth Secret from the ServiceMonitor's namespace, and the chart's API key Secret lives in %s: set metrics.serviceMonitor.basicAuthSecret to a Secret in %s, or leave the namespace empty" $sm.namespace (include "emqx-ee.namespace" .) $sm.namespace) -}}
{{- end -}}
{{- end -}}
{{- $np := $v.networkPolicy -}}
{{- if and $np.enabled $np.egress.enabled (eq $v.discovery "k8s") (not $np.egress.apiServer) -}}
{{- fail "networkPolicy.egress.apiServer: discovery=k8s reads Endpoints from the Kubernetes API server, which a restricted egress would block: give its addresses (for example [{ipBlock: {cidr: 10.0.0.1/32}}]) and networkPolicy.egress.apiServerPort" -}}
{{- end -}}
{{- if hasKey $v "autoscaling" -}}
{{- fail "autoscaling: only replicant nodes can autoscale (replicants.enabled, replicants.autoscaling). Core nodes hold the cluster's data on their claims, and EMQX keeps a removed core as a stopped member until cluster.autoclean, so cores are scaled on purpose with replicaCount." -}}
{{- end -}}
{{- $a := $v.replicants.autoscaling -}}
{{- if and $v.replicants.enabled $a.enabled (lt (int $a.maxReplicas) (int $a.minReplicas)) -}}
{{- fail (printf "replicants.autoscaling.maxReplicas=%d is below minReplicas=%d" (int $a.maxReplicas) (int $a.minReplicas)) -}}
{{- end -}}
{{- if and $v.replicants.enabled $a.enabled (not (or $a.targetCPUUtilizationPercentage $a.targetMemoryUtilizationPercentage)) -}}
{{- fail "replicants.autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" -}}
{{- end -}}
{{- $pdb := $v.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt (int $v.replicaCount) 1) (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) (int $v.replicaCount)) -}}
{{- fail (printf "podDisruptionBudget.minAvailable=%d with replicaCount=%d would block every node drain: use a smaller number, or podDisruptionBudget.maxUnavailable" (int $pdb.minAvailable) (int $v.replicaCount)) -}}
{{- end -}}
{{- $host := include "emqx-ee.nodeHost" (dict "ctx" . "ordinal" $v.replicaCount) -}}
{{- if gt (len $host) 253 -}}
{{- fail (printf "node host %s is longer than 253 characters: shorten fullnameOverride, namespaceOverride or clusterDomain" $host) -}}
{{- end -}}
{{- end -}}

{{- /* What the static analysers (kube-score and checkov, tests/unit/test_static_analysis.py) report about
an EMQX or helm test workload and the chart leaves so on purpose, with the reason, as a list of
{kubeScore, checkov, reason}. Each entry holds only while its condition does, so a change that voids a
reason brings the finding back. Input: dict "ctx" (the root context) and "for": core, replicant, test or
rollback-guard (the two short-lived hook Pods share their reasons). */ -}}
{{- define "emqx-ee.analysisExplanations" -}}
{{- $v := .ctx.Values -}}
{{- $out := list -}}
{{- $psc := $v.podSecurityContext | default dict -}}
{{- $csc := $v.containerSecurityContext | default dict -}}
{{- $readOnlyRoot := $csc.readOnlyRootFilesystem | default false -}}
{{- if not (has .for (list "test" "rollback-guard")) -}}
{{- $res := (eq .for "replicant" | ternary $v.replicants.resources $v.resources) | default dict -}}
{{- $key := eq .for "replicant" | ternary "replicants.resources" "resources" -}}
{{- $limits := $res.limits | default dict -}}
{{- $requests := $res.requests | default dict -}}
{{- /* kube-score's container-resources also wants memory and CPU requests and a memory limit; ignoring it
also ignores its ephemeral-storage check (kube-score implies that), hence the narrow condition. */ -}}
{{- if and (not $limits.cpu) $requests.cpu $requests.memory $limits.memory -}}
{{- $out = append $out (dict "kubeScore" "container-resources" "checkov" "CKV_K8S_11" "reason" (printf "No CPU limit on purpose: CFS quota throttling stalls a latency-sensitive broker (MQTT keepalives, Erlang distribution heartbeats) even on an idle node; the CPU request reserves capacity and memory is limited. Set %s.limits.cpu to add one." $key)) -}}
{{- end -}}
{{- if and $readOnlyRoot (not (hasKey $limits "ephemeral-storage")) -}}
{{- $out = append $out (dict "kubeScore" "container-ephemeral-storage-request-and-limit" "reason" (printf "The root filesystem is read-only and every emptyDir the chart mounts has a sizeLimit, so the container cannot fill the node's disk beyond them; a container limit would have to track those sizes. Set %s.limits.ephemeral-storage to add one." $key)) -}}
{{- end -}}
{{- if ne $v.image.pullPolicy "Always" -}}
{{- /* checkov accepts any pull policy for an image given by digest; kube-score does not. */ -}}
{{- $out = append $out (dict "kubeScore" "container-image-pull-policy" "checkov" (ternary "CKV_K8S_15" "" (not $v.image.digest)) "reason" (printf "%s: the image is a fixed EMQX release (the chart's appVersion unless image.tag says otherwise) or a digest (image.digest), so a node that has pulled it once need not ask the registry again. Set image.pullPolicy to Always where pull secrets must be checked on every start." $v.image.pullPolicy)) -}}
{{- end -}}
{{- if not $v.image.digest -}}
{{- $out = append $out (dict "checkov" "CKV_K8S_43" "reason" "The image is pinned by its EMQX release tag (the chart's appVersion or image.tag). Pin the exact build with image.digest (sha256:...), which wins over the tag.") -}}
{{- end -}}
{{- $live := $v.livenessProbe -}}
{{- $ready := $v.readinessProbe -}}
{{- $liveWindow := mul (int $live.periodSeconds) (int $live.failureThreshold) -}}
{{- $readyWindow := mul (int $ready.periodSeconds) (int $ready.failureThreshold) -}}
{{- if and $live.enabled $ready.enabled (gt $liveWindow $readyWindow) -}}
{{- $out = append $out (dict "kubeScore" "pod-probes-identical" "reason" (printf "Both probes ask GET /status, EMQX's health endpoint, but liveness restarts a node only after %ds of failures while readiness takes it out of the Services after %ds: an overloaded node stops getting clients long before it is restarted." $liveWindow $readyWindow)) -}}
{{- end -}}
{{- if and $v.networkPolicy.enabled (not $v.networkPolicy.egress.enabled) -}}
{{- $out = append $out (dict "kubeScore" "pod-networkpolicy" "reason" "The NetworkPolicy fences ingress only: egress stays open because EMQX's rule engine and data integrations connect to databases and brokers the chart cannot know. Set networkPolicy.egress.enabled to fence it too.") -}}
{{- end -}}
{{- $out = append $out (dict "checkov" "CKV_K8S_35" "reason" "EMQX reads the Erlang cookie, the dashboard password and the license key from EMQX_* environment variables at boot; they come from Secrets through secretKeyRef (never from the ConfigMap), and the API key is mounted as a file.") -}}
{{- if and (eq .for "replicant") $v.replicants.autoscaling.enabled -}}
{{- $out = append $out (dict "kubeScore" "deployment-targeted-by-hpa-does-not-have-replicas-configured" "reason" "The HPA owns the count: replicas renders the live count back within the HPA's bounds, because leaving it out would reset a running Deployment to one replicant on the upgrade that turns autoscaling on.") -}}
{{- end -}}
{{- else -}}
{{- $guard := eq .for "rollback-guard" -}}
{{- $image := ternary $v.rollbackGuard.image $v.tests.image $guard -}}
{{- $key := ternary "rollbackGuard.image" "tests.image" $guard -}}
{{- $pod := ternary "The rollback guard's Pod" "The helm test Pod" $guard -}}
{{- $script := ternary "rollback guard" "test" $guard -}}
{{- if $readOnlyRoot -}}
{{- $out = append $out (dict "kubeScore" "container-ephemeral-storage-request-and-limit" "reason" "The root filesystem is read-only and the Pod mounts no writable volume: it writes nothing but its log.") -}}
{{- end -}}
{{- if ne $image.pullPolicy "Always" -}}
{{- $out = append $out (dict "kubeScore" "container-image-pull-policy" "checkov" "CKV_K8S_15" "reason" (printf "%s: the %s script uses the Python standard library only and runs on any patch release of the image a node has cached. Set %s.pullPolicy to Always to check pull secrets and refresh the image on every run." $image.pullPolicy $script $key)) -}}
{{- end -}}
{{- if not (contains "@" $image.tag) -}}
{{- $out = append $out (dict "checkov" "CKV_K8S_43" "reason" (printf "The %s image follows a tag (%s) because the standard-library-only script needs no exact build. Pin one with %s.tag set to <tag>@sha256:<digest>." $script $image.tag $key)) -}}
{{- end -}}
{{- $out = append $out (dict "kubeScore" "pod-networkpolicy" "checkov" "CKV2_K8S_6" "reason" (printf "%s listens on no port and lives only while helm %s runs; a policy would have nothing to fence but its calls to the %s." $pod (ternary "rollback" "test" $guard) (ternary "Kubernetes API server" "brokers" $guard))) -}}
{{- $out = append $out (dict "checkov" "CKV_K8S_8,CKV_K8S_9" "reason" (printf "%s runs once to completion (restartPolicy Never, activeDeadlineSeconds) behind no Service: readiness has no one to inform and a liveness restart would only repeat the %s." $pod (ternary "check" "test" $guard))) -}}
{{- end -}}
{{- $uid := $csc.runAsUser | default $psc.runAsUser -}}
{{- $gid := $csc.runAsGroup | default $psc.runAsGroup | default 1000 -}}
{{- if and $uid (eq (int $uid) 1000) (eq (int $gid) 1000) -}}
{{- $who := eq .for "test" | ternary "The helm test Pod shares the brokers' podSecurityContext (UID and GID 1000) and reads the API key Secret's 0440 files through its fsGroup" "EMQX's official image runs as its emqx user, UID and GID 1000, which owns /opt/emqx; the chart runs it so (podSecurityContext), and the data volumes of existing installs belong to it" -}}
{{- if eq .for "rollback-guard" }}{{ $who = "The rollback guard's Pod shares the brokers' podSecurityContext (UID and GID 1000)" }}{{ end -}}
{{- $out = append $out (dict "kubeScore" "container-security-context-user-group-id" "checkov" "CKV_K8S_40" "reason" (printf "%s. runAsNonRoot holds, all capabilities are dropped and the Pod uses no host namespace or host path, so sharing a UID with a host user grants nothing." $who)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* The explanations of emqx-ee.analysisExplanations as annotations of the object concerned (same input):
a YAML comment per reason, kube-score's documented `kube-score/ignore: <check>,...` and checkov's
`checkov.io/skipN: <check>=<reason>` (checkov reads these from metadata.annotations and cuts the text at
`=`, so reasons hold none). Empty when nothing is explained. */ -}}
{{- define "emqx-ee.analysisAnnotations" -}}
{{- $entries := include "emqx-ee.analysisExplanations" . | fromJsonArray -}}
{{- $kubeScore := list -}}
{{- $skips := list -}}
{{- range $entries }}
{{- $reason := .reason }}
# {{ list .kubeScore .checkov | compact | join "," | replace "," ", " }}: {{ $reason }}
{{- with .kubeScore }}{{ $kubeScore = append $kubeScore . }}{{ end }}
{{- range splitList "," (.checkov | default "") | compact }}{{ $skips = append $skips (printf "%s=%s" . $reason) }}{{ end }}
{{- end }}
{{- with $kubeScore }}
kube-score/ignore: {{ join "," . | quote }}
{{- end }}
{{- range $i, $skip := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $skip | quote }}
{{- end }}
{{- end -}}
