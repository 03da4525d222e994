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
{{- toJson (concat $env (include "emqx-ee.configEnvEntries" $ctx | fromJsonArray)) -}}
{{- end -}}

{{- /* The EMQX settings of emqx-ee.configEnv as container env entries, by name (JSON list of {name, value}). */ -}}
{{- define "emqx-ee.configEnvEntries" -}}
{{- $config := include "emqx-ee.configEnv" . | fromYaml -}}
{{- $env := list -}}
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

{{- /* A string as EMQX reads it from a variable. EMQX parses the value as the HOCON text
`fake_key=<value>` (hocon_tconf:parse_env), and its scanner is hocon 0.45.9's (src/hocon_scanner.xrl, the
version EMQX 6.2.2 pins): an unquoted "#" or "//" starts a comment, "${...}" is a substitution, ":" or "="
a separator; bare true/false/null are a boolean and null, bare 007, +5, 1.50 or .5 numbers. So a string
stays bare only when HOCON reads that exact text back as a string (a word, or a duration, byte size or
percentage token); any other is quoted. Inside quotes hocon unescapes \" \\ \n \t \r \b \f and nothing
else: it has no \u escape (a \u003c stays those six characters), which is why the quoting is done here and
not by toJson (Helm's toJson writes <, > and & as \u003c, \u003e, \u0026). A line or paragraph separator
(U+2028, U+2029) ends a quoted string, and only a triple-quoted one, which hocon takes raw, can hold it
(emqx-ee.hoconStringProblem refuses the strings that fit neither form). */ -}}
{{- define "emqx-ee.hoconString" -}}
{{- if and (regexMatch `^([A-Za-z][A-Za-z0-9_.@%|-]*|[0-9]+(d|D|h|H|m|M|s|S|ms|MS|kb|KB|mb|MB|gb|GB|%))$` .) (not (has . (list "true" "false" "null" "include"))) -}}
{{- . -}}
{{- else if regexMatch "[\u2028\u2029]" . -}}
{{- printf "\"\"\"%s\"\"\"" . -}}
{{- else -}}
{{- printf "\"%s\"" (. | replace "\\" "\\\\" | replace "\"" "\\\"" | replace "\n" "\\n" | replace "\r" "\\r" | replace "\t" "\\t" | replace "\b" "\\b" | replace "\f" "\\f") -}}
{{- end -}}
{{- end -}}

{{- /* Why a string cannot reach EMQX through a variable as written (empty when it can): a NUL ends a C
string, and a line separator needs hocon's triple-quoted form, which cannot hold three quotes in a row,
end in a quote or start with the unindent marker "~" and a line break (hocon_scanner.xrl unindent/1). */ -}}
{{- define "emqx-ee.hoconStringProblem" -}}
{{- if contains "\x00" . -}}
it holds a NUL character, which no environment variable can carry
{{- else if and (regexMatch "[\u2028\u2029]" .) (or (contains "\"\"\"" .) (hasSuffix "\"" .) (regexMatch "^~\r?\n" .)) -}}
it holds a line separator (U+2028 or U+2029), which HOCON reads only inside a triple-quoted string, and this text cannot be one (it holds three quotes in a row, ends in a quote or starts with "~" and a line break)
{{- end -}}
{{- end -}}

{{- /* A list or map as one HOCON value (JSON syntax), every string quoted by the rules of
emqx-ee.hoconString (never toJson's \u escapes). Called with dict "value" "path" "problems"; strings
that cannot be written are added to problems.list. */ -}}
{{- define "emqx-ee.hoconJson" -}}
{{- $v := .value -}}
{{- if kindIs "map" $v -}}
{{- $items := list -}}
{{- range $k, $item := $v -}}
{{- $items = append $items (printf "%s:%s" (include "emqx-ee.hoconQuoted" (dict "value" $k "path" $.path "problems" $.problems)) (include "emqx-ee.hoconJson" (dict "value" $item "path" (printf "%s.%s" $.path $k) "problems" $.problems))) -}}
{{- end -}}
{{- printf "{%s}" (join "," $items) -}}
{{- else if kindIs "slice" $v -}}
{{- $items := list -}}
{{- range $i, $item := $v -}}
{{- $items = append $items (include "emqx-ee.hoconJson" (dict "value" $item "path" (printf "%s[%d]" $.path $i) "problems" $.problems)) -}}
{{- end -}}
{{- printf "[%s]" (join "," $items) -}}
{{- else if kindIs "string" $v -}}
{{- include "emqx-ee.hoconQuoted" . -}}
{{- else if kindIs "invalid" $v -}}
null
{{- else -}}
{{- include "emqx-ee.hoconNumber" $v -}}
{{- end -}}
{{- end -}}

