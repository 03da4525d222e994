{{- /*
Day-2 guards. On `helm install` and `helm upgrade` against a cluster, `lookup` shows the live objects
of the release, and these helpers refuse, before anything is applied, a change that would strand the
nodes' data, split the cluster or hit an immutable StatefulSet field. Under `helm template` (and GitOps
tools, which render without a cluster) `lookup` returns nothing and every guard stands aside.
*/ -}}

{{- /* Name of the identity record. It derives from the release name only, and lives in the release
namespace, because neither can change for a release: an upgrade always finds it. */ -}}
{{- define "emqx-ee.identityRecordName" -}}
{{- $base := ternary .Release.Name (printf "%s-%s" .Release.Name .Chart.Name) (contains .Chart.Name .Release.Name) -}}
{{- if gt (len $base) 54 -}}
{{- $base = printf "%s-%s" ($base | trunc 45 | trimSuffix "-") (sha256sum .Release.Name | trunc 8) -}}
{{- end -}}
{{- printf "%s-identity" $base -}}
{{- end -}}

{{- /* The nodes' identity as this render defines it (JSON): every input of a node name or of an
immutable StatefulSet key. */ -}}
{{- define "emqx-ee.identity" -}}
{{- toJson (dict
  "statefulSet" (include "emqx-ee.fullname" .)
  "namespace" (include "emqx-ee.namespace" .)
  "serviceName" (include "emqx-ee.headlessServiceName" .)
  "selector" (include "emqx-ee.selectorLabels" . | fromYaml | toJson)
  "emqxName" .Values.emqxName
  "clusterDomain" .Values.clusterDomain) -}}
{{- end -}}

{{- /* The identity record the last install or upgrade left (JSON, {} when there is none). */ -}}
{{- define "emqx-ee.recordedIdentity" -}}
{{- $record := lookup "v1" "ConfigMap" .Release.Namespace (include "emqx-ee.identityRecordName" .) -}}
{{- toJson (dig "data" dict ($record | default dict)) -}}
{{- end -}}

