{{- /*
Drain before stop: what the emqx container of every EMQX pod (cores and replicants alike: both serve
clients) gets so that a stopping node hands its clients over first and a restarted node serves again.
  - lifecycle.preStop runs files/drain.sh (EMQX's node evacuation, then the end of it), when
    gracefulShutdown.enabled;
  - args: a boot step that deletes the evacuation state EMQX saved in its data directory, always.
EMQX 6.2.2 saves a running evacuation to <data_dir>/.evacuation and restores it at boot
(apps/emqx_node_rebalance: emqx_node_rebalance_evacuation_persist.erl save/1 and read/1,
emqx_node_rebalance_evacuation.erl init/1 "restoring_evacuation_state"): the node would refuse every
client until someone stops the evacuation. drain.sh ends its evacuation before it returns, which deletes
the file; the boot step covers a drain that did not end (EMQX killed or crashed mid-drain, a liveness
restart) and stays on when the drain is turned off, since pods of the previous revision may still drain.
It runs on every start of the container, container restarts included (an init container would not: the
data volume outlives a container restart, also the replicants' emptyDir). The image's entrypoint
(deploy/docker/docker-entrypoint.sh) ends with `exec "$@"`, so the step runs after it and execs EMQX's own
command (the image's CMD, /opt/emqx/bin/emqx foreground).
The script is written into the pod template rather than mounted from a ConfigMap: each revision's hook
then stays with its pods (a pod held back by a partition, or restarted mid-roll, keeps the hook of its own
template), and no object has to outlive the release revision that made it.
*/ -}}

{{- /* Seconds the grace period keeps for EMQX's own stop after the drain (emqx_machine_terminator stops
the applications, then the VM). */ -}}
{{- define "emqx-ee.drainStopSeconds" -}}30{{- end -}}

{{- /* The args and lifecycle keys of the emqx container (YAML at container level). */ -}}
{{- define "emqx-ee.drainContainer" -}}
{{- $g := .Values.gracefulShutdown | default dict -}}
# Boot step: a node never starts with an evacuation left from its last stop (templates/_drain.tpl).
args:
  - sh
  - -c
  - '[ ! -e /opt/emqx/data/.evacuation ] || { echo "emqx-ee: clearing the node evacuation saved before the last stop, so that this node serves clients" >&2; rm -f /opt/emqx/data/.evacuation; }; exec "$@"'
  - emqx-boot
  - /opt/emqx/bin/emqx
  - foreground
{{- if $g.enabled }}
lifecycle:
  # Drain before stop (files/drain.sh): evacuate the node's clients to the other nodes, then stop.
  preStop:
    exec:
      command:
        - sh
        - -c
        {{- /* The script without its comment lines (they stay in files/drain.sh). */}}
        - {{ printf "%s\n" (regexReplaceAll "(?m)^[ \t]*#.*\n" (.Files.Get "files/drain.sh") "" | trim) | toJson }}
        - drain
        - --conn-evict-rate
        - {{ $g.connEvictRate | quote }}
        - --sess-evict-rate
        - {{ $g.sessEvictRate | quote }}
        - --wait-health-check
        - {{ $g.waitHealthCheck | quote }}
        - --wait-takeover
        - {{ $g.waitTakeover | quote }}
        - --wait-sessions
        - {{ ternary "yes" "no" $g.waitForSessions | quote }}
        - --timeout
        - {{ $g.timeoutSeconds | quote }}
        {{- with $g.redirectTo }}
        - --redirect-to
        - {{ . | quote }}
        {{- end }}
{{- end }}
{{- end -}}