{{- /* A string always quoted (inside lists and maps, where a bare word gains nothing). Called with dict
"value" "path" "problems". */ -}}
{{- define "emqx-ee.hoconQuoted" -}}
{{- with include "emqx-ee.hoconStringProblem" .value -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s: %s" $.path .)) -}}
{{- end -}}
{{- $text := include "emqx-ee.hoconString" .value -}}
{{- if hasPrefix "\"" $text -}}{{- $text -}}{{- else -}}{{- printf "\"%s\"" $text -}}{{- end -}}
{{- end -}}

{{- /* A number or boolean as HOCON reads it back: whole numbers as integers (YAML hands every number over
as a float), fractions in plain decimal notation (HOCON has no exponent without a fraction, and Go writes
1e-07 or 1.5e+08). */ -}}
{{- define "emqx-ee.hoconNumber" -}}
{{- if and (kindIs "float64" .) (eq . (float64 (int64 .))) -}}
{{- int64 . -}}
{{- else -}}
{{- $text := toString . -}}
{{- $m := regexFindAll `^(-?)([0-9])(?:\.([0-9]+))?e([+-][0-9]+)$` $text 1 -}}
{{- if $m -}}
{{- $sign := regexReplaceAll `^(-?).*$` $text "${1}" -}}
{{- $digits := regexReplaceAll `^-?([0-9])(?:\.([0-9]+))?e.*$` $text "${1}${2}" -}}
{{- $exp := regexReplaceAll `^.*e([+-])0*([0-9]+)$` $text "${1}${2}" | int -}}
{{- if lt $exp 0 -}}
{{- printf "%s0.%s%s" $sign (repeat (sub (mul -1 $exp) 1 | int) "0") $digits -}}
{{- else if lt $exp (sub (len $digits) 1 | int) -}}
{{- printf "%s%s.%s" $sign (substr 0 (add1 $exp | int) $digits) (substr (add1 $exp | int) (len $digits) $digits) -}}
{{- else -}}
{{- printf "%s%s%s" $sign $digits (repeat (sub $exp (sub (len $digits) 1) | int) "0") -}}
{{- end -}}
{{- else -}}
{{- $text -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Levenshtein distance between .a and .b (to suggest the nearest EMQX config roots and fields). */ -}}
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

{{- /* The candidates nearest to .word by edit distance, comma-separated. */ -}}
{{- define "emqx-ee.nearest" -}}
{{- $best := 99 -}}
{{- $near := list -}}
{{- range $candidate := .candidates | uniq | sortAlpha -}}
{{- $d := include "emqx-ee.editDistance" (dict "a" $.word "b" $candidate) | int -}}
{{- if lt $d $best -}}
{{- $best = $d -}}
{{- $near = list $candidate -}}
{{- else if eq $d $best -}}
{{- $near = append $near $candidate -}}
{{- end -}}
{{- end -}}
{{- join ", " $near -}}
{{- end -}}

{{- /* The types a list of compact-schema types stands for, unions unfolded (JSON list). */ -}}
{{- define "emqx-ee.schemaExpand" -}}
{{- $work := .types -}}
{{- $out := list -}}
{{- range until 4 -}}
{{- $next := list -}}
{{- range $t := $work -}}
{{- if and (kindIs "map" $t) (hasKey $t "u") -}}
{{- $next = concat $next $t.u -}}
{{- else -}}
{{- $out = append $out $t -}}
{{- end -}}
{{- end -}}
{{- $work = $next -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- /* One step down EMQX's schema, as hocon's check_env takes it (hocon_tconf.erl is_path/3): a struct
level takes its field names (and aliases), a map level any name that hocon's default key check takes
(^[A-Za-z0-9]+[A-Za-z0-9-_]*$, at most 255 bytes; lowercase only, since EMQX lowercases variable names),
an array level an index. Called with dict "s" (structs) "c" (validators) "types" "seg"; returns JSON {next,
deprecated, fields (the names a struct level has), badKey, leaf, checks (the validator codes of the field),
structs (the struct indexes of this level)}. */ -}}
{{- define "emqx-ee.schemaStep" -}}
{{- $r := dict "next" list "deprecated" false "fields" list "badKey" false "leaf" false "checks" list "structs" list -}}
{{- range $t := include "emqx-ee.schemaExpand" (dict "types" .types) | fromJsonArray -}}
{{- if kindIs "float64" $t -}}
{{- $_ := set $r "structs" (append $r.structs $t) -}}
{{- $struct := index $.s (int $t) -}}
{{- if hasKey $struct $.seg -}}
{{- $f := get $struct $.seg -}}
{{- $_ := set $r "checks" (concat $r.checks (get $.c (printf "%d.%s" (int $t) $.seg) | default list)) -}}
{{- if and (kindIs "map" $f) (hasKey $f "x") -}}
{{- $_ := set $r "deprecated" true -}}
{{- $_ := set $r "next" (append $r.next $f.x) -}}
{{- else -}}
{{- $_ := set $r "next" (append $r.next $f) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $r "fields" (concat $r.fields (keys $struct)) -}}
{{- end -}}
{{- else if and (kindIs "map" $t) (hasKey $t "m") -}}
{{- if and (regexMatch "^[a-z0-9]+[a-z0-9_-]*$" $.seg) (le (len $.seg) 255) -}}
{{- $_ := set $r "next" (append $r.next $t.m) -}}
{{- else -}}
{{- $_ := set $r "badKey" true -}}
{{- end -}}
{{- else if and (kindIs "map" $t) (hasKey $t "a") -}}
{{- if regexMatch "^[1-9][0-9]*$" $.seg -}}
{{- $_ := set $r "next" (append $r.next $t.a) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $r "leaf" true -}}
{{- end -}}
{{- end -}}
{{- toJson $r -}}
{{- end -}}

{{- /* What a compact-schema type takes, in words. */ -}}
{{- define "emqx-ee.schemaDescribe" -}}
{{- $words := list -}}
{{- range $t := include "emqx-ee.schemaExpand" (dict "types" .) | fromJsonArray -}}
{{- if kindIs "float64" $t -}}
{{- $words = append $words "fields (an object)" -}}
{{- else if kindIs "string" $t -}}
{{- $words = append $words (get (dict
  "b" "true or false" "i" "an integer" "n" "a number" "s" "text" "l" "text or a list" "*" "any value"
  "d" "a duration (30s, 1h30m, 500ms or milliseconds)" "B" "a byte size (1MB, 512KB or bytes)"
  "%" "a percentage (80%)" "p" "a port or address:port (1883, 0.0.0.0:1883, [::1]:1883)"
  "M" "an object" "r" "a rate (1000/s, 10MB/s, 100/10s or infinity)" "u" "a burst (100/s, 1MB/10s or 0)") $t) -}}
{{- else if hasKey $t "i" -}}
{{- $lo := index $t.i 0 -}}{{- $hi := index $t.i 1 -}}
{{- $words = append $words (printf "an integer %s..%s" (ternary "" (toString $lo) (kindIs "invalid" $lo)) (ternary "" (toString $hi) (kindIs "invalid" $hi))) -}}
{{- else if hasKey $t "e" -}}
{{- $words = append $words (printf "one of %s" (join ", " $t.e)) -}}
{{- else if hasKey $t "v" -}}
{{- $words = append $words $t.v -}}
{{- else if hasKey $t "a" -}}
{{- $words = append $words (ternary "a list (or one comma-separated string)" (ternary "a list (or one item)" "a list" (hasKey $t "w")) (hasKey $t "j")) -}}
{{- else if hasKey $t "m" -}}
{{- $words = append $words "named entries (an object)" -}}
{{- end -}}
{{- end -}}
{{- join " or " ($words | uniq) -}}
{{- end -}}

{{- /* Whether EMQX 6.2.2 takes a value of YAML kind .vk ("string", "int", "float", "bool", "list",
"map") with text .text for one compact-schema type .t: a value of the type's own kind passes typerefl's
check as it is, a string goes through the type's converter (emqx_schema.erl to_duration*, to_bytesize,
to_percent, to_ip_port; emqx_limiter_schema.erl to_rate, to_burst; typerefl's integer and boolean
parsers). "true" or "". */ -}}
{{- define "emqx-ee.schemaAccepts" -}}
{{- $t := .t -}}{{- $vk := .vk -}}{{- $text := .text -}}
{{- $int := `^[+-]?[0-9]+$` -}}
{{- $ok := false -}}
{{- if kindIs "float64" $t -}}
{{- $ok = eq $vk "map" -}}
{{- else if kindIs "map" $t -}}
{{- if hasKey $t "i" -}}
{{- if or (eq $vk "int") (and (eq $vk "string") (regexMatch $int $text)) -}}
{{- $n := regexReplaceAll `^\+?(-?)0*([0-9])` $text "${1}${2}" | int64 -}}
{{- $lo := index $t.i 0 -}}{{- $hi := index $t.i 1 -}}
{{- $ok = and (or (kindIs "invalid" $lo) (ge $n (int64 $lo))) (or (kindIs "invalid" $hi) (le $n (int64 $hi))) -}}
{{- end -}}
{{- else if hasKey $t "e" -}}
{{- $ok = and (has $vk (list "string" "bool" "int")) (has $text $t.e) -}}
{{- else if hasKey $t "v" -}}
{{- $ok = and (has $vk (list "string" "bool")) (eq $text $t.v) -}}
{{- else if hasKey $t "a" -}}
{{- /* hocon takes a list only (hocon_tconf.erl map_field(?ARRAY)), unless the field's converter makes one:
a comma-separated string (emqx_schema.erl converter_ciphers/2) or a single item (ensure_array/2). */ -}}
{{- $ok = or (eq $vk "list") (and (hasKey $t "j") (eq $vk "string")) (and (hasKey $t "w") (has $vk (list "string" "map"))) -}}
{{- else if hasKey $t "m" -}}
{{- $ok = eq $vk "map" -}}
{{- end -}}
{{- else if eq $t "b" -}}
{{- $ok = or (eq $vk "bool") (and (eq $vk "string") (has $text (list "true" "false"))) -}}
{{- else if eq $t "i" -}}
{{- $ok = or (eq $vk "int") (and (eq $vk "string") (regexMatch $int $text)) -}}
{{- else if eq $t "n" -}}
{{- $ok = or (has $vk (list "int" "float")) (and (eq $vk "string") (regexMatch `^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$` $text)) -}}
{{- else if eq $t "d" -}}
{{- $ok = or (and (eq $vk "int") (not (hasPrefix "-" $text))) (and (eq $vk "string") (or (regexMatch `^([0-9.]+(ms|MS|[fFwWdDhHmMsS]))+$` $text) (regexMatch $int $text))) -}}
{{- else if eq $t "B" -}}
{{- $ok = or (and (eq $vk "int") (not (hasPrefix "-" $text))) (and (eq $vk "string") (or (regexMatch `^\s*[0-9]+(b|B|kb|KB|mb|MB|gb|GB)$` $text) (regexMatch $int $text))) -}}
{{- else if eq $t "%" -}}
{{- if and (eq $vk "string") (regexMatch `^[0-9]+(\.[0-9]+)?%$` $text) -}}
{{- $ok = le (trimSuffix "%" $text | float64) 100.0 -}}
{{- else if eq $vk "float" -}}
{{- $ok = and (ge (float64 $text) 0.0) (le (float64 $text) 1.0) -}}
{{- end -}}
{{- else if eq $t "p" -}}
{{- $bare := $text | replace " " "" -}}
{{- $port := regexFind `[0-9]+$` $bare -}}
{{- $host := trimSuffix $port $bare -}}
{{- $ip := trimSuffix ":" $host | trimPrefix "[" | trimSuffix "]" -}}
{{- $hostOk := or (eq $host "") (and (hasSuffix ":" $host) (or (eq $ip "") (regexMatch `^([0-9]{1,3}\.){3}[0-9]{1,3}$` $ip) (and (contains ":" $ip) (regexMatch `^[0-9A-Fa-f:.]+$` $ip)))) -}}
{{- $ok = and (has $vk (list "int" "string")) (ne $port "") $hostOk (le (len $port) 5) (le ($port | int) 65535) -}}
{{- else if eq $t "M" -}}
{{- $ok = eq $vk "map" -}}
{{- else if has $t (list "r" "u") -}}
{{- $rate := lower (trim $text) -}}
{{- $interval := `(/([0-9]*)(ms|s|m|h|d))?$` -}}
{{- if eq $vk "string" -}}
{{- if eq $t "r" -}}
{{- $ok = or (eq $rate "infinity") (regexMatch (printf "^[0-9]*[1-9][0-9]*(kb|mb|gb|b)?%s" $interval) $rate) -}}
{{- else -}}
{{- $ok = regexMatch (printf "^[0-9]+(kb|mb|gb|b)?%s" $interval) $rate -}}
{{- end -}}
{{- $ok = and $ok (not (regexMatch `/0+(ms|s|m|h|d)$` $rate)) -}}
{{- end -}}
{{- else if eq $t "s" -}}
{{- $ok = eq $vk "string" -}}
{{- else if eq $t "l" -}}
{{- $ok = has $vk (list "string" "list") -}}
{{- else -}}
{{- $ok = true -}}
{{- end -}}
{{- if $ok -}}true{{- end -}}
{{- end -}}

{{- /* The union member an object of a list is checked against, chosen as EMQX chooses it: by its `type`
(authorization sources: emqx_authz_schema.erl select_union_member/2), then its `mechanism` and `backend`
(authenticators: emqx_authn_schema.erl union_member_selector/1), then the field the provider picks its
member by: `method` (emqx_authn_http_schema.erl, emqx_authn_scram_restapi_schema.erl,
emqx_authz_http_schema.erl), `mongo_type`, `redis_type` (emqx_auth*_mongodb_schema.erl, *_redis_schema.erl
refs/1) and `use_jwks` (emqx_authn_jwt_schema.erl select_union_member/1), each a fixed value of the member (a
singleton, or an enum of one value); each provider throws when its selector is missing or unknown. A selector
that no member of the remaining ones fixes is skipped. Between the two JWT members without JWKS, EMQX takes
the public-key one when the item sets public_key, else the HMAC one (select_ref/2). Called with dict "s"
"types" (unions unfolded) "item" "at"; returns JSON {types, problem}. */ -}}
{{- define "emqx-ee.unionSelect" -}}
{{- $members := list -}}
{{- range $t := .types -}}{{- if kindIs "float64" $t -}}{{- $members = append $members $t -}}{{- end -}}{{- end -}}
{{- $problem := "" -}}
{{- if gt (len $members) 1 -}}
{{- range $sel := list "type" "mechanism" "backend" "method" "mongo_type" "redis_type" "use_jwks" -}}
{{- if and (not $problem) (gt (len $members) 1) -}}
{{- $values := list -}}{{- $keep := list -}}
{{- range $m := $members -}}
{{- $f := get (index $.s (int $m)) $sel -}}
{{- $fixed := "" -}}
{{- if and (kindIs "map" $f) (hasKey $f "v") -}}{{- $fixed = $f.v -}}{{- end -}}
{{- if and (kindIs "map" $f) (hasKey $f "e") -}}{{- if eq (len $f.e) 1 -}}{{- $fixed = first $f.e -}}{{- end -}}{{- end -}}
{{- if $fixed -}}
{{- $values = append $values $fixed -}}
{{- if eq (toString (get $.item $sel)) $fixed -}}{{- $keep = append $keep $m -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- if $values -}}
{{- if not (hasKey $.item $sel) -}}
{{- $problem = printf "emqxConfig.%s has no %s: EMQX chooses what the item is by it (one of %s)" $.at $sel (join ", " ($values | uniq | sortAlpha)) -}}
{{- else if not $keep -}}
{{- $problem = printf "emqxConfig.%s.%s: EMQX %s takes one of %s here, not %q; EMQX would refuse it at boot, on every node of the roll" $.at $sel (include "emqx-ee.emqxSchemaVersion" $) (join ", " ($values | uniq | sortAlpha)) (toString (get $.item $sel)) -}}
{{- else -}}
{{- $members = $keep -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (not $problem) (gt (len $members) 1) (hasKey .item "use_jwks") -}}
{{- $keep := list -}}
{{- range $m := $members -}}
{{- if eq (hasKey (index $.s (int $m)) "public_key") (hasKey $.item "public_key") -}}{{- $keep = append $keep $m -}}{{- end -}}
{{- end -}}
{{- if $keep -}}{{- $members = $keep -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "types" (ternary $members .types (gt (len $members) 0)) "problem" $problem) -}}
{{- end -}}

{{- /* Walk a map of emqxConfig down EMQX's schema and write its leaves as EMQX_* variables: `a.b` keys
and nested {a: {b: ...}} maps alike. Called with dict "s" (the structs of the compact schema, or empty when
the checks are off) "c" (the validators) "types" (the schema types at .prefix; an empty list: unknown, written
as given) "prefix" "value" "out" "problems" "check" (whether schema refusals count) "pend" (the validators of
the fields above, [{code, at}]) "found" (values for those validators, and the structs reached); writes {path,
text} into out under the variable name, appends every refusal to problems.list, every value a validator sees to
found.list, and every struct the values reach to found.reached ({path: {t: struct indexes, has: field names
set, v: {field: value} for the fields set to a single value}}: emqx-ee.requiredChecks refuses one that lacks a
field EMQX needs). */ -}}
{{- define "emqx-ee.walkConfig" -}}
{{- $version := include "emqx-ee.emqxSchemaVersion" . -}}
{{- range $key, $value := .value -}}
{{- $path := ternary $key (printf "%s.%s" $.prefix $key) (eq $.prefix "") -}}
{{- $types := $.types -}}
{{- $where := $.prefix -}}
{{- $pend := $.pend -}}
{{- $problem := "" -}}
{{- if regexMatch "[A-Z]" $key -}}
{{- $problem = printf "emqxConfig: %q has capital letters; EMQX lowercases the variable names it reads, so it would set %q: write the key in lowercase" $path (lower $path) -}}
{{- else if or (contains "__" $key) (not (regexMatch `^[^.]+(\.[^.]+)*$` $key)) -}}
{{- $problem = printf "emqxConfig: %q is not an EMQX config path; use lowercase names separated by single dots (log.console.level), never __" $path -}}
{{- end -}}
{{- $segs := splitList "." $key -}}
{{- range $i, $seg := $segs -}}
{{- if not $problem -}}
{{- $at := ternary $seg (printf "%s.%s" $where $seg) (eq $where "") -}}
{{- if $types -}}
{{- $step := include "emqx-ee.schemaStep" (dict "s" $.s "c" $.c "types" $types "seg" $seg) | fromJson -}}
{{- if $step.next -}}
{{- if and $step.structs $where -}}
{{- $r := get $.found.reached $where | default (dict "t" $step.structs "has" list) -}}
{{- $_ := set $r "has" (append $r.has $seg) -}}
{{- if and (eq $i (sub (len $segs) 1)) (not (kindIs "map" $value)) (not (kindIs "slice" $value)) -}}
{{- $_ := set $r "v" (set ($r.v | default dict) $seg $value) -}}
{{- end -}}
{{- $_ := set $.found.reached $where $r -}}
{{- end -}}
{{- range $code := $step.checks -}}{{- $pend = append $pend (dict "code" $code "at" $at) -}}{{- end -}}
{{- if and $step.deprecated $.check -}}
{{- $problem = printf "emqxConfig.%s: %s is deprecated in EMQX %s, which deletes it without checking it, so the setting would do nothing: remove it (EMQX's documentation names what replaces it)" $path $at $version -}}
{{- end -}}
{{- $types = $step.next -}}
{{- else if not $.check -}}
{{- $types = list -}}
{{- else if eq $where "" -}}
{{- $problem = printf "emqxConfig.%s: EMQX has no config root %q and would ignore the setting without a word; nearest roots: %s (roots of EMQX %s's schema)" $path $seg (include "emqx-ee.nearest" (dict "word" $seg "candidates" $step.fields)) $version -}}
{{- else if $step.badKey -}}
{{- $problem = printf "emqxConfig.%s: %q is not a name EMQX takes under %s: letters, digits, - and _, starting with a letter or digit, at most 255 characters" $path $seg $where -}}
{{- else if $step.fields -}}
{{- $problem = printf "emqxConfig.%s: EMQX %s has no field %q under %s, so it would drop the setting (warning unknown_env_vars); nearest fields: %s" $path $version $seg $where (include "emqx-ee.nearest" (dict "word" $seg "candidates" $step.fields)) -}}
{{- else -}}
{{- $problem = printf "emqxConfig.%s: %s takes a single value (%s), so it has no field %q" $path $where (include "emqx-ee.schemaDescribe" $types) $seg -}}
{{- end -}}
{{- end -}}
{{- $where = $at -}}
{{- end -}}
{{- end -}}
{{- if $problem -}}
{{- $_ := set $.problems "list" (append $.problems.list $problem) -}}
{{- else -}}
{{- $expanded := include "emqx-ee.schemaExpand" (dict "types" $types) | fromJsonArray -}}
{{- $container := not $types -}}
{{- $object := false -}}
{{- range $t := $expanded -}}
{{- if or (kindIs "float64" $t) (and (kindIs "map" $t) (hasKey $t "m")) -}}{{- $container = true -}}{{- end -}}
{{- if eq (toString $t) "M" -}}{{- $object = true -}}{{- end -}}
{{- end -}}
{{- if and (kindIs "map" $value) $container (not $object) -}}
{{- include "emqx-ee.markReached" (dict "found" $.found "path" $path "types" $expanded) -}}
{{- include "emqx-ee.walkConfig" (dict "s" $.s "c" $.c "types" $types "prefix" $path "value" $value "out" $.out "problems" $.problems "check" $.check "pend" $pend "found" $.found) -}}
{{- else -}}
{{- include "emqx-ee.configLeaf" (dict "s" $.s "c" $.c "types" $expanded "path" $path "value" $value "out" $.out "problems" $.problems "check" $.check "pend" $pend "found" $.found) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* Note in found.reached that an object of emqxConfig gives the struct at .path a value (even an empty one:
hocon then checks its fields, hocon_tconf.erl do_map/4). Called with dict "found" "path" "types" (unions
unfolded). */ -}}
{{- define "emqx-ee.markReached" -}}
{{- $structs := list -}}
{{- range $t := .types -}}{{- if kindIs "float64" $t -}}{{- $structs = append $structs $t -}}{{- end -}}{{- end -}}
{{- if and $structs (not (hasKey .found.reached .path)) -}}
{{- $_ := set .found.reached .path (dict "t" $structs "has" list) -}}
{{- end -}}
{{- end -}}

{{- /* One emqxConfig value: checked against the schema types at its path (.types, unions unfolded),
then written as the text of its variable, and handed to the validators above it (.pend). Called with dict "s"
"c" "types" "path" "value" "out" "problems" "check" "pend" "found". */ -}}
{{- define "emqx-ee.configLeaf" -}}
{{- $v := .value -}}
{{- $env := printf "EMQX_%s" (.path | replace "." "__" | upper) -}}
{{- $vk := "" -}}{{- $text := "" -}}{{- $shown := "" -}}
{{- if kindIs "string" $v -}}
{{- $vk = "string" -}}
{{- $text = include "emqx-ee.hoconString" $v -}}
{{- $shown = printf "%q" (trunc 60 $v) -}}
{{- with include "emqx-ee.hoconStringProblem" $v -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s: %s" $.path .)) -}}
{{- end -}}
{{- else if kindIs "bool" $v -}}
{{- $vk = "bool" -}}{{- $text = toString $v -}}{{- $shown = $text -}}
{{- else if kindIs "slice" $v -}}
{{- $vk = "list" -}}
{{- $text = include "emqx-ee.hoconJson" (dict "value" $v "path" .path "problems" .problems) -}}
{{- $shown = "a list" -}}
{{- else if kindIs "map" $v -}}
{{- $vk = "map" -}}
{{- $text = include "emqx-ee.hoconJson" (dict "value" $v "path" .path "problems" .problems) -}}
{{- $shown = "an object" -}}
{{- else if kindIs "invalid" $v -}}
{{- $vk = "null" -}}
{{- else -}}
{{- $text = include "emqx-ee.hoconNumber" $v -}}
{{- $vk = ternary "int" "float" (regexMatch `^-?[0-9]+$` $text) -}}
{{- $shown = $text -}}
{{- end -}}
{{- if eq $vk "null" -}}
{{- $_ := set .problems "list" (append .problems.list (printf "emqxConfig.%s is null: EMQX would read HOCON null and keep its default; remove the key, or give a value" .path)) -}}
{{- else -}}
{{- if and .check .types -}}
{{- $ok := false -}}
{{- range $t := .types -}}
{{- if include "emqx-ee.schemaAccepts" (dict "t" $t "vk" $vk "text" (ternary (toString $v) $text (eq $vk "string"))) -}}{{- $ok = true -}}{{- end -}}
{{- end -}}
{{- if not $ok -}}
{{- $hint := "" -}}
{{- /* The same text of another YAML kind would pass: say how to write it. */ -}}
{{- $other := "" -}}
{{- if eq $vk "string" -}}
{{- $other = ternary "bool" (ternary "int" (ternary "float" "" (regexMatch `^-?([0-9]+\.[0-9]*|\.[0-9]+)$` $v)) (regexMatch `^-?[0-9]+$` $v)) (has $v (list "true" "false")) -}}
{{- else if has $vk (list "int" "float" "bool") -}}
{{- $other = "string" -}}
{{- end -}}
{{- range $t := ternary .types list (ne $other "") -}}
{{- if include "emqx-ee.schemaAccepts" (dict "t" $t "vk" $other "text" (toString $v)) -}}
{{- $hint = ternary " (quote it in the values to pass it as text)" " (it is a string in the values; write it without quotes)" (eq $other "string") -}}
{{- end -}}
{{- end -}}
{{- $_ := set .problems "list" (append .problems.list (printf "emqxConfig.%s: EMQX %s takes %s here, not %s%s; EMQX would refuse it at boot, on every node of the roll" .path (include "emqx-ee.emqxSchemaVersion" .) (include "emqx-ee.schemaDescribe" .types) $shown $hint)) -}}
{{- else -}}
{{- range $p := $.pend -}}
{{- $_ := set $.found "list" (append $.found.list (dict "code" $p.code "at" $p.at "path" $.path "value" $v)) -}}
{{- end -}}
{{- /* The items of a list (authorization.sources, cluster.links): each checked against the item type,
an object's keys and values included; a string split at commas, or a single item, where the field's
converter makes a list of it. */ -}}
{{- $items := list -}}{{- $join := false -}}{{- $wrap := false -}}
{{- range $t := .types -}}
{{- if and (kindIs "map" $t) (hasKey $t "a") -}}
{{- $items = append $items $t.a -}}
{{- if hasKey $t "j" -}}{{- $join = true -}}{{- end -}}
{{- if hasKey $t "w" -}}{{- $wrap = true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $list := list -}}
{{- if eq $vk "list" -}}
{{- $list = $v -}}
{{- else if and $join (eq $vk "string") -}}
{{- range splitList "," $v -}}{{- if trim . -}}{{- $list = append $list (trim .) -}}{{- end -}}{{- end -}}
{{- else if and $wrap (has $vk (list "string" "map")) -}}
{{- $list = list $v -}}
{{- end -}}
{{- if and $items $list -}}
{{- $expanded := include "emqx-ee.schemaExpand" (dict "types" $items) | fromJsonArray -}}
{{- range $i, $item := $list -}}
{{- $at := printf "%s[%d]" $.path $i -}}
{{- if kindIs "map" $item -}}
{{- $sel := include "emqx-ee.unionSelect" (dict "s" $.s "types" $expanded "item" $item "at" $at) | fromJson -}}
{{- if $sel.problem -}}
{{- $_ := set $.problems "list" (append $.problems.list $sel.problem) -}}
{{- else -}}
{{- include "emqx-ee.markReached" (dict "found" $.found "path" $at "types" $sel.types) -}}
{{- include "emqx-ee.walkConfig" (dict "s" $.s "c" $.c "types" $sel.types "prefix" $at "value" $item "out" dict "problems" $.problems "check" $.check "pend" list "found" $.found) -}}
{{- end -}}
{{- else -}}
{{- include "emqx-ee.configLeaf" (dict "s" $.s "c" $.c "types" $expanded "path" $at "value" $item "out" dict "problems" $.problems "check" $.check "pend" list "found" $.found) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if gt (add (len $env) (len $text) 2) 131072 -}}
{{- $_ := set .problems "list" (append .problems.list (printf "emqxConfig.%s: the variable %s would be %d bytes, over the 131072 bytes Linux lets one environment entry have (MAX_ARG_STRLEN)" .path $env (add (len $env) (len $text) 2))) -}}
{{- end -}}
{{- if hasKey .out $env -}}
{{- $_ := set .problems "list" (append .problems.list (printf "emqxConfig.%s is given twice (as a dotted key and inside a map): give it once" .path)) -}}
{{- end -}}
{{- $_ := set .out $env (dict "path" .path "text" $text) -}}
{{- end -}}
{{- end -}}

{{- /* emqxConfig as EMQX_* variables, as JSON {"env": {NAME: {path, text}}, "problems": [message, ...],
"unchecked": {path: what EMQX parses there}}: every key EMQX could not read, or that the chart owns, is a problem
(emqx-ee.validate reports them all); a value at a validator the chart cannot run is unchecked (NOTES.txt names it).
Computed once per render and kept on the root context, since the pod templates, their checksums and the
validation all read it; the schema is parsed only when emqxConfig is set. */ -}}
{{- define "emqx-ee.userConfig" -}}
{{- if not (hasKey . "emqxEeUserConfig") -}}
{{- $_ := set . "emqxEeUserConfig" (include "emqx-ee.userConfigUncached" .) -}}
{{- end -}}
{{- get . "emqxEeUserConfig" -}}
{{- end -}}

{{- /* A config path that ends in the name of a secret field: the endings of EMQX 6.2.2's secret fields
(password, client_secret, access_key_secret, token, initial_token, api_key, secret_key, secret_access_key,
aws_secret_access_key, private_key, sp_private_key). */ -}}
{{- define "emqx-ee.secretFieldPattern" -}}
(?i)(password|passwd|secret|token|api_key|secret_key|secret_access_key|private_key)$
{{- end -}}

{{- /* emqx-ee.userConfig, computed (root context). */ -}}
{{- define "emqx-ee.userConfigUncached" -}}
{{- $user := dict -}}
{{- $problems := dict "list" list -}}
{{- if .Values.emqxConfig -}}
{{- $check := not (dig "allowUnknown" false (.Values.emqxConfigCheck | default dict)) -}}
{{- $schema := include "emqx-ee.emqxSchema" . | fromJson -}}
{{- $found := dict "list" list "reached" dict -}}
{{- include "emqx-ee.walkConfig" (dict "s" $schema.s "c" $schema.c "types" (list (float64 0)) "prefix" "" "value" .Values.emqxConfig "out" $user "problems" $problems "check" $check "pend" list "found" $found) -}}
{{- /* EMQX's validators, each given every value set at or below its field. */ -}}
{{- $known := dict -}}
{{- if .Values.tls.enabled -}}
{{- range $type := list "ssl" "wss" -}}
{{- $_ := set $known (printf "listeners.%s.default.ssl_options.certfile" $type) "chart" -}}
{{- if $.Values.tls.verifyClients -}}{{- $_ := set $known (printf "listeners.%s.default.ssl_options.verify" $type) "verify_peer" -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- /* Settings given through extraEnv (secrets, from a Secret) count as set, so a validator that needs a
password or a token does not refuse what extraEnv supplies. */ -}}
{{- range $e := .Values.extraEnv | default list -}}
{{- if hasPrefix "EMQX_" (toString $e.name) -}}
{{- $_ := set $known (trimPrefix "EMQX_" $e.name | lower | replace "__" ".") "extraEnv" -}}
{{- end -}}
{{- end -}}
{{- /* What EMQX's config holds besides emqxConfig, so that a field there counts as given to a struct that
emqxConfig reaches (emqx-ee.requiredChecks): EMQX 6.2.2's own config files (apps/emqx_conf/etc/emqx_conf.conf,
which scripts/merge-config.escript and mix.exs make into etc/emqx.conf with the other apps' etc/emqx*.conf,
comments only; apps/emqx_conf/etc/base.hocon), what emqx-ee.emqxEnv writes from Secrets (the cookie, the
dashboard password, the license key), the settings of emqx-ee.chartSettingsEnv and the EMQX_* names of
extraEnv (an index N of a list is item [N-1] of the walk, since hocon counts from 1). A struct that extraEnv
gives whole, or one above it, is not checked: its value comes from a Secret the render cannot read. */ -}}
{{- $given := list "node.name" "node.cookie" "node.data_dir" "cluster.name" "cluster.discovery_strategy" "log.file" "log.console" "dashboard.listeners.http.bind" "dashboard.listeners.https.ssl_options.certfile" "dashboard.listeners.https.ssl_options.keyfile" "dashboard.default_password" "license.key" -}}
{{- range $name, $_ := include "emqx-ee.chartSettingsEnv" . | fromJson -}}
{{- $given = append $given (trimPrefix "emqx_" (lower $name) | replace "__" ".") -}}
{{- end -}}
{{- $opaque := list -}}
{{- range $e := .Values.extraEnv | default list -}}
{{- if hasPrefix "EMQX_" (toString $e.name) -}}
{{- $at := "" -}}
{{- range $seg := splitList "__" (trimPrefix "EMQX_" $e.name | lower) -}}
{{- $at = ternary (printf "%s[%d]" $at (sub (atoi $seg) 1)) (ternary $seg (printf "%s.%s" $at $seg) (eq $at "")) (and (regexMatch "^[1-9][0-9]*$" $seg) (ne $at "")) -}}
{{- end -}}
{{- $opaque = append $opaque $at -}}
{{- end -}}
{{- end -}}
{{- $given = concat $given $opaque -}}
{{- /* The checks are in files/emqx-checks.tpl, parsed here only (tpl), so a render without emqxConfig
never parses them. */ -}}
{{- $args := dict "found" $found.list "known" $known "user" $user "check" $check "reached" $found.reached "given" $given "opaque" $opaque "q" ($schema.q | default dict) "s" ($schema.s | default list) "Template" .Template -}}
{{- $ran := tpl (.Files.Get "files/emqx-checks.tpl") $args | fromJson -}}
{{- range $ran.problems -}}
{{- $_ := set $problems "list" (append $problems.list .) -}}
{{- end -}}
{{- $_ := set $problems "unchecked" ($ran.unchecked | default dict) -}}
{{- /* A new named listener keeps EMQX's default bind, the port of the default listener of its type
(emqx_schema.erl mqtt_listener default_bind), so both fail to start: a misspelt "default" does that. */ -}}
{{- $listeners := dict -}}
{{- range $env, $entry := $user -}}
{{- $m := regexFindAll `^listeners\.(tcp|ssl|ws|wss|quic)\.([^.]+)\.(.+)$` $entry.path 1 -}}
{{- if $m -}}
{{- $name := regexReplaceAll `^listeners\.([^.]+\.[^.]+)\..*$` $entry.path "${1}" -}}
{{- if not (hasSuffix ".default" $name) -}}
{{- $field := regexReplaceAll `^listeners\.[^.]+\.[^.]+\.` $entry.path "" -}}
{{- $seen := get $listeners $name | default dict -}}
{{- $_ := set $seen $field $entry.text -}}
{{- $_ := set $listeners $name $seen -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- range $name, $fields := $listeners -}}
{{- if and $check (not (hasKey $fields "bind")) (ne (get $fields "enable" | default (get $fields "enabled") | default "") "false") -}}
{{- $type := first (splitList "." $name) -}}
{{- $problems := set $problems "list" (append $problems.list (printf "emqxConfig.listeners.%s: a new %s listener %q with EMQX's default bind, the port of listeners.%s.default, so the two would not both start: set listeners.%s.bind to a free port (or, if you meant the default listener, write listeners.%s.default)" $name $type (last (splitList "." $name)) $type $name $type)) -}}
{{- end -}}
{{- end -}}
{{- if and $check $problems.list -}}
{{- $tag := toString (.Values.image.tag | default "") -}}
{{- $version := include "emqx-ee.emqxSchemaVersion" . -}}
{{- if and $tag (not .Values.image.digest) (not (regexMatch (printf "^v?%s([^0-9.]|$)" (regexQuoteMeta $version)) $tag)) -}}
{{- $_ := set $problems "list" (append $problems.list (printf "emqxConfig: these checks are EMQX %s's (the chart's appVersion), and image.tag is %s: if that release has these settings or values, let them through for this one command with --set emqxConfigCheck.allowUnknown=true" $version $tag)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
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
{{- if hasKey $owned $env -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: %s" $entry.path (get $owned $env)) -}}
{{- else if regexMatch "^cluster\\.(discovery_strategy|dns\\.|k8s\\.|static\\.)" $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: the chart derives cluster discovery from discovery (dns, k8s or static) and the Service names" $entry.path) -}}
{{- else if regexMatch "^(listeners\\.(tcp|ssl|ws|wss)\\.default\\.(bind|enable|enabled|proxy_protocol)|dashboard\\.listeners\\.https?\\.bind)$" $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s cannot be set here: the chart derives it, with the container ports and Services, from listeners.* and dashboard.containerPort" $entry.path) -}}
{{- else if regexMatch (include "emqx-ee.secretFieldPattern" .) $entry.path -}}
{{- $list = append $list (printf "emqxConfig.%s looks like a secret and would land in the pod template: pass it as extraEnv %s with valueFrom.secretKeyRef" $entry.path $env) -}}
{{- end -}}
{{- end -}}
{{- toJson (dict "env" $user "problems" $list "unchecked" ($problems.unchecked | default dict)) -}}
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
{{- $env := include "emqx-ee.chartSettingsEnv" . | fromJson -}}
{{- range $name, $entry := (include "emqx-ee.userConfig" . | fromJson).env -}}
{{- $_ := set $env $name $entry.text -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{- /* The EMQX settings the chart itself writes, before emqxConfig ({NAME: text}, JSON). */ -}}
{{- define "emqx-ee.chartSettingsEnv" -}}
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
{{- if (get (include "emqx-ee.listeners" $ | fromJson).listeners $name).enabled -}}
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
{{- /* The security profile, read by EMQX with os:getenv before its config
(apps/emqx/src/emqx_security_profile.erl cache_profile/0: legacy, hardened, anything else stops the node). */ -}}
{{- $_ := set $env "EMQX_SECURITY_PROFILE" (.Values.securityProfile | default "legacy") -}}
{{- /* Every bind the chart writes names its address. Under the hardened profile a bare port binds
127.0.0.1 only: MQTT listeners through emqx_schema.erl listener_ip_port_converter/2 and
mqtt_default_bind_config/1, the dashboard's HTTP listener in emqx_dashboard.erl ip_port/2
(policy dashboard_http_default_bind); probes, Services and peers would find nothing on the pod IP.
0.0.0.0 is what a bare port binds under legacy (IPv4 any), so legacy releases serve exactly as before;
an IPv6-only cluster would need [::], which the chart does not offer (no IPv6 pod networking value).
Quoted: EMQX reads the value as HOCON, where an unquoted ":" is a separator. */ -}}
{{- if include "emqx-ee.dashboardHttps" . -}}
{{- /* HTTPS only: bind 0 switches EMQX's HTTP listener off (emqx_dashboard.erl listeners/1 drops a
listener whose bind is 0). */ -}}
{{- $dir := include "emqx-ee.tlsDir" . -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTP__BIND" "0" -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__BIND" (include "emqx-ee.anyBind" .Values.dashboard.containerPort) -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__CERTFILE" (include "emqx-ee.hoconString" (printf "%s/tls.crt" $dir)) -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTPS__SSL_OPTIONS__KEYFILE" (include "emqx-ee.hoconString" (printf "%s/tls.key" $dir)) -}}
{{- else -}}
{{- $_ := set $env "EMQX_DASHBOARD__LISTENERS__HTTP__BIND" (include "emqx-ee.anyBind" .Values.dashboard.containerPort) -}}
{{- end -}}
{{- range $name, $listener := (include "emqx-ee.listeners" . | fromJson).listeners -}}
{{- $prefix := printf "EMQX_LISTENERS__%s__DEFAULT__" (include "emqx-ee.listenerType" $name | upper) -}}
{{- if $listener.enabled -}}
{{- $_ := set $env (printf "%sBIND" $prefix) (include "emqx-ee.anyBind" $listener.containerPort) -}}
{{- if $listener.proxyProtocol -}}
{{- $_ := set $env (printf "%sPROXY_PROTOCOL" $prefix) "true" -}}
{{- end -}}
{{- else -}}
{{- $_ := set $env (printf "%sENABLE" $prefix) "false" -}}
{{- end -}}
{{- end -}}
{{- toJson $env -}}
{{- end -}}


{{- /* A bind on every IPv4 address of the pod, quoted for HOCON: "0.0.0.0:<port>". */ -}}
{{- define "emqx-ee.anyBind" -}}
{{- printf "%q" (printf "0.0.0.0:%d" (int .)) -}}
{{- end -}}

{{- /* "true" when emqxConfig configures MQTT authentication (any path under authentication). */ -}}
{{- define "emqx-ee.userAuthentication" -}}
{{- range $name, $_ := (include "emqx-ee.userConfig" . | fromJson).env -}}
{{- if or (eq $name "EMQX_AUTHENTICATION") (hasPrefix "EMQX_AUTHENTICATION__" $name) -}}true{{- end -}}
{{- end -}}
{{- end -}}
