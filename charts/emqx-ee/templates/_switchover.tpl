{{- /*
Switch-overs without a gap. On `helm install` and `helm upgrade` against a cluster, `lookup` shows the live
objects, and these helpers keep two switch-overs from leaving clients without a way in while pods start or
roll: the client Service moving to the replicants, and a listener or the dashboard moving to another port.
Under `helm template` (and GitOps tools, which render without a cluster) `lookup` returns nothing and both
follow the values at once (docs/operations.md says how to switch there).
*/ -}}

{{- /* Where the client Service sends MQTT clients, as JSON {role, held, ready, replicas}: role "replicants"
when replicants.enabled and serveClients, else "cores". The EndpointSlice controller marks only Ready pods
as ready endpoints, and proxies send to ready endpoints only (podToEndpoint in k8s.io/endpointslice), so
moving the Service to replicants that are still booting would leave it without endpoints until one is. On a
live release the Service moves to the replicants only once the live replicant Deployment has every replica
Ready, and stays with them while at least one is (a scale-up or a roll does not hand the clients back to the
cores); otherwise it selects the cores (held: true, with the count of Ready replicants and the count the
Deployment wants) and the next upgrade moves it. Moving to the cores needs no wait: cores run whenever
replicants do (a replicant joins through them). */ -}}
{{- define "emqx-ee.clientTarget" -}}
{{- $out := dict "role" "cores" "held" false -}}
{{- if and .Values.replicants.enabled .Values.replicants.serveClients -}}
{{- $_ := set $out "role" "replicants" -}}
{{- $ns := include "emqx-ee.namespace" . -}}
{{- $service := lookup "v1" "Service" $ns (include "emqx-ee.fullname" .) | default dict -}}
{{- if $service -}}
{{- $serving := eq (dig "spec" "selector" dict $service | toJson) (include "emqx-ee.replicantSelectorLabels" . | fromYaml | toJson) -}}
{{- $deployment := lookup "apps/v1" "Deployment" $ns (include "emqx-ee.replicantName" .) | default dict -}}
{{- $r := .Values.replicants -}}
{{- $asked := ternary $r.autoscaling.minReplicas $r.replicaCount $r.autoscaling.enabled -}}
{{- $wanted := int (dig "spec" "replicas" $asked $deployment) -}}
{{- $ready := int (dig "status" "readyReplicas" 0 $deployment) -}}
{{- if lt $ready (ternary 1 (max 1 $wanted) $serving) -}}
{{- $out = dict "role" "cores" "held" true "ready" $ready "replicas" $wanted -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* The ports that the live EMQX pods of this cluster (label emqx-ee/cluster) declare on their emqx
container, as JSON {port name: [numbers]}. A pod listens on the ports of its own revision until it restarts:
during a roll (or while a partition or OnDelete holds pods back) old pods still listen on a port the values
have moved away from. Empty without a cluster. */ -}}
{{- define "emqx-ee.livePodPorts" -}}
{{- $member := include "emqx-ee.fullname" . -}}
{{- $out := dict -}}
{{- range (lookup "v1" "Pod" (include "emqx-ee.namespace" .) "").items | default list -}}
{{- if eq (dig "metadata" "labels" "emqx-ee/cluster" "" .) $member -}}
{{- range .spec.containers -}}
{{- if eq .name "emqx" -}}
{{- range .ports | default list -}}
{{- if .name -}}
{{- $_ := set $out .name (append (get $out .name | default list) (int .containerPort) | uniq) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* Ports the NetworkPolicy admits, as JSON {clients: [numbers], dashboard: [numbers], kept: [{name,
port}]}: the enabled listeners' and the dashboard's containerPort, and also the ports live pods still declare
under those names (kept), so that a port change keeps the old port reachable until every pod has rolled; the
first upgrade after the roll drops it. A listener turned off is not kept: its clients leave at once. */ -}}
{{- define "emqx-ee.admittedPorts" -}}
{{- $live := include "emqx-ee.livePodPorts" . | fromJson -}}
{{- $clients := list -}}
{{- $kept := list -}}
{{- range $name, $listener := (include "emqx-ee.listeners" . | fromJson).listeners -}}
{{- if $listener.enabled -}}
{{- $clients = append $clients (int $listener.containerPort) -}}
{{- end -}}
{{- end -}}
{{- range $name, $listener := (include "emqx-ee.listeners" . | fromJson).listeners -}}
{{- if $listener.enabled -}}
{{- range get $live $name | default list -}}
{{- if not (has (int .) $clients) -}}
{{- $clients = append $clients (int .) -}}
{{- $kept = append $kept (dict "name" (printf "listeners.%s" $name) "port" (int .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $dashboard := list (int .Values.dashboard.containerPort) -}}
{{- range get $live "dashboard" | default list -}}
{{- if not (has (int .) $dashboard) -}}
{{- $dashboard = append $dashboard (int .) -}}
{{- $kept = append $kept (dict "name" "dashboard" "port" (int .)) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "clients" $clients "dashboard" $dashboard "kept" $kept) -}}
{{- end -}}