{{- /* Problems with gracefulShutdown and batch rolls (JSON list of messages, empty when none). */ -}}
{{- define "emqx-ee.drainProblems" -}}
{{- $v := .Values -}}
{{- $g := $v.gracefulShutdown | default dict -}}
{{- $out := list -}}
{{- /* `helm upgrade --reuse-values` from an older chart version takes that version's values as they were,
without the defaults of the blocks this version adds: name them instead of failing on a missing key. */ -}}
{{- $missing := list -}}
{{- if not (hasKey $v "gracefulShutdown") -}}{{- $missing = append $missing "gracefulShutdown" -}}{{- end -}}
{{- if not (hasKey $v.replicants "updateStrategy") -}}{{- $missing = append $missing "replicants.updateStrategy" -}}{{- end -}}
{{- if not (hasKey $v "securityProfile") -}}{{- $missing = append $missing "securityProfile" -}}{{- end -}}
{{- if not (hasKey $v "mqttAuth") -}}{{- $missing = append $missing "mqttAuth" -}}{{- end -}}
{{- if $missing -}}
{{- $out = append $out (printf "the values lack %s, which this chart version adds: `helm upgrade --reuse-values` keeps the values of the chart version the release was installed with, without the new defaults. Upgrade with --reset-then-reuse-values (Helm 3.14+ and 4), or pass your values file again" (join ", " $missing)) -}}
{{- end -}}
{{- if $g.enabled -}}
{{- $stop := include "emqx-ee.drainStopSeconds" . | int -}}
{{- $need := add (int $g.timeoutSeconds) $stop -}}
{{- if lt (int $v.terminationGracePeriodSeconds) $need -}}
{{- $out = append $out (printf "terminationGracePeriodSeconds=%d cannot cover the drain before stop: gracefulShutdown.timeoutSeconds=%d + %d s for EMQX's own stop = %d s. Set terminationGracePeriodSeconds to at least %d, lower gracefulShutdown.timeoutSeconds, or set gracefulShutdown.enabled=false" (int $v.terminationGracePeriodSeconds) (int $g.timeoutSeconds) $stop $need $need) -}}
{{- end -}}
{{- if le (int $g.timeoutSeconds) (int $g.waitHealthCheck) -}}
{{- $out = append $out (printf "gracefulShutdown.timeoutSeconds=%d ends the drain before the first client leaves: EMQX evicts only after gracefulShutdown.waitHealthCheck=%d s. Make timeoutSeconds longer than waitHealthCheck" (int $g.timeoutSeconds) (int $g.waitHealthCheck)) -}}
{{- end -}}
{{- end -}}
{{- /* Batch rolls of the cores against their PodDisruptionBudget: the StatefulSet controller deletes the
pods of a roll itself, without the eviction API, so the budget does not hold a roll back. */ -}}
{{- $ru := $v.updateStrategy.rollingUpdate -}}
{{- if and (hasKey $ru "maxUnavailable") (not (kindIs "invalid" $ru.maxUnavailable)) -}}
{{- $replicas := int $v.replicaCount -}}
{{- if eq $v.updateStrategy.type "OnDelete" -}}
{{- $out = append $out "updateStrategy.rollingUpdate.maxUnavailable applies to updateStrategy.type=RollingUpdate only: remove it, or use RollingUpdate" -}}
{{- else -}}
{{- $batch := include "emqx-ee.scaledCount" (dict "value" $ru.maxUnavailable "total" $replicas "roundUp" false) | int | max 1 -}}
{{- $pdb := $v.podDisruptionBudget -}}
{{- if and $pdb.enabled (gt $replicas 1) -}}
{{- $allowed := 0 -}}
{{- $budget := "" -}}
{{- if $pdb.minAvailable -}}
{{- $allowed = sub $replicas (include "emqx-ee.scaledCount" (dict "value" $pdb.minAvailable "total" $replicas "roundUp" true) | int) -}}
{{- $budget = printf "podDisruptionBudget.minAvailable=%v keeps %d of %d up" $pdb.minAvailable (sub $replicas $allowed) $replicas -}}
{{- else -}}
{{- $allowed = include "emqx-ee.scaledCount" (dict "value" $pdb.maxUnavailable "total" $replicas "roundUp" true) | int -}}
{{- $budget = printf "podDisruptionBudget.maxUnavailable=%v lets %d of %d go" $pdb.maxUnavailable $allowed $replicas -}}
{{- end -}}
{{- if gt $batch $allowed -}}
{{- $out = append $out (printf "updateStrategy.rollingUpdate.maxUnavailable=%v would stop %d of %d cores at once in a roll, more than the PodDisruptionBudget allows (%s). A roll does not ask the budget (the StatefulSet controller deletes its pods itself), so the chart refuses it: lower updateStrategy.rollingUpdate.maxUnavailable to %d, or allow more in podDisruptionBudget" $ru.maxUnavailable $batch $replicas $budget (max $allowed 1)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Replicants: a surge-based roll; both zero is refused by the API server after Helm applied the
objects before the Deployment, so it is refused here first. */ -}}
{{- $r := $v.replicants -}}
{{- if $r.enabled -}}
{{- $rru := dig "updateStrategy" "rollingUpdate" (dict "maxSurge" 1 "maxUnavailable" 0) $r -}}
{{- if and (eq (toString $rru.maxSurge) "0") (eq (toString $rru.maxUnavailable) "0") -}}
{{- $out = append $out "replicants.updateStrategy.rollingUpdate: maxSurge and maxUnavailable are both 0, so no replicant could ever be replaced: set maxSurge (new replicants join before old ones leave) or maxUnavailable" -}}
{{- end -}}
{{- $least := ternary $r.autoscaling.minReplicas $r.replicaCount $r.autoscaling.enabled | int -}}
{{- if and $r.podDisruptionBudget.enabled (gt $least 1) (ne (toString $rru.maxUnavailable) "0") -}}
{{- $batch := include "emqx-ee.scaledCount" (dict "value" $rru.maxUnavailable "total" $least "roundUp" false) | int -}}
{{- $allowed := include "emqx-ee.scaledCount" (dict "value" $r.podDisruptionBudget.maxUnavailable "total" $least "roundUp" true) | int -}}
{{- if gt $batch $allowed -}}
{{- $out = append $out (printf "replicants.updateStrategy.rollingUpdate.maxUnavailable=%v would stop %d of %d replicants at once in a roll, more than replicants.podDisruptionBudget.maxUnavailable=%v allows (%d): lower it, or raise maxSurge instead (new replicants join before old ones leave)" $rru.maxUnavailable $batch $least $r.podDisruptionBudget.maxUnavailable $allowed) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* A count given as a number or a percentage of "total", as Kubernetes scales it
(intstr.GetScaledValueFromIntOrPercent: a percentage rounds up with "roundUp", down otherwise). A budget
rounds up (pkg/controller/disruption getExpectedPodCount); a StatefulSet's maxUnavailable rounds down, at
least 1 (pkg/controller/statefulset getStatefulSetMaxUnavailable), as does a Deployment's (deployment util
ResolveFenceposts). Called with dict "value" "total" "roundUp". */ -}}
{{- define "emqx-ee.scaledCount" -}}
{{- $s := toString .value -}}
{{- if hasSuffix "%" $s -}}
{{- $product := mul (int (trimSuffix "%" $s)) (int .total) -}}
{{- if .roundUp -}}{{- div (add $product 99) 100 -}}{{- else -}}{{- div $product 100 -}}{{- end -}}
{{- else -}}
{{- int .value -}}
{{- end -}}
{{- end -}}
