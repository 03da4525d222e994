{{- /*
Validation of values: the cross-field rules the schema cannot express. Every problem is collected and
reported in one failure.
*/ -}}

{{- /* Cross-field rules the schema cannot express (values.schema.json holds the others, so that
`helm lint`, editors and `helm install` refuse the same values). Each message names the value; all of
them are reported at once, in one failure. */ -}}
{{- define "emqx-ee.validate" -}}
{{- $v := .Values -}}
{{- /* `helm upgrade --reuse-values` from an older chart version takes that version's values as they were,
without the defaults of the blocks this version adds: name them, before anything reads them. */ -}}
{{- $missing := list -}}
{{- range $block := list "gracefulShutdown" "rollbackGuard" "emqxConfigCheck" "securityProfile" "mqttAuth" -}}
{{- if not (hasKey $v $block) -}}{{- $missing = append $missing $block -}}{{- end -}}
{{- end -}}
{{- if not (hasKey $v.replicants "updateStrategy") -}}{{- $missing = append $missing "replicants.updateStrategy" -}}{{- end -}}
{{- if $missing -}}
{{- fail (printf "\nthe values lack %s, which this chart version adds: `helm upgrade --reuse-values` keeps the values of the chart version the release was installed with, without the new defaults. Upgrade with --reset-then-reuse-values (Helm 3.14+ and 4), or pass your values file again" (join ", " $missing)) -}}
{{- end -}}
{{- $errors := (include "emqx-ee.userConfig" . | fromJson).problems -}}
{{- if not (kindIs "string" $v.image.tag) -}}
{{- $errors = append $errors (printf "image.tag was read as the number %v, which loses digits (6.10 becomes 6.1): pass it as text, with --set-string image.tag=... or quotes in YAML" $v.image.tag) -}}
{{- end -}}
{{- $served := include "emqx-ee.listeners" . | fromJson -}}
{{- $tlsOff := "" -}}
{{- range $name := list "mqtts" "wss" -}}
{{- if and (get $v.listeners $name).enabled (not (get $served.listeners $name).enabled) -}}
{{- $tlsOff = " (TLS listeners are off while tls.enabled is false: set tls.enabled with a certificate, or tls.testCertificate to serve EMQX's test certificate)" -}}
{{- end -}}
{{- end -}}
{{- range $name, $_ := $v.service.nodePorts -}}
{{- if not (dig $name "enabled" false $served.listeners) -}}
{{- $errors = append $errors (printf "service.nodePorts.%s: listener %s is not served (listeners.%s.enabled)%s, so the Service has no such port" $name $name $name (ternary $tlsOff "" (has $name (list "mqtts" "wss")))) -}}
{{- end -}}
{{- end -}}
{{- $any := false -}}
{{- range $name, $l := $served.listeners -}}{{- if $l.enabled -}}{{- $any = true -}}{{- end -}}{{- end -}}
{{- if not $any -}}
{{- $errors = append $errors (printf "listeners: no listener would be served, so the brokers would accept no client%s; enable listeners.mqtt or listeners.ws" $tlsOff) -}}
{{- end -}}
{{- $ports := dict (toString (int $v.dashboard.containerPort)) "dashboard.containerPort" "4370" "the Erlang distribution" "5369" "gen_rpc" -}}
{{- range $name, $listener := $v.listeners -}}
{{- if $listener.enabled -}}
{{- $port := toString (int $listener.containerPort) -}}
{{- if hasKey $ports $port -}}
{{- $errors = append $errors (printf "listeners.%s.containerPort=%s is already taken by %s: choose another port" $name $port (get $ports $port)) -}}
{{- end -}}
{{- $_ := set $ports $port (printf "listeners.%s.containerPort" $name) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.discovery "k8s") (not $v.serviceAccount.create) (not $v.serviceAccount.name) -}}
{{- $errors = append $errors "discovery=k8s with serviceAccount.create=false and no serviceAccount.name would grant the Endpoints read to the namespace's default ServiceAccount, which every pod there uses: set serviceAccount.name, or serviceAccount.create=true" -}}
{{- end -}}
{{- if and $v.tls.enabled (not $v.listeners.mqtts.enabled) (not $v.listeners.wss.enabled) (not $v.tls.dashboard) -}}
{{- $errors = append $errors "tls.enabled: neither TLS listener (listeners.mqtts, listeners.wss) nor tls.dashboard is enabled, so nothing would use the certificate" -}}
{{- end -}}
{{- if and $v.tls.dashboard (not $v.tls.enabled) -}}
{{- $errors = append $errors "tls.dashboard needs tls.enabled and a certificate (tls.existingSecret or tls.certManager)" -}}
{{- end -}}
{{- if and $v.tls.verifyClients (not $v.tls.enabled) -}}
{{- $errors = append $errors "tls.verifyClients needs tls.enabled (and a ca.crt in the certificate's Secret)" -}}
{{- end -}}
{{- $mqttAuth := $v.mqttAuth | default dict -}}
{{- if and (not $v.auth.generate) $v.mqttAuth (not (kindIs "bool" $mqttAuth.enabled)) -}}
{{- $errors = append $errors "mqttAuth.enabled=auto needs the live release to tell a new install (on) from a release that allows anonymous clients (kept), and auth.generate=false (GitOps) renders without it: set mqttAuth.enabled=true (with mqttAuth.existingSecret) or false" -}}
{{- end -}}
{{- if and (not $v.auth.generate) (include "emqx-ee.mqttAuthOn" .) (not $mqttAuth.existingSecret) -}}
{{- $errors = append $errors "mqttAuth.enabled with auth.generate=false (GitOps): the chart generates no MQTT user; set mqttAuth.existingSecret (a users file, CSV user_id,password,is_superuser)" -}}
{{- end -}}
{{- if and $v.tests.enabled (not $v.apiKey.enabled) -}}
{{- $errors = append $errors "tests.enabled: the helm test asks the REST API for the cluster's members with the bootstrap API key: set apiKey.enabled=true, or tests.enabled=false" -}}
{{- end -}}
{{- $sm := $v.metrics.serviceMonitor -}}
{{- if and $sm.enabled $v.metrics.basicAuth (or $sm.force (.Capabilities.APIVersions.Has "monitoring.coreos.com/v1/ServiceMonitor")) -}}
{{- if not (include "emqx-ee.metricsAuthSecretRef" .) -}}
{{- $errors = append $errors "metrics.basicAuth: the ServiceMonitor needs credentials, and the chart generates none (apiKey.existingSecret or apiKey.enabled=false): set metrics.serviceMonitor.basicAuthSecret (a Secret with keys username and password), or metrics.basicAuth=false" -}}
{{- end -}}
{{- if and $sm.namespace (ne $sm.namespace (include "emqx-ee.namespace" .)) (not $sm.basicAuthSecret) -}}
{{- $errors = append $errors (printf "metrics.serviceMonitor.namespace=%s: Prometheus reads the basic-auth Secret from the ServiceMonitor's namespace, and the chart's API key Secret lives in %s: set metrics.serviceMonitor.basicAuthSecret to a Secret in %s, or leave the namespace empty" $sm.namespace (include "emqx-ee.namespace" .) $sm.namespace) -}}
{{- end -}}
{{- end -}}
{{- $np := $v.networkPolicy -}}
{{- if and $np.enabled $np.egress.enabled (eq $v.discovery "k8s") (not $np.egress.apiServer) -}}
{{- $errors = append $errors "networkPolicy.egress.apiServer: discovery=k8s reads Endpoints from the Kubernetes API server, which a restricted egress would block: give its addresses (for example [{ipBlock: {cidr: 10.0.0.1/32}}]) and networkPolicy.egress.apiServerPort" -}}
{{- end -}}
{{- if hasKey $v "autoscaling" -}}
{{- $errors = append $errors "autoscaling: only replicant nodes can autoscale (replicants.enabled, replicants.autoscaling). Core nodes hold the cluster's data on their claims, and EMQX keeps a removed core as a stopped member until cluster.autoclean, so cores are scaled on purpose with replicaCount." -}}
{{- end -}}
{{- $a := $v.replicants.autoscaling -}}
{{- if and $v.replicants.enabled $a.enabled (lt (int $a.maxReplicas) (int $a.minReplicas)) -}}
{{- $errors = append $errors (printf "replicants.autoscaling.maxReplicas=%d is below minReplicas=%d" (int $a.maxReplicas) (int $a.minReplicas)) -}}
{{- end -}}
{{- if and $v.replicants.enabled $a.enabled (not (or $a.targetCPUUtilizationPercentage $a.targetMemoryUtilizationPercentage)) -}}
{{- $errors = append $errors "replicants.autoscaling needs targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage" -}}
{{- end -}}
{{- $pdb := $v.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt (int $v.replicaCount) 1) (not (kindIs "string" $pdb.minAvailable)) (ge (int $pdb.minAvailable) (int $v.replicaCount)) -}}
{{- $errors = append $errors (printf "podDisruptionBudget.minAvailable=%d with replicaCount=%d would block every node drain: use a smaller number, or podDisruptionBudget.maxUnavailable" (int $pdb.minAvailable) (int $v.replicaCount)) -}}
{{- end -}}
{{- $host := include "emqx-ee.nodeHost" (dict "ctx" . "ordinal" $v.replicaCount) -}}
{{- if gt (len $host) 253 -}}
{{- $errors = append $errors (printf "node host %s is longer than 253 characters: shorten fullnameOverride, namespaceOverride or clusterDomain" $host) -}}
{{- end -}}
{{- $errors = concat $errors (include "emqx-ee.podExtensionProblems" . | fromJsonArray) -}}
{{- $errors = concat $errors (include "emqx-ee.drainProblems" . | fromJsonArray) -}}
{{- with include "emqx-ee.secretProblems" . | fromJsonArray -}}
{{- $errors = append $errors (printf "refused before anything was applied: Secrets that the values name are missing or lack keys, so pods could not start (or Prometheus could not scrape):\n  - %s\nCreate them or change the values, then run the command again (docs/operations.md \"Secrets the chart checks\")." (join "\n  - " .)) -}}
{{- end -}}
{{- if $errors -}}
{{- fail (printf "\n%s" (join "\n" $errors)) -}}
{{- end -}}
{{- end -}}

