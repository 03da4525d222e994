{{- /*
Rollback guard. `helm rollback` applies a stored revision without rendering, so the guards of _guards.tpl
never run for it. Helm runs a rollback's hooks from the TARGET revision before it changes anything, and a
failed hook stops it (helm pkg/action/rollback.go). So each revision carries a pre-rollback hook Job that
knows what that revision gives the nodes (emqx-ee.rollbackExpectation) and compares it with the live
StatefulSet and identity record (files/rollback-guard.py). Credentials are compared by fingerprint: the
StatefulSet carries the fingerprints of the cookie and API key it was rendered with, so the hook reads
no Secret.
*/ -}}

{{- /* Name of the rollback guard's hook objects: 63 characters at most (the Job's pods carry it in the
job-name label), with a hash of the full name when it has to be cut. */ -}}
{{- define "emqx-ee.rollbackGuardName" -}}
{{- $base := include "emqx-ee.fullname" . -}}
{{- if gt (len $base) 48 -}}
{{- $base = printf "%s-%s" ($base | trunc 39 | trimSuffix "-") (sha256sum $base | trunc 8) -}}
{{- end -}}
{{- printf "%s-rollback-guard" $base -}}
{{- end -}}

{{- /* Labels of the rollback guard's objects: the chart's labels under another name, so that no Service
or PodDisruptionBudget selects its Pod. */ -}}
{{- define "emqx-ee.rollbackGuardLabels" -}}
{{- $name := printf "%s-rollback-guard" (include "emqx-ee.name" .) | trunc 63 | trimSuffix "-" -}}
{{- include "emqx-ee.labels" . | fromYaml | merge (dict "app.kubernetes.io/name" $name "app.kubernetes.io/component" "rollback-guard") | toYaml -}}
{{- end -}}

{{- /* Hook annotations of the rollback guard's objects, called with dict "weight": created in weight order,
deleted when the guard passes; a failed guard stays (kubectl logs) until the next rollback replaces it. */ -}}
{{- define "emqx-ee.rollbackGuardHook" -}}
helm.sh/hook: pre-rollback
helm.sh/hook-weight: {{ .weight | quote }}
helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
{{- end -}}

{{- /* Salted SHA-256 of a credential (dict "ctx" "value", plain text), or "" for an unknown value. Salted with
the release, which never changes, so that the same credential in two releases shows two fingerprints. */ -}}
{{- define "emqx-ee.fingerprint" -}}
{{- if .value -}}
{{- printf "emqx-ee:%s/%s:%s" .ctx.Release.Namespace .ctx.Release.Name .value | sha256sum -}}
{{- end -}}
{{- end -}}

{{- /* Content of a key of a Secret in the release's workload namespace (plain text), "" when lookup
cannot see it (helm template, GitOps tools, or no such Secret yet). */ -}}
{{- define "emqx-ee.secretContent" -}}
{{- $secret := lookup "v1" "Secret" (include "emqx-ee.namespace" .ctx) .name | default dict -}}
{{- dig "data" .key "" $secret | b64dec -}}
{{- end -}}

{{- /* Fingerprint of the Erlang cookie this render gives the nodes, "" when it cannot be known. */ -}}
{{- define "emqx-ee.cookieFingerprint" -}}
{{- $source := .Values.auth.erlangCookie -}}
{{- $cookie := "" -}}
{{- if $source.existingSecret -}}
{{- $cookie = include "emqx-ee.secretContent" (dict "ctx" . "name" $source.existingSecret "key" $source.existingSecretKey) -}}
{{- else -}}
{{- $cookie = include "emqx-ee.generatedCredential" (dict "ctx" . "key" "erlang-cookie" "env" "EMQX_NODE__COOKIE") | b64dec -}}
{{- end -}}
{{- include "emqx-ee.fingerprint" (dict "ctx" . "value" $cookie) -}}
{{- end -}}

{{- /* Fingerprint of the API bootstrap file this render gives the nodes, "" when it cannot be known or
apiKey is off. */ -}}
{{- define "emqx-ee.apiKeyFingerprint" -}}
{{- $k := .Values.apiKey -}}
{{- if $k.enabled -}}
{{- $file := "" -}}
{{- if $k.existingSecret -}}
{{- $file = include "emqx-ee.secretContent" (dict "ctx" . "name" $k.existingSecret "key" $k.existingSecretKey) -}}
{{- else -}}
{{- $secret := include "emqx-ee.generatedCredential" (dict "ctx" . "key" "api-key-secret" "env" "") | b64dec -}}
{{- $file = printf "%s:%s:%s\n" $k.key $secret $k.role -}}
{{- end -}}
{{- include "emqx-ee.fingerprint" (dict "ctx" . "value" $file) -}}
{{- end -}}
{{- end -}}

{{- /* The fingerprint annotations of the StatefulSet (YAML lines, empty when none is known). On the
StatefulSet's own metadata, not the pod template, so that they never roll the nodes. */ -}}
{{- define "emqx-ee.fingerprintAnnotations" -}}
{{- with include "emqx-ee.cookieFingerprint" . }}
checksum/erlang-cookie: {{ . }}
{{- end }}
{{- with include "emqx-ee.apiKeyFingerprint" . }}
checksum/api-key-bootstrap: {{ . }}
{{- end }}
{{- end -}}

{{- /* What this revision gives the nodes, for the rollback guard (JSON, files/rollback-guard.py reads it):
identity (as emqx-ee.identity, the selector as a map), replica count, cookie and API key sources with
their fingerprints (and which Secret is the chart's own, the one a rollback rewrites), and the immutable
StatefulSet fields (as emqx-ee.guardImmutable compares them). */ -}}
{{- define "emqx-ee.rollbackExpectation" -}}
{{- $v := .Values -}}
{{- $p := $v.persistence -}}
{{- $identity := include "emqx-ee.identity" . | fromJson -}}
{{- $_ := set $identity "selector" (include "emqx-ee.selectorLabels" . | fromYaml) -}}
{{- $cookie := include "emqx-ee.cookieSecretRef" . | fromJson -}}
{{- $apiKey := include "emqx-ee.apiKeySecretRef" . | fromJson -}}
{{- $claim := dict -}}
{{- if $p.enabled -}}
{{- $claim = dict
  "size" $p.size
  "accessModes" $p.accessModes
  "labels" (merge (include "emqx-ee.selectorLabels" . | fromYaml) ($p.labels | default dict))
  "annotations" ($p.annotations | default dict)
  "selector" ($p.selector | default dict) -}}
{{- if $p.storageClass -}}
{{- $_ := set $claim "storageClassName" (ternary "" $p.storageClass (eq $p.storageClass "-")) -}}
{{- end -}}
{{- end -}}
{{- toPrettyJson (dict
  "release" .Release.Name
  "releaseNamespace" .Release.Namespace
  "revision" .Release.Revision
  "identityRecord" (include "emqx-ee.identityRecordName" .)
  "chartSecret" (include "emqx-ee.secretName" .)
  "identity" $identity
  "replicaCount" (int $v.replicaCount)
  "cookie" (dict "secret" $cookie.name "key" $cookie.key "fingerprint" (include "emqx-ee.cookieFingerprint" .))
  "apiKey" (dict "enabled" $v.apiKey.enabled "secret" $apiKey.name "key" $apiKey.key "fingerprint" (include "emqx-ee.apiKeyFingerprint" .))
  "immutable" (dict "podManagementPolicy" $v.podManagementPolicy "claimTemplate" (ternary $claim nil $p.enabled))) -}}
{{- end -}}
