{{- /*
Static-analysis findings the chart keeps on purpose, with their reasons, as object annotations.
*/ -}}

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
{{- $out = append $out (dict "checkov" "CKV_K8S_35" "reason" "EMQX reads the Erlang cookie, the dashboard password and the license key from EMQX_* environment variables at boot; they come from Secrets through secretKeyRef (never as plain values in the pod template), and the API key is mounted as a file.") -}}
{{- if and (eq .for "replicant") $v.replicants.autoscaling.enabled -}}
{{- $out = append $out (dict "kubeScore" "deployment-targeted-by-hpa-does-not-have-replicas-configured" "reason" "The HPA owns the count: replicas renders the live count back within the HPA's bounds, because leaving it out would reset a running Deployment to one replicant on the upgrade that turns autoscaling on.") -}}
{{- end -}}
{{- else -}}
{{- $guard := eq .for "rollback-guard" -}}
{{- /* A release upgraded with --reuse-values from 0.3.0 has no rollbackGuard (validation names it). */ -}}
{{- $image := ternary ($v.rollbackGuard | default dict).image $v.tests.image $guard -}}
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