{{- /*
Checks of the pod extension points (extraEnv, extraVolumes, extraVolumeMounts, extraContainers,
extraInitContainers) against what the chart itself puts into the pod. The API server refuses duplicate
env names, volume names, mount paths and container names, but only when the StatefulSet is applied, after
Helm has applied the objects before it; Helm 3 may even drop a duplicate env entry without a word. So they
are refused here, at render, before anything changes.
*/ -}}

{{- /* Which value sets each env variable of the emqx container that the chart writes (JSON {NAME: value}). */ -}}
{{- define "emqx-ee.envOwners" -}}
{{- $owners := dict
  "POD_NAME" "the chart (it builds EMQX_HOST from it)"
  "EMQX_NAME" "emqxName"
  "EMQX_HOST" "the chart: the node's stable DNS name under the headless Service (emqxName, clusterDomain)"
  "EMQX_NODE__COOKIE" "auth.erlangCookie (existingSecret to bring your own)"
  "EMQX_DASHBOARD__DEFAULT_PASSWORD" "auth.dashboard (existingSecret to bring your own)" -}}
{{- if or .Values.license.key .Values.license.existingSecret -}}
{{- $_ := set $owners "EMQX_LICENSE__KEY" "license.key or license.existingSecret" -}}
{{- end -}}
{{- if .Values.replicants.enabled -}}
{{- $_ := set $owners "EMQX_NODE__ROLE" "replicants.enabled (replicant pods)" -}}
{{- end -}}
{{- $user := (include "emqx-ee.userConfig" . | fromJson).env -}}
{{- $derived := list
  (list "^EMQX_CLUSTER__" "discovery")
  (list "^EMQX_DASHBOARD__DEFAULT_USERNAME$" "auth.dashboard.username")
  (list "^EMQX_PLUGINS__" "the chart (plugins live on the data volume)")
  (list "^EMQX_PROMETHEUS__" "metrics.basicAuth")
  (list "^EMQX_API_KEY__" "apiKey")
  (list "__SSL_OPTIONS__" "tls.*")
  (list "^EMQX_DASHBOARD__LISTENERS__" "dashboard.containerPort and tls.dashboard")
  (list "^EMQX_LISTENERS__" "listeners.*")
  (list "^EMQX_SECURITY_PROFILE$" "securityProfile") -}}
{{- range $name, $_ := include "emqx-ee.settingsEnv" . | fromYaml -}}
{{- if hasKey $user $name -}}
{{- $_ := set $owners $name (printf "emqxConfig.%s" (get $user $name).path) -}}
{{- else -}}
{{- range $derived -}}
{{- if and (not (hasKey $owners $name)) (regexMatch (index . 0) $name) -}}
{{- $_ := set $owners $name (index . 1) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $owners -}}
{{- end -}}

