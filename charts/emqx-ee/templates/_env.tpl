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
Called with dict "prefix" "out" "value" "problems"; writes into "out", and appends to
problems.list a message for each key EMQX could not read (validation reports them all at once).
Keys must be lowercase: EMQX lowercases variable names, so "listeners.tcp.Internal" could only ever reach listener "internal". */ -}}
{{- define "emqx-ee.flattenConfig" -}}
{{- $out := .out -}}
{{- range $key, $value := .value -}}
{{- $path := ternary $key (printf "%s.%s" $.prefix $key) (eq $.prefix "") -}}
{{- $bad := true -}}
{{- if regexMatch "[A-Z]" $key -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig: %q has capital letters; EMQX lowercases the variable names it reads, so it would set %q: write the key in lowercase" $path (lower $path))) -}}
{{- else if or (not (regexMatch "^[a-z0-9_]+(\\.[a-z0-9_]+)*$" $key)) (contains "__" $key) -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig: %q is not an EMQX config path; use lowercase letters, digits and single _ separated by dots (log.console.level)" $path)) -}}
{{- else -}}
{{- $bad = false -}}
{{- end -}}
{{- if $bad -}}
{{- else if kindIs "map" $value -}}
{{- include "emqx-ee.flattenConfig" (dict "prefix" $path "value" $value "out" $out "problems" $.problems) -}}
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

{{- /* The refusal of an emqxConfig key whose first segment is not one of EMQX's config roots (EMQX would
ignore it without a word), naming the nearest roots; empty when the root exists. */ -}}
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
{{- printf "emqxConfig.%s: EMQX has no config root %q and would ignore the setting without a word; nearest roots: %s (roots of EMQX %s's schema)" . $root (join ", " $near) (include "emqx-ee.emqxSchemaVersion" $) -}}
{{- end -}}
{{- end -}}

{{- /* emqxConfig as EMQX_* variables, as JSON {"env": {NAME: {path, text}}, "problems": [message, ...]}:
every key EMQX could not read, or that the chart owns, is a problem (emqx-ee.validate reports them all). */ -}}
{{- define "emqx-ee.userConfig" -}}
{{- $user := dict -}}
{{- $problems := dict "list" list -}}
{{- include "emqx-ee.flattenConfig" (dict "prefix" "" "value" .Values.emqxConfig "out" $user "problems" $problems) -}}
{{- $owned := dict
  "EMQX_NODE__NAME" "the node name is EMQX_NAME@<pod FQDN>; set emqxName"
  "EMQX_NODE__COOKIE" "the Erlang cookie is a secret; set auth.erlangCookie.existingSecret"
  "EMQX_NODE__DATA_DIR" "the data directory is the persistent volume at /opt/emqx/data"
  "EMQX_NODE__ROLE" "replicants.enabled runs replicant nodes beside the core StatefulSet"
  "EMQX_LICENSE__KEY" "the license is a secret; set license.key or license.existingSecret"
  "EMQX_DASHBOARD__DEFAULT_USERNAME" "set auth.dashboard.username"
  "EMQX_DASHBOARD__DEFAULT_PASSWORD" "the password is a secret; set auth.dashboard.existingSecret"
  "EMQX_API_KEY__BOOTSTRAP_FILE" "the chart mounts the bootstrap file from apiKey.*; set apiKey.existingSecret"
  "EMQX_PROMETHEUS__ENABLE_BASIC_AUTH" "set metrics.basicAuth (the ServiceMonitor follows it)" -}}
{{- $list := $problems.list -}}
{{- range $env, $entry := $user -}}
{{- with include "emqx-ee.checkConfigRoot" $entry.path -}}
{{- $list = append $list . -}}
{{- end -}}
{{- if hasKey $owned $env -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: %s" $entry.path (get $owned $env)) -}}
{{- else if regexMatch "^cluster\\.(discovery_strategy|dns\\.|k8s\\.|static\\.)" $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: the chart derives cluster discovery from discovery (dns, k8s or static) and the Service names" $entry.path) -}}
{{- else if regexMatch "^(listeners\\.(tcp|ssl|ws|wss)\\.default\\.(bind|enable|enabled|proxy_protocol)|dashboard\\.listeners\\.https?\\.bind)$" $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: the chart derives it, with the container ports and Services, from listeners.* and dashboard.containerPort" $entry.path) -}}
{{- else if regexMatch "(?i)(password|passwd|secret|token|api_key)$" $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s looks like a secret and would land in the pod template: pass it as extraEnv %s with valueFrom.secretKeyRef" $entry.path $env) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "env" $user "problems" $list) -}}
{{- end -}}

{{- /* EMQX settings as environment variables ({NAME: text}, YAML): the chart's cluster settings, then
emqxConfig on top. They go into the pod template itself, so that every revision of the pods keeps its own
settings: a pod held back by a partition, or restarted in the middle of a roll, boots with the settings
of its own template, never with those of a newer revision (and a failed upgrade leaves none behind). */ -}}
{{- define "emqx-ee.configEnv" -}}
{{- with (include "emqx-ee.userConfig" . | fromJson).problems -}}
{{- fail (printf "\n%s" (join "\n" .)) -}}
{{- end -}}
{{- include "emqx-ee.settingsEnv" . -}}
{{- end -}}

{{- /* emqx-ee.configEnv without the check of emqxConfig (validation reads the names from it). */ -}}
{{- define "emqx-ee.settingsEnv" -}}
{{- $user := (include "emqx-ee.userConfig" . | fromJson).env -}}
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