{{- /* The live StatefulSet of this release (JSON, {} when none). Found where the identity record
points; releases of chart 0.1.0 have no record, so it is also looked for among the StatefulSets
that Helm manages for this release in the target and the release namespaces. */ -}}
{{- define "emqx-ee.liveStatefulSet" -}}
{{- $record := include "emqx-ee.recordedIdentity" . | fromJson -}}
{{- $found := dict -}}
{{- if $record.statefulSet -}}
{{- $found = lookup "apps/v1" "StatefulSet" $record.namespace $record.statefulSet | default dict -}}
{{- end -}}
{{- if not $found -}}
{{- range $ns := list (include "emqx-ee.namespace" $) $.Release.Namespace | uniq -}}
{{- range (lookup "apps/v1" "StatefulSet" $ns "").items -}}
{{- $annotations := dig "metadata" "annotations" dict . -}}
{{- if and (eq (get $annotations "meta.helm.sh/release-name") $.Release.Name)
           (eq (get $annotations "meta.helm.sh/release-namespace") $.Release.Namespace)
           (hasPrefix (printf "%s-" $.Chart.Name) (dig "metadata" "labels" "helm.sh/chart" "" .)) -}}
{{- $found = . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{- /* Environment of the emqx container of a StatefulSet, as {name: entry}. */ -}}
{{- define "emqx-ee.containerEnv" -}}
{{- $env := dict -}}
{{- range (dig "spec" "template" "spec" "containers" list .) -}}
{{- if eq .name "emqx" -}}
{{- range .env -}}
{{- $_ := set $env .name . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}

{{- /* The identity of a live StatefulSet (JSON, same keys as emqx-ee.identity). The cluster domain is
what follows "<serviceName>.<namespace>.svc." in EMQX_HOST. */ -}}
{{- define "emqx-ee.liveIdentity" -}}
{{- $env := include "emqx-ee.containerEnv" . | fromJson -}}
{{- $hostPrefix := printf "$(POD_NAME).%s.%s.svc." .spec.serviceName .metadata.namespace -}}
{{- toJson (dict
  "statefulSet" .metadata.name
  "namespace" .metadata.namespace
  "serviceName" .spec.serviceName
  "selector" (toJson .spec.selector.matchLabels)
  "emqxName" (dig "EMQX_NAME" "value" "" $env)
  "clusterDomain" (trimPrefix $hostPrefix (dig "EMQX_HOST" "value" "" $env))) -}}
{{- end -}}

{{- /* A credential as stored in the chart's own Secret (base64), or "". */ -}}
{{- define "emqx-ee.storedCredential" -}}
{{- $secret := lookup "v1" "Secret" (include "emqx-ee.namespace" .ctx) (include "emqx-ee.secretName" .ctx) -}}
{{- dig "data" .key "" ($secret | default dict) -}}
{{- end -}}

{{- /* The credential the running nodes get through env variable `.env` (base64), or "" when there are
no running nodes or their Secret cannot be read. */ -}}
{{- define "emqx-ee.runningCredential" -}}
{{- $sts := include "emqx-ee.liveStatefulSet" .ctx | fromJson -}}
{{- if $sts -}}
{{- $ref := dig .env "valueFrom" "secretKeyRef" dict (include "emqx-ee.containerEnv" $sts | fromJson) -}}
{{- if $ref.name -}}
{{- $secret := lookup "v1" "Secret" $sts.metadata.namespace $ref.name | default dict -}}
{{- dig "data" $ref.key "" $secret -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* A generated credential (base64) that never changes while the release lives: the value stored in
the chart's Secret; else the value the running nodes already use from another Secret (switching from
an existingSecret back to a generated value keeps it); else a new random value. Under `helm template`
lookup sees nothing, so every render makes a new one: see auth.generate for GitOps. */ -}}
{{- define "emqx-ee.generatedCredential" -}}
{{- /* Made once per render and kept on the root context, which every template file of the chart shares
(Helm's engine), so that the Secret and the fingerprint of the same new credential agree. */ -}}
{{- $made := get .ctx "emqxEeGenerated" | default dict -}}
{{- $_ := set .ctx "emqxEeGenerated" $made -}}
{{- if not (hasKey $made .key) -}}
{{- $stored := include "emqx-ee.storedCredential" . -}}
{{- $running := include "emqx-ee.runningCredential" . -}}
{{- $_ := set $made .key ($stored | default $running | default (randAlphaNum 40 | b64enc)) -}}
{{- end -}}
{{- get $made .key -}}
{{- end -}}

{{- /* Whether the chart's Secret carries a generated credential: when it is the source, and whenever
it already holds one, so that a switch to an existingSecret and back finds the original value. */ -}}
{{- define "emqx-ee.keepsCredential" -}}
{{- if or (not .source.existingSecret) (include "emqx-ee.storedCredential" .) -}}true{{- end -}}
{{- end -}}

{{- /* A Kubernetes quantity as a plain number, so that 1Gi and 1024Mi compare equal (the API server
stores quantities in canonical form). */ -}}
{{- define "emqx-ee.quantity" -}}
{{- $number := regexFind "^[0-9.]+" . -}}
{{- $factors := dict "" 1.0 "k" 1e3 "M" 1e6 "G" 1e9 "T" 1e12 "P" 1e15 "E" 1e18
  "Ki" 1024.0 "Mi" 1048576.0 "Gi" 1073741824.0 "Ti" 1099511627776.0 "Pi" 1125899906842624.0 "Ei" 1152921504606846976.0 -}}
{{- mulf (float64 $number) (get $factors (trimPrefix $number .)) -}}
{{- end -}}

{{- /* All guards; called once, from the StatefulSet template. */ -}}
{{- define "emqx-ee.guards" -}}
{{- $sts := include "emqx-ee.liveStatefulSet" . | fromJson -}}
{{- $old := include "emqx-ee.recordedIdentity" . | fromJson -}}
{{- if $sts -}}
{{- $old = include "emqx-ee.liveIdentity" $sts | fromJson -}}
{{- end -}}
{{- include "emqx-ee.guardIdentity" (dict "ctx" . "old" $old) -}}
{{- include "emqx-ee.guardImmutable" (dict "ctx" . "sts" $sts) -}}
{{- include "emqx-ee.guardCookie" (dict "ctx" . "sts" $sts) -}}
{{- include "emqx-ee.guardCookieRules" . -}}
{{- end -}}

{{- /* Node names are <emqxName>@<pod>.<headless Service>.<namespace>.svc.<clusterDomain>, and EMQX
keeps each node's database (mnesia) in a directory named after the node: a new name starts empty. */ -}}
{{- define "emqx-ee.guardIdentity" -}}
{{- $ctx := .ctx -}}
{{- $old := .old -}}
{{- $new := include "emqx-ee.identity" $ctx | fromJson -}}
{{- if and $old.statefulSet (not $ctx.Values.upgradeGuards.allowIdentityChange) -}}
{{- $changes := list -}}
{{- if ne $old.namespace $new.namespace -}}
{{- $changes = append $changes (printf "namespaceOverride: the nodes would move from namespace %q to %q; Helm would create a new StatefulSet with new, empty claims there, and the data stays behind in %q" $old.namespace $new.namespace $old.namespace) -}}
{{- end -}}
{{- if ne $old.statefulSet $new.statefulSet -}}
{{- $changes = append $changes (printf "fullnameOverride or nameOverride: StatefulSet %q would be replaced by %q with new, empty claims (emqx-data-%s-N); the data in emqx-data-%s-N and the cluster's cookie stay behind" $old.statefulSet $new.statefulSet $new.statefulSet $old.statefulSet) -}}
{{- else if ne $old.selector $new.selector -}}
{{- $changes = append $changes (printf "nameOverride: the StatefulSet selector would change from %s to %s, and a selector is immutable" $old.selector $new.selector) -}}
{{- end -}}
{{- if and (eq $old.statefulSet $new.statefulSet) (ne $old.serviceName $new.serviceName) -}}
{{- $changes = append $changes (printf "fullnameOverride or nameOverride: the headless Service would change from %q to %q, and with it every node name (serviceName is immutable too)" $old.serviceName $new.serviceName) -}}
{{- end -}}
{{- if ne $old.emqxName $new.emqxName -}}
{{- $changes = append $changes (printf "emqxName: node names would change from %s@... to %s@...; every node would start with an empty database while its data sits unused on the same volume" $old.emqxName $new.emqxName) -}}
{{- end -}}
{{- if ne $old.clusterDomain $new.clusterDomain -}}
{{- $changes = append $changes (printf "clusterDomain: node names would change from ...svc.%s to ...svc.%s; every node would start with an empty database while its data sits unused on the same volume" $old.clusterDomain $new.clusterDomain) -}}
{{- end -}}
{{- if $changes -}}
{{- fail (printf "\nrefused before anything was applied: this would change the identity of the EMQX nodes of release %s (StatefulSet %s/%s).\n  - %s\nKeep the old values, or follow docs/operations.md \"Changing the node identity\". To do it anyway, add --set upgradeGuards.allowIdentityChange=true to this one command." $ctx.Release.Name $old.namespace $old.statefulSet (join "\n  - " $changes)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* podManagementPolicy and volumeClaimTemplates are immutable on a live StatefulSet: refuse here,
with the recipe, instead of letting the API server refuse half-way through the upgrade. */ -}}
{{- define "emqx-ee.guardImmutable" -}}
{{- $ctx := .ctx -}}
{{- $sts := .sts -}}
{{- $v := $ctx.Values -}}
{{- if and $sts (eq $sts.metadata.name (include "emqx-ee.fullname" $ctx)) (eq $sts.metadata.namespace (include "emqx-ee.namespace" $ctx)) -}}
{{- $changes := list -}}
{{- $selector := include "emqx-ee.selectorLabels" $ctx | fromYaml | toJson -}}
{{- if ne (toJson $sts.spec.selector.matchLabels) $selector -}}
{{- $changes = append $changes (printf "nameOverride: selector: live %s, values %s (the new StatefulSet will not adopt the running pods: delete them after the orphaning delete, so that new ones can take their names)" (toJson $sts.spec.selector.matchLabels) $selector) -}}
{{- end -}}
{{- if ne $sts.spec.serviceName (include "emqx-ee.headlessServiceName" $ctx) -}}
{{- $changes = append $changes (printf "fullnameOverride or nameOverride: serviceName: live %s, values %s" $sts.spec.serviceName (include "emqx-ee.headlessServiceName" $ctx)) -}}
{{- end -}}
{{- if ne $sts.spec.podManagementPolicy $v.podManagementPolicy -}}
{{- $changes = append $changes (printf "podManagementPolicy: live %s, values %s" $sts.spec.podManagementPolicy $v.podManagementPolicy) -}}
{{- end -}}
{{- $live := dict -}}
{{- range $sts.spec.volumeClaimTemplates -}}
{{- if eq .metadata.name "emqx-data" -}}
{{- $live = . -}}
{{- end -}}
{{- end -}}
{{- $p := $v.persistence -}}
{{- if ne (not (empty $live)) $p.enabled -}}
{{- $changes = append $changes (printf "persistence.enabled: live %t, values %t" (not (empty $live)) $p.enabled) -}}
{{- else if $live -}}
{{- if ne (include "emqx-ee.quantity" $live.spec.resources.requests.storage) (include "emqx-ee.quantity" $p.size) -}}
{{- $changes = append $changes (printf "persistence.size: live %s, values %s" $live.spec.resources.requests.storage $p.size) -}}
{{- end -}}
{{- $liveClass := dig "spec" "storageClassName" "<cluster default>" $live -}}
{{- $class := ternary "<cluster default>" (ternary "" $p.storageClass (eq $p.storageClass "-")) (eq $p.storageClass "") -}}
{{- if ne $liveClass $class -}}
{{- $changes = append $changes (printf "persistence.storageClass: live %q, values %q" $liveClass $class) -}}
{{- end -}}
{{- $labels := merge (include "emqx-ee.selectorLabels" $ctx | fromYaml) ($p.labels | default dict) -}}
{{- range $key, $pair := dict
  "accessModes" (list $live.spec.accessModes $p.accessModes)
  "labels" (list (dig "metadata" "labels" dict $live) $labels)
  "annotations" (list (dig "metadata" "annotations" dict $live) ($p.annotations | default dict))
  "selector" (list (dig "spec" "selector" dict $live) ($p.selector | default dict)) -}}
{{- if ne (index $pair 0 | toJson) (index $pair 1 | toJson) -}}
{{- $changes = append $changes (printf "persistence.%s: live %s, values %s" $key (index $pair 0 | toJson) (index $pair 1 | toJson)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $changes -}}
{{- fail (printf "\nrefused before anything was applied: these values feed immutable fields of StatefulSet %s/%s, which Kubernetes does not let an upgrade change:\n  - %s\nRecipe (docs/operations.md \"Changing immutable fields\"): to grow volumes, resize each claim first (kubectl -n %s patch pvc emqx-data-%s-N, where the StorageClass allows expansion); then kubectl -n %s delete statefulset %s --cascade=orphan (pods and claims stay) and run this upgrade again." $sts.metadata.namespace $sts.metadata.name (join "\n  - " $changes) $sts.metadata.namespace $sts.metadata.name $sts.metadata.namespace $sts.metadata.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Nodes with different Erlang cookies cannot talk: a rolling update to a new cookie would split the
cluster until the last node rolled. The cookie may change only when no node runs. */ -}}
{{- define "emqx-ee.guardCookie" -}}
{{- $ctx := .ctx -}}
{{- $sts := .sts -}}
{{- $source := $ctx.Values.auth.erlangCookie -}}
{{- $running := add (int (dig "spec" "replicas" 0 $sts)) (int (dig "status" "replicas" 0 $sts)) -}}
{{- if and $sts (gt $running 0) (not $ctx.Values.upgradeGuards.allowCookieChange) -}}
{{- $args := dict "ctx" $ctx "key" "erlang-cookie" "env" "EMQX_NODE__COOKIE" -}}
{{- $old := include "emqx-ee.runningCredential" $args -}}
{{- $new := "" -}}
{{- $where := printf "the chart's Secret %s" (include "emqx-ee.secretName" $ctx) -}}
{{- if $source.existingSecret -}}
{{- $where = printf "auth.erlangCookie.existingSecret %s (key %s)" $source.existingSecret $source.existingSecretKey -}}
{{- $new = dig "data" $source.existingSecretKey "" (lookup "v1" "Secret" $sts.metadata.namespace $source.existingSecret | default dict) -}}
{{- else -}}
{{- $new = include "emqx-ee.generatedCredential" $args -}}
{{- end -}}
{{- $ref := dig "EMQX_NODE__COOKIE" "valueFrom" "secretKeyRef" dict (include "emqx-ee.containerEnv" $sts | fromJson) -}}
{{- $hint := "See docs/operations.md \"Rotating the Erlang cookie\": stop every node (--set replicaCount=0), then change the cookie and scale back up; or add --set upgradeGuards.allowCookieChange=true to this one command." -}}
{{- if not $old -}}
{{- fail (printf "\nrefused before anything was applied: the running nodes of StatefulSet %s/%s take their Erlang cookie from Secret %s (key %s), which is gone or lacks the key, so the chart cannot check that the new cookie matches: restore that Secret. %s" $sts.metadata.namespace $sts.metadata.name $ref.name $ref.key $hint) -}}
{{- else if not $new -}}
{{- /* A missing Secret or key is refused earlier, by emqx-ee.secretProblems; what reaches here is a Secret
that this very upgrade creates through extraObjects, whose cookie cannot be compared yet. */ -}}
{{- fail (printf "\nrefused before anything was applied: %s does not exist or lacks the key. Create it with the cookie the running nodes use (Secret %s, key %s) before switching to it. %s" $where $ref.name $ref.key $hint) -}}
{{- else if ne $old $new -}}
{{- fail (printf "\nrefused before anything was applied: %s holds a different Erlang cookie than the %d running nodes of StatefulSet %s/%s use (Secret %s, key %s). Nodes with different cookies cannot talk, so the rolling update would split the cluster. Put the running cookie there. %s" $where (int (dig "spec" "replicas" 0 $sts)) $sts.metadata.namespace $sts.metadata.name $ref.name $ref.key $hint) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* EMQX 6.2.2 refuses at boot a cookie that is empty, longer than 255 characters or holds \ ' " or a
space (validate_cookie in apps/emqx_conf/src/emqx_conf_schema.erl). Check a cookie from an existingSecret
the chart can read before the pods roll into that; generated cookies are letters and digits. */ -}}
{{- define "emqx-ee.guardCookieRules" -}}
{{- $source := .Values.auth.erlangCookie -}}
{{- if $source.existingSecret -}}
{{- $secret := lookup "v1" "Secret" (include "emqx-ee.namespace" .) $source.existingSecret | default dict -}}
{{- $data := dig "data" dict $secret -}}
{{- if hasKey $data $source.existingSecretKey -}}
{{- $cookie := get $data $source.existingSecretKey | b64dec -}}
{{- $where := printf "auth.erlangCookie.existingSecret: the cookie in Secret %s (key %s)" $source.existingSecret $source.existingSecretKey -}}
{{- if not $cookie -}}
{{- fail (printf "\n%s is empty; EMQX refuses an empty cookie at boot." $where) -}}
{{- else if gt (len $cookie) 255 -}}
{{- fail (printf "\n%s is %d characters long; EMQX refuses cookies over 255 characters at boot." $where (len $cookie)) -}}
{{- else if regexMatch "[\\\\'\" ]" $cookie -}}
{{- fail (printf "\n%s holds a backslash, quote or space, which EMQX refuses at boot: use letters, digits and punctuation other than \\ ' \"." $where) -}}
{{- else if regexMatch "#|//|\\$\\{" $cookie -}}
{{- /* EMQX parses EMQX_NODE__COOKIE as HOCON, where these start a comment or a substitution; quoting
would make it safe, but the cookie validator refuses quotes, so no spelling of such a cookie works. */ -}}
{{- fail (printf "\n%s holds # or // or ${, which EMQX's HOCON reading of EMQX_NODE__COOKIE turns into a comment or a substitution (and quotes, which would protect them, are refused in cookies): use another cookie." $where) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