{{- /* Problems with the pod extension points (JSON list of messages, empty when none). */ -}}
{{- define "emqx-ee.podExtensionProblems" -}}
{{- $v := .Values -}}
{{- $out := list -}}
{{- /* extraEnv: names the chart sets, and names given twice. */ -}}
{{- $owners := include "emqx-ee.envOwners" . | fromJson -}}
{{- $seen := dict -}}
{{- range $i, $e := $v.extraEnv -}}
{{- $name := toString ($e.name | default "") -}}
{{- if hasKey $owners $name -}}
{{- $out = append $out (printf "extraEnv[%d] %s: the chart sets this variable itself, from %s; set it there (emqxConfig for EMQX settings the chart does not own), not in extraEnv" $i $name (get $owners $name)) -}}
{{- else if hasKey $seen $name -}}
{{- $out = append $out (printf "extraEnv[%d] %s: extraEnv[%s] sets it already; give each variable once" $i $name (get $seen $name)) -}}
{{- end -}}
{{- $_ := set $seen $name (toString $i) -}}
{{- end -}}
{{- /* Volumes: the chart's own names, in use or reserved (emqx-data is the claim template's name). */ -}}
{{- $volumes := dict "emqx-data" "the chart (the node's data)" "emqx-log" "the chart (EMQX's log)" "tmp" "the chart (/tmp)" "home" "the chart (/home/emqx)" -}}
{{- if eq $v.discovery "k8s" -}}{{- $_ := set $volumes "kube-api-access" "discovery=k8s (the API token)" -}}{{- end -}}
{{- if $v.apiKey.enabled -}}{{- $_ := set $volumes "api-key" "apiKey.enabled (the bootstrap file)" -}}{{- end -}}
{{- if $v.tls.enabled -}}{{- $_ := set $volumes "tls" "tls.enabled (the certificate)" -}}{{- end -}}
{{- $extraVolumes := dict -}}
{{- range $i, $vol := $v.extraVolumes -}}
{{- $name := toString ($vol.name | default "") -}}
{{- if hasKey $volumes $name -}}
{{- $out = append $out (printf "extraVolumes[%d] %s: the chart has a volume of that name, from %s; choose another name" $i $name (get $volumes $name)) -}}
{{- else if hasKey $extraVolumes $name -}}
{{- $out = append $out (printf "extraVolumes[%d] %s: extraVolumes[%s] has that name already; volume names must be unique" $i $name (get $extraVolumes $name)) -}}
{{- end -}}
{{- $_ := set $extraVolumes $name (toString $i) -}}
{{- end -}}
{{- /* Mounts of the emqx container: a volume that exists, a path nobody else mounts. */ -}}
{{- $paths := dict "/opt/emqx/data" "the chart (emqx-data)" "/opt/emqx/log" "the chart (emqx-log)" "/tmp" "the chart (tmp)" "/home/emqx" "the chart (home)" -}}
{{- if $v.tls.enabled -}}{{- $_ := set $paths (include "emqx-ee.tlsDir" .) "tls.enabled (the certificate)" -}}{{- end -}}
{{- if $v.apiKey.enabled -}}{{- $_ := set $paths (include "emqx-ee.apiKeyDir" .) "apiKey.enabled (the bootstrap file)" -}}{{- end -}}
{{- if eq $v.discovery "k8s" -}}{{- $_ := set $paths "/var/run/secrets/kubernetes.io/serviceaccount" "discovery=k8s (the API token)" -}}{{- end -}}
{{- range $i, $m := $v.extraVolumeMounts -}}
{{- $name := toString ($m.name | default "") -}}
{{- $path := toString ($m.mountPath | default "") | trimSuffix "/" -}}
{{- if not (or (hasKey $volumes $name) (hasKey $extraVolumes $name)) -}}
{{- $out = append $out (printf "extraVolumeMounts[%d] %s: the pod has no volume of that name; add it to extraVolumes" $i $name) -}}
{{- end -}}
{{- if hasKey $paths $path -}}
{{- $out = append $out (printf "extraVolumeMounts[%d] %s: %s is mounted there already, by %s; choose another mountPath" $i $name $path (get $paths $path)) -}}
{{- end -}}
{{- $_ := set $paths $path (printf "extraVolumeMounts[%d]" $i) -}}
{{- end -}}
{{- /* Containers: names are unique across init containers and containers; emqx is the chart's. */ -}}
{{- $containers := dict "emqx" "the chart (EMQX itself)" -}}
{{- range $list := list "extraInitContainers" "extraContainers" -}}
{{- range $i, $c := get $v $list -}}
{{- $name := toString ($c.name | default "") -}}
{{- if hasKey $containers $name -}}
{{- $out = append $out (printf "%s[%d] %s: %s has a container of that name; container names must be unique in the pod" $list $i $name (get $containers $name)) -}}
{{- end -}}
{{- $_ := set $containers $name (printf "%s[%d]" $list $i) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}
