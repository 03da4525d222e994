{{- /* The checks of EMQX 6.2.2's validators, converters and whole-config validations on emqxConfig
(docs/emqx-schema.md). Kept out of templates/ and read with tpl by emqx-ee.userConfigUncached, so that only a
render with emqxConfig parses them. */ -}}

{{- /* A byte size as EMQX's to_bytesize/1 reads it (emqx_schema.erl): digits and kb, mb or gb (1024-based). */ -}}
{{- define "emqx-ee.byteCount" -}}
{{- $t := trim (toString .) -}}
{{- mul (regexFind `^[0-9]+` $t | int64) (get (dict "" 1 "b" 1 "kb" 1024 "mb" 1048576 "gb" 1073741824) (lower (regexFind `[a-zA-Z]+$` $t))) -}}
{{- end -}}

{{- /* A duration in milliseconds as hocon_postprocess:duration/1 reads it (a bare integer is already in .unit,
"ms" or "s"). */ -}}
{{- define "emqx-ee.durationMs" -}}
{{- $t := trim (toString .value) -}}
{{- if regexMatch `^[0-9]+$` $t -}}
{{- mul ($t | int64) (ternary 1000 1 (eq .unit "s")) -}}
{{- else -}}
{{- $ms := 0.0 -}}
{{- range $part := regexFindAll `[0-9.]+(ms|MS|[fFwWdDhHmMsS])` $t -1 -}}
{{- $unit := lower (regexFind `[a-zA-Z]+$` $part) -}}
{{- $ms = addf $ms (mulf (trimSuffix (regexFind `[a-zA-Z]+$` $part) $part | float64) (get (dict "ms" 1.0 "s" 1000.0 "m" 60000.0 "h" 3600000.0 "d" 86400000.0 "w" 604800000.0 "f" 1209600000.0) $unit)) -}}
{{- end -}}
{{- printf "%.0f" (ceil $ms) -}}
{{- end -}}
{{- end -}}

{{- /* The validators of EMQX 6.2.2 that refuse a value at boot, after its type check: one check code of
tools/emqx_schema/roots.py VALIDATORS each (docs/emqx-schema.md lists them, with their source). Called with
dict "code" "at" (the path of the field with the validator) "values" (what emqxConfig sets at and below it:
{"": value} for the field itself, {"verify": ..., "ocsp.enable_ocsp_stapling": ...} below a struct) "known"
(what the chart writes there); returns the messages, one a line. */ -}}
{{- define "emqx-ee.emqxCheck" -}}
{{- $c := .code -}}{{- $vs := .values -}}
{{- $at := printf "emqxConfig.%s" .at -}}
{{- $v := get $vs "" -}}{{- $text := toString $v -}}
{{- $name := ternary $c "" (kindIs "string" $c) -}}
{{- $m := ternary $c dict (kindIs "map" $c) -}}
{{- $says := list -}}
{{- if eq $name "packet_size" -}}
{{- /* emqx_schema.erl validate_max_packet_size/1: 1 to ?MAX_INT_MQTT_PACKET_SIZE (268435455) bytes;
convert_max_packet_size/2 takes 256MB as that maximum. */ -}}
{{- $n := include "emqx-ee.byteCount" $text | int64 -}}
{{- if and (ne (trim $text) "256MB") (or (lt $n 1) (gt $n 268435455)) -}}
{{- $says = append $says (printf "%s: EMQX takes 1 byte to 256MB (268435455 bytes) here, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "heap_size" -}}
{{- /* emqx_schema.erl validate_heap_size/1: at most 128GB */ -}}
{{- if gt (include "emqx-ee.byteCount" $text | int64) 137438953472 -}}
{{- $says = append $says (printf "%s: EMQX takes at most 128GB here, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "keepalive_multiplier" -}}
{{- /* emqx_schema.erl validate_keepalive_multiplier/1: 1.0 to 65535.0 */ -}}
{{- if or (lt ($text | float64) 1.0) (gt ($text | float64) 65535.0) -}}
{{- $says = append $says (printf "%s: EMQX takes a number from 1 to 65535 here, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "tcp_keepalive" -}}
{{- /* emqx_schema.erl validate_tcp_keepalive/1, parse_tcp_keepalive/1: none, or Idle,Interval,Probes within
1..72000, 1..750, 1..90 */ -}}
{{- $parts := splitList "," ($text | replace " " "") -}}
{{- $good := or (eq $text "none") (and (eq (len $parts) 3) (regexMatch `^[0-9]+,[0-9]+,[0-9]+$` ($text | replace " " ""))) -}}
{{- if and $good (ne $text "none") -}}
{{- range $i, $max := list 72000 750 90 -}}
{{- $n := index $parts $i | int64 -}}
{{- if or (lt $n 1) (gt $n (int64 $max)) -}}{{- $good = false -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $good -}}
{{- $says = append $says (printf "%s: EMQX takes none or Idle,Interval,Probes (seconds, seconds, a count; at most 72000,750,90) here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "access_rules" -}}
{{- /* emqx_schema.erl access_rules_converter/1 splits each item at commas, access_rules_validator/1 takes
"allow|deny all|<CIDR>" rules (esockd_cidr:parse/2: an address, or an address/prefix length). */ -}}
{{- range $item := $v -}}
{{- range $rule := splitList "," (toString $item) -}}
{{- $words := splitList " " (trim $rule | regexReplaceAll `\s+` " ") -}}
{{- $cidr := ternary (last $words) "" (eq (len $words) 2) -}}
{{- $ip4 := `^([0-9]{1,3}\.){3}[0-9]{1,3}(/([0-9]|[12][0-9]|3[0-2]))?$` -}}
{{- $ip6 := `^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))?$` -}}
{{- if not (and (eq (len $words) 2) (has (first $words) (list "allow" "deny")) (or (eq $cidr "all") (regexMatch $ip4 $cidr) (regexMatch $ip6 $cidr))) -}}
{{- $says = append $says (printf "%s: %q is not an access rule EMQX takes (allow or deny, then all or an address/prefix: \"deny 10.0.0.0/8\")" $at (trim $rule)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if has $name (list "server_ssl" "listener_ssl") -}}
{{- /* emqx_schema.erl validate_server_ssl_opts/1 (and, for MQTT SSL listeners,
mqtt_ssl_listener_ssl_options_validator/1: ocsp_outer_validator/1, server_ocsp_and_managed_certs_validator/1,
crl_outer_validator/1). verify defaults to verify_none (common_ssl_opts_schema/2). */ -}}
{{- $verify := toString (get $vs "verify" | default (get .known (printf "%s.verify" .at)) | default "verify_none") -}}
{{- if and (eq (toString (get $vs "fail_if_no_peer_cert")) "true") (ne $verify "verify_peer") -}}
{{- $says = append $says (printf "%s: fail_if_no_peer_cert is true, so EMQX needs verify: verify_peer here, not %s" $at $verify) -}}
{{- end -}}
{{- if eq $name "listener_ssl" -}}
{{- if eq (toString (get $vs "enable_crl_check")) "true" -}}
{{- if ne $verify "verify_peer" -}}
{{- $says = append $says (printf "%s: enable_crl_check is true, so EMQX needs verify: verify_peer here, not %s" $at $verify) -}}
{{- end -}}
{{- end -}}
{{- if eq (toString (get $vs "ocsp.enable_ocsp_stapling")) "true" -}}
{{- if not (or (hasKey $vs "certfile") (get .known (printf "%s.certfile" .at))) -}}
{{- $says = append $says (printf "%s: ocsp.enable_ocsp_stapling is true, so EMQX needs certfile here (the server certificate)" $at) -}}
{{- end -}}
{{- if kindIs "slice" (get $vs "managed_certs") -}}
{{- $says = append $says (printf "%s: EMQX does not staple OCSP with managed_certs (a list): turn one of them off" $at) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "ocsp" -}}
{{- /* emqx_schema.erl ocsp_inner_validator/1 */ -}}
{{- if eq (toString (get $vs "enable_ocsp_stapling")) "true" -}}
{{- range $f := list "responder_url" "issuer_pem" -}}
{{- if not (get $vs $f) -}}
{{- $says = append $says (printf "%s: enable_ocsp_stapling is true, so EMQX needs %s here" $at $f) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "managed_certs" -}}
{{- /* emqx_schema.erl server_managed_certs_validator/1: a list of at least one bundle */ -}}
{{- if and (kindIs "slice" $v) (not $v) -}}
{{- $says = append $says (printf "%s: EMQX needs at least one bundle in the list" $at) -}}
{{- end -}}
{{- else if eq $name "restricted" -}}
{{- /* emqx_schema.erl restricted_string/1, emqx_utils.erl is_restricted_str/1 */ -}}
{{- if not (regexMatch `^[A-Za-z0-9]+[A-Za-z0-9-_]*$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes letters, digits, - and _ here, starting with a letter or digit, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "non_empty" -}}
{{- /* emqx_schema.erl non_empty_string/1, non_empty_array/1; emqx_resource_validator.erl not_empty/1 */ -}}
{{- if or (eq $text "") (and (kindIs "slice" $v) (not $v)) -}}
{{- $says = append $says (printf "%s: EMQX refuses an empty value here" $at) -}}
{{- end -}}
{{- else if eq $name "time_offset" -}}
{{- /* emqx_conf_schema.erl validate_time_offset/1 */ -}}
{{- if not (regexMatch `^([\-\+][0-1][0-9]:[0-6][0-9]|system|utc)$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes system, utc or +hh:mm / -hh:mm here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "tickets_seed" -}}
{{- /* emqx_conf_schema.erl validate_tls_stateless_tickets_seed/1 */ -}}
{{- if and (ne $text "") (lt (len $text) 16) -}}
{{- $says = append $says (printf "%s: EMQX needs at least 16 bytes here (or none), not %d" $at (len $text)) -}}
{{- end -}}
{{- else if eq $name "sample_interval" -}}
{{- /* emqx_dashboard_schema.erl validate_sample_interval/1: 1 to 60 seconds, a divisor of 60 */ -}}
{{- $ms := include "emqx-ee.durationMs" (dict "value" $text "unit" "s") | int64 -}}
{{- $sec := div (add $ms 999) 1000 -}}
{{- if or (lt $sec 1) (gt $sec 60) (ne (mod 60 (max $sec 1)) 0) -}}
{{- $says = append $says (printf "%s: EMQX takes 1s to 60s here, a divisor of 60s, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "hwmark_expire" -}}
{{- /* emqx_dashboard_schema.erl validate_hwmark_expire_time/1: at most ?DAYS_7 */ -}}
{{- $ms := include "emqx-ee.durationMs" (dict "value" $text "unit" "ms") | int64 -}}
{{- if or (lt $ms 1) (gt $ms 604800000) -}}
{{- $says = append $says (printf "%s: EMQX takes at most 7d here, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "authn_chain" -}}
{{- /* emqx_authn_schema.erl validator/0 runs each provider's validations/0 on the checked authenticators:
emqx_authn_http_schema.erl and emqx_authn_scram_restapi_schema.erl check_ssl_opts/1 (an https url needs
ssl.enable, which defaults to false). Their check_headers/1 never refuses: the headers converter has already
dropped content-type (emqx_auth_http_utils.erl convert_headers_no_content_type/1). */ -}}
{{- range $i, $a := ternary $v (list $v) (kindIs "slice" $v) -}}
{{- if and (kindIs "map" $a) (eq (toString (get $a "backend")) "http") (hasPrefix "https://" (toString (get $a "url"))) (ne (toString (dig "ssl" "enable" false $a)) "true") -}}
{{- $says = append $says (printf "%s[%d]: the url is https://, so EMQX needs ssl.enable: true here" $at $i) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "latency_buckets" -}}
{{- /* emqx_schema.erl latency_histogram_buckets_converter/2: comma-separated durations (to_duration_ms/1),
each above 0 */ -}}
{{- range $b := splitList "," $text -}}
{{- $b = trim $b -}}
{{- if or (not (regexMatch `^([0-9]+|([0-9.]+(ms|MS|[fFwWdDhHmMsS]))+)$` $b)) (eq (include "emqx-ee.durationMs" (dict "value" $b "unit" "ms")) "0") -}}
{{- $says = append $says (printf "%s: %q is not a duration above 0; EMQX refuses it (comma-separated durations: 10ms, 100ms, 1s)" $at $b) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "http_url" -}}
{{- /* emqx_exhook_schema.erl, emqx_prometheus_schema.erl validate_url/1: uri_string:parse/1 with scheme http or https */ -}}
{{- if not (regexMatch `^[hH][tT][tT][pP][sS]?://` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes an http:// or https:// URL here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "unique_topics" -}}
{{- /* validate_unique_topics/1: at least one topic filter, each once */ -}}
{{- $topics := ternary $v (list $v) (kindIs "slice" $v) -}}
{{- if not $topics -}}
{{- $says = append $says (printf "%s: EMQX needs at least one topic filter here" $at) -}}
{{- end -}}
{{- range $i, $t := $topics -}}
{{- if has $t (slice $topics 0 $i) -}}
{{- $says = append $says (printf "%s: EMQX needs each topic filter once, and %q comes twice" $at (toString $t)) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "cidrs" -}}
{{- /* emqx_rule_engine_schema.erl validate_ssrf_cidrs/1: every item an address/prefix length */ -}}
{{- range $cidr := $v -}}
{{- if not (or (regexMatch `^([0-9]{1,3}\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$` (toString $cidr)) (regexMatch `^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8])$` (toString $cidr))) -}}
{{- $says = append $says (printf "%s: %q is not a CIDR EMQX takes (an address/prefix length: 10.0.0.0/8, fd00::/8)" $at (toString $cidr)) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "ratio" -}}
{{- /* emqx_otel_schema.erl validate_sample_ratio/1: 0.0 to 1.0 */ -}}
{{- $pct := include "emqx-ee.percent" $text | float64 -}}
{{- if or (lt $pct 0.0) (gt $pct 100.0) -}}
{{- $says = append $says (printf "%s: EMQX takes 0 to 1 (0%% to 100%%) here, not %s" $at $text) -}}
{{- end -}}
{{- else if eq $name "servers" -}}
{{- /* emqx_schema.erl servers_validator/2: never empty; parse_port/1: a port is 0 to 65535 */ -}}
{{- if eq (trim $text) "" -}}
{{- $says = append $says (printf "%s: EMQX refuses an empty value here (leave the key out instead)" $at) -}}
{{- end -}}
{{- range $server := splitList "," $text -}}
{{- $port := regexFind `^[^:/\[\]]+:([0-9]+)$` (trim $server) -}}
{{- if and $port (gt (last (splitList ":" $port) | int64) 65535) -}}
{{- $says = append $says (printf "%s: the port of %q is over 65535; EMQX refuses it" $at (trim $server)) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "issuer_url" -}}
{{- /* emqx_dashboard_sso_oidc.erl validate_issuer_url/1: http or https, with a host */ -}}
{{- if not (regexMatch `^[hH][tT][tT][pP][sS]?://[^/?#]+` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes an http:// or https:// URL with a host here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "http_method" -}}
{{- /* emqx_bridge_http_connector.erl validate_method/1 */ -}}
{{- if not (or (has $text (list "post" "put" "get" "delete")) (contains "${" $text)) -}}
{{- $says = append $says (printf "%s: EMQX takes post, put, get, delete or a ${placeholder} here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "part_sizes" -}}
{{- /* emqx_s3_schema.erl validate_part_size/1, with the defaults of fields("s3_upload") */ -}}
{{- $min := include "emqx-ee.byteCount" (get $vs "min_part_size" | default "5mb") | int64 -}}
{{- $max := include "emqx-ee.byteCount" (get $vs "max_part_size" | default "5gb") | int64 -}}
{{- if gt $min $max -}}
{{- $says = append $says (printf "%s: min_part_size (%d bytes) is over max_part_size (%d bytes); EMQX refuses it" $at $min $max) -}}
{{- end -}}
{{- else if eq $name "schema_checks" -}}
{{- /* emqx_schema_validation_schema.erl validate_unique_schema_checks/1 */ -}}
{{- $seen := dict -}}
{{- if not $v -}}
{{- $says = append $says (printf "%s: EMQX needs at least one check here" $at) -}}
{{- end -}}
{{- range $check := $v -}}
{{- if and (kindIs "map" $check) (hasKey $check "schema") -}}
{{- $k := printf "%s:%s" (toString (get $check "type")) (toString (get $check "schema")) -}}
{{- if hasKey $seen $k -}}
{{- $says = append $says (printf "%s: EMQX needs each type and schema once, and %s comes twice" $at $k) -}}
{{- end -}}
{{- $_ := set $seen $k true -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "placeholder" -}}
{{- /* emqx_bridge_kafka.erl kafka_header_validator/1 */ -}}
{{- if not (regexMatch `^\$\{[^}]+\}$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes one placeholder here, such as ${pub_props}, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "placeholder_or_text" -}}
{{- /* emqx_bridge_kafka.erl kafka_ext_header_value_validator/1 */ -}}
{{- if or (eq $text "") (and (contains "${" $text) (not (regexMatch `^\$\{[^}]+\}$` $text))) -}}
{{- $says = append $says (printf "%s: EMQX takes one placeholder (${foo}) or plain text here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "static_clientids" -}}
{{- /* emqx_bridge_mqtt_connector_schema.erl static_clientid_validator/1 */ -}}
{{- $nodes := list -}}{{- $ids := list -}}
{{- range $e := $v -}}
{{- $e = ternary $e dict (kindIs "map" $e) -}}
{{- $nodes = append $nodes (toString (get $e "node")) -}}
{{- range $id := ternary (get $e "ids") list (kindIs "slice" (get $e "ids")) -}}{{- $ids = append $ids (toString (get (ternary $id dict (kindIs "map" $id)) "clientid")) -}}{{- end -}}
{{- end -}}
{{- if $v -}}
{{- if ne (len $nodes) (len ($nodes | uniq)) -}}
{{- $says = append $says (printf "%s: EMQX needs each node once" $at) -}}
{{- else if not $ids -}}
{{- $says = append $says (printf "%s: EMQX needs at least one static clientid" $at) -}}
{{- else if ne (len $ids) (len ($ids | uniq)) -}}
{{- $says = append $says (printf "%s: EMQX needs each clientid once" $at) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "clientids" -}}
{{- /* emqx_bridge_mqtt_connector_schema.erl static_clientid_validate_clientids_length/1 */ -}}
{{- range $id := $v -}}
{{- if eq (toString (get (ternary $id dict (kindIs "map" $id)) "clientid")) "" -}}
{{- $says = append $says (printf "%s: EMQX refuses an empty clientid" $at) -}}
{{- end -}}
{{- end -}}
{{- else if has $name (list "topic_filters" "link_topics" "topic_redundancy") -}}
{{- /* emqx_cluster_link_schema.erl validate_topics/1 (emqx_topic:validate/1 of a filter),
validate_no_special_topics/1 (?TOPIC_PREFIX_WILDCARD, $LINK/cluster/#), validate_no_redundancy/1
(emqx_topic:union/1 drops a filter another covers) */ -}}
{{- range $i, $topic := $v -}}
{{- $t := toString $topic -}}
{{- $words := splitList "/" (regexReplaceAll `^\$share/[^/]+/` $t "") -}}
{{- if eq $name "topic_filters" -}}
{{- $bad := or (eq $t "") (gt (len $t) 65535) (contains "\x00" $t) -}}
{{- range $j, $w := $words -}}
{{- if or (and (contains "#" $w) (or (ne $w "#") (ne (add1 $j) (len $words)))) (and (contains "+" $w) (ne $w "+")) -}}{{- $bad = true -}}{{- end -}}
{{- end -}}
{{- if $bad -}}
{{- $says = append $says (printf "%s: %q is not a topic filter EMQX takes" $at $t) -}}
{{- end -}}
{{- else if eq $name "link_topics" -}}
{{- if hasPrefix "$LINK/cluster/" $t -}}
{{- $says = append $says (printf "%s: EMQX keeps topics under $LINK/cluster/ for the link itself, not %q" $at $t) -}}
{{- end -}}
{{- else -}}
{{- range $j, $other := $v -}}
{{- $f := splitList "/" (toString $other) -}}
{{- if and (ne $i $j) (or (ne (toString $other) $t) (lt $j $i)) -}}
{{- /* does filter $f cover filter $words? '#' covers what is left (its parent level included), '+'
any one level but '#'; a wildcard at the first level does not cover a $ topic */ -}}
{{- $covers := true -}}{{- $done := false -}}
{{- if and (has (first $f) (list "+" "#")) (hasPrefix "$" (first $words)) -}}{{- $covers = false -}}{{- end -}}
{{- range $k, $fw := $f -}}
{{- if and $covers (not $done) -}}
{{- if eq $fw "#" -}}{{- $done = true -}}
{{- else if ge $k (len $words) -}}{{- $covers = false -}}
{{- else if not (or (eq $fw (index $words $k)) (and (eq $fw "+") (ne (index $words $k) "#"))) -}}{{- $covers = false -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and $covers (not $done) (ne (len $f) (len $words)) -}}{{- $covers = false -}}{{- end -}}
{{- if $covers -}}
{{- $says = append $says (printf "%s: %q is covered by %q; EMQX refuses redundant topics" $at $t (toString $other)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "claim_names" -}}
{{- /* emqx_authn_jwt_schema.erl do_check_verify_claims/1, check_claim_name/1 */ -}}
{{- range $claim, $_ := ($v | default dict) -}}
{{- if has $claim (list "exp" "iat" "nbf" "") -}}
{{- $says = append $says (printf "%s: EMQX checks the claim %q itself and refuses it here" $at $claim) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "header_names" -}}
{{- /* emqx_authn_jwt_schema.erl validate_headers/1 */ -}}
{{- range $h, $_ := ($v | default dict) -}}
{{- if regexMatch `[^-0-9a-zA-Z_ ]` $h -}}
{{- $says = append $says (printf "%s: EMQX takes header names of letters, digits, -, _ and spaces, not %q" $at $h) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "principal" -}}
{{- /* emqx_authn_kerberos_schema.erl validate_principal/1 */ -}}
{{- if not (regexMatch `^([a-zA-Z0-9\._-]+)/([a-zA-Z0-9\.-]+)(@([A-Z0-9\.-]+))?$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes service/host or service/host@REALM here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "dispatch_key" -}}
{{- /* emqx_bridge_pulsar.erl producer_strategy_key_validator/1 */ -}}
{{- if and (eq (toString (get $vs "strategy")) "key_dispatch") (hasKey $vs "message.key") (eq (toString (get $vs "message.key")) "") -}}
{{- $says = append $says (printf "%s: strategy key_dispatch needs a message.key; EMQX refuses an empty one" $at) -}}
{{- end -}}
{{- else if eq $name "s3tables_arn" -}}
{{- /* emqx_bridge_s3tables_connector_schema.erl parse_arn/1 */ -}}
{{- if not (regexMatch `^arn:aws:s3tables:[-a-z0-9]+:[0-9]+:bucket/[-a-z0-9]+$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes arn:aws:s3tables:<region>:<account id>:bucket/<bucket> here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "account_id" -}}
{{- /* emqx_bridge_snowflake_lib.erl account_id_validator/1 */ -}}
{{- if not (contains "-" $text) -}}
{{- $says = append $says (printf "%s: EMQX takes ORGID-ACCOUNTNAME here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "no_query" -}}
{{- /* emqx_bridge_clickhouse_connector.erl fields("config") url: no query */ -}}
{{- if contains "?" $text -}}
{{- $says = append $says (printf "%s: EMQX takes a URL without a query here, not %q" $at $text) -}}
{{- end -}}
{{- else if eq $name "opents_tags" -}}
{{- /* emqx_bridge_opents.erl fields(action_parameters_data) tags */ -}}
{{- if or (and (kindIs "string" $v) (not (regexMatch `^\$\{[^}]+\}$` $v))) (and (kindIs "map" $v) (not $v)) -}}
{{- $says = append $says (printf "%s: EMQX takes one ${placeholder} or a map of at least one tag here" $at) -}}
{{- end -}}
{{- else if has $name (list "oracle" "iotdb" "tdengine") -}}
{{- /* per connector of the map (emqx_bridge_oracle.erl config_validator/1,
emqx_bridge_iotdb_connector_info.erl validate_iotdb_vsn/1, emqx_bridge_tdengine_connector_info.erl
validate_config/1) */ -}}
{{- $names := list -}}
{{- range $sub, $_ := $vs -}}{{- $names = append $names (first (splitList "." $sub)) -}}{{- end -}}
{{- range $n := $names | uniq -}}
{{- $f := dict -}}
{{- range $sub, $val := $vs -}}{{- if hasPrefix (printf "%s." $n) $sub -}}{{- $_ := set $f (trimPrefix (printf "%s." $n) $sub) (toString $val) -}}{{- end -}}{{- end -}}
{{- if eq $name "oracle" -}}
{{- if not (or (hasKey $f "sid") (hasKey $f "service_name")) -}}
{{- $says = append $says (printf "%s.%s: EMQX needs sid or service_name here" $at $n) -}}
{{- end -}}
{{- else if eq $name "tdengine" -}}
{{- $login := list -}}
{{- range $field := list "username" "password" "token" -}}
{{- $login = append $login (or (hasKey $f $field) (hasKey $.known (printf "%s.%s.%s" $.at $n $field))) -}}
{{- end -}}
{{- $login = toJson $login -}}
{{- if not (has $login (list "[true,true,false]" "[false,false,true]")) -}}
{{- $says = append $says (printf "%s.%s: EMQX takes username with password, or a token alone" $at $n) -}}
{{- end -}}
{{- else if eq (get $f "driver" | default "restapi") "restapi" -}}
{{- $ver := get $f "iotdb_version" | default "v1.3.x" -}}
{{- if not (has $ver (list "v2.0.x" "v1.3.x")) -}}
{{- $says = append $says (printf "%s.%s: EMQX's REST API driver takes iotdb_version v2.0.x or v1.3.x, not %s" $at $n $ver) -}}
{{- else if and (eq $ver "v1.3.x") (eq (get $f "sql.dialect") "table") -}}
{{- $says = append $says (printf "%s.%s: the table dialect needs iotdb_version v2.0.x; EMQX refuses it with v1.3.x" $at $n) -}}
{{- end -}}
{{- else if ne (get $f "protocol_version" | default "protocol_v3") "protocol_v3" -}}
{{- $says = append $says (printf "%s.%s: EMQX's thrift driver takes protocol_v3 only, not %s" $at $n (get $f "protocol_version")) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "kafka_producer" -}}
{{- /* emqx_bridge_kafka.erl producer_strategy_key_validator/1, producer_buffer_mode_validator/1 */ -}}
{{- if and (eq (toString (get $vs "partition_strategy")) "key_dispatch") (hasKey $vs "message.key") (eq (toString (get $vs "message.key")) "") -}}
{{- $says = append $says (printf "%s: partition_strategy key_dispatch needs a message.key; EMQX refuses an empty one" $at) -}}
{{- end -}}
{{- if and (eq (toString (get $vs "buffer.mode")) "disk") (contains "${" (toString (get $vs "topic"))) -}}
{{- $says = append $says (printf "%s: EMQX refuses buffer.mode disk with a topic that has ${placeholders}" $at) -}}
{{- end -}}
{{- else if eq $name "base64" -}}
{{- /* emqx_bridge_azure_blob_storage_connector_schema.erl validate_account_key/1 (base64:decode/1) */ -}}
{{- if not (regexMatch `^[A-Za-z0-9+/=\s]*$` $text) -}}
{{- $says = append $says (printf "%s: EMQX takes a base64 value here" $at) -}}
{{- end -}}
{{- else if eq $name "index_specs" -}}
{{- /* emqx_retainer_schema.erl check_index_specs/1 */ -}}
{{- $specs := list -}}
{{- range $spec := $v -}}
{{- $spec = ternary $spec list (kindIs "slice" $spec) -}}
{{- $ints := list -}}
{{- range $i := $spec -}}{{- $ints = append $ints (toString $i) -}}{{- end -}}
{{- $ok := and $spec (eq (len $ints) (len ($ints | uniq))) -}}
{{- range $i := $ints -}}{{- if not (regexMatch `^[1-9][0-9]*$` $i) -}}{{- $ok = false -}}{{- end -}}{{- end -}}
{{- if not $ok -}}
{{- $says = append $says (printf "%s: EMQX takes lists of distinct positive integers, not [%s]" $at (join ", " $ints)) -}}
{{- end -}}
{{- $specs = append $specs (join "," $ints) -}}
{{- end -}}
{{- if ne (len $specs) (len ($specs | uniq)) -}}
{{- $says = append $says (printf "%s: EMQX needs each index spec once" $at) -}}
{{- end -}}
{{- else if eq $name "connectors" -}}
{{- /* emqx_connector_schema.erl validator/1: the 'connectors.validators' of disk_log (unique_filepath_validator/1),
mqtt (unique_static_clientid_validator/1) and snowflake (authn_mode_selection_validator/1) */ -}}
{{- $paths := dict -}}{{- $ids := dict -}}
{{- range $sub, $val := $vs -}}
{{- $p := splitList "." $sub -}}
{{- if and (eq (first $p) "disk_log") (eq (len $p) 3) (eq (last $p) "filepath") -}}
{{- $_ := set $paths (toString $val) (append (get $paths (toString $val) | default list) (index $p 1)) -}}
{{- else if and (eq (first $p) "mqtt") (eq (len $p) 3) (eq (last $p) "static_clientids") -}}
{{- $server := toString (get $vs (printf "mqtt.%s.server" (index $p 1))) -}}
{{- range $e := ternary $val list (kindIs "slice" $val) -}}{{- $e = ternary $e dict (kindIs "map" $e) -}}{{- range $id := ternary (get $e "ids") list (kindIs "slice" (get $e "ids")) -}}
{{- $k := printf "%s@%s" (toString (get (ternary $id dict (kindIs "map" $id)) "clientid")) $server -}}
{{- $_ := set $ids $k (append (get $ids $k | default list) (index $p 1) | uniq) -}}
{{- end -}}{{- end -}}
{{- else if and (eq (first $p) "snowflake") (eq (len $p) 3) (eq (last $p) "password") (hasKey $vs (printf "snowflake.%s.private_key_path" (index $p 1))) -}}
{{- $says = append $says (printf "%s.snowflake.%s: EMQX takes password or private_key_path, not both" $at (index $p 1)) -}}
{{- end -}}
{{- end -}}
{{- range $path, $names := $paths -}}
{{- if gt (len $names) 1 -}}
{{- $says = append $says (printf "%s.disk_log: %s write to the same filepath %q; EMQX refuses it" $at (join ", " ($names | sortAlpha)) $path) -}}
{{- end -}}
{{- end -}}
{{- range $k, $names := $ids -}}
{{- if gt (len $names) 1 -}}
{{- $says = append $says (printf "%s.mqtt: %s use the same static clientid on one server (%s); EMQX refuses it" $at (join ", " ($names | sortAlpha)) $k) -}}
{{- end -}}
{{- end -}}
{{- else if eq $name "rewrite" -}}
{{- /* emqx_modules_schema.erl rewrite_validator/1 (emqx_topic:validate(name, DestTopic)) */ -}}
{{- range $i, $rule := $v -}}
{{- $rule = ternary $rule dict (kindIs "map" $rule) -}}
{{- $dest := toString (get $rule "dest_topic") -}}
{{- if and (ne (toString (get $rule "action")) "subscribe") (or (eq $dest "") (gt (len $dest) 65535) (contains "+" $dest) (contains "#" $dest)) -}}
{{- $says = append $says (printf "%s[%d].dest_topic: EMQX takes a topic name here (not empty, no + or #), not %q" $at $i $dest) -}}
{{- end -}}
{{- end -}}
{{- else if hasKey $m "one_enabled" -}}
{{- /* exactly one enabled backend: emqx_retainer_schema.erl validate_backends_enabled/1, emqx_ft_schema.erl
validator(backend); each backend's enable defaults to true */ -}}
{{- $backends := $m.one_enabled -}}
{{- if not $backends -}}
{{- range $sub, $_ := $vs -}}{{- $backends = append $backends (first (splitList "." $sub)) -}}{{- end -}}
{{- end -}}
{{- $enabled := list -}}
{{- range $b := $backends | uniq -}}
{{- if ne (toString (get $vs (printf "%s.enable" $b))) "false" -}}{{- $enabled = append $enabled $b -}}{{- end -}}
{{- end -}}
{{- if and $backends (ne (len $enabled) 1) -}}
{{- $says = append $says (printf "%s: EMQX needs exactly one enabled backend here, not %d (%s; each is enabled unless its enable is false)" $at (len $enabled) (join ", " $enabled | default "none")) -}}
{{- end -}}
{{- else if hasKey $m "name" -}}
{{- /* emqx_resource.erl validate_name/2, emqx_exhook_schema.erl validate_name/1 */ -}}
{{- if or (not (regexMatch `^[0-9a-zA-Z][-0-9a-zA-Z_]*$` $text)) (gt (len $text) (int $m.name)) -}}
{{- $says = append $says (printf "%s: EMQX takes a name of letters, digits, - and _ here, starting with a letter or digit, at most %d bytes, not %q" $at (int $m.name) $text) -}}
{{- end -}}
{{- else if hasKey $m "ms" -}}
{{- /* emqx_resource_schema.erl health_check_interval_range/1 */ -}}
{{- $ms := include "emqx-ee.durationMs" (dict "value" $text "unit" "ms") | int64 -}}
{{- if or (lt $ms (int64 (index $m.ms 0))) (gt $ms (int64 (index $m.ms 1))) -}}
{{- $says = append $says (printf "%s: EMQX takes %dms to %dms here, not %s" $at (int64 (index $m.ms 0)) (int64 (index $m.ms 1)) $text) -}}
{{- end -}}
{{- else if hasKey $m "versions" -}}
{{- /* emqx_schema.erl validate_tls_versions/2: versions ssl:versions() lists as available (OTP 28), and no
tlsv1.3 with others unless tlsv1.2 is one of them (validate_tls_version_gap/1). */ -}}
{{- $known := ternary (list "dtlsv1.2" "dtlsv1") (list "tlsv1.3" "tlsv1.2" "tlsv1.1" "tlsv1") (eq $m.versions "dtls") -}}
{{- range $ver := $v -}}
{{- if not (has (toString $ver) $known) -}}
{{- $says = append $says (printf "%s: EMQX knows %s, not %q" $at (join ", " $known) (toString $ver)) -}}
{{- end -}}
{{- end -}}
{{- if and (has "tlsv1.3" $v) (gt (len $v) 1) (not (has "tlsv1.2" $v)) -}}
{{- $says = append $says (printf "%s: EMQX refuses tlsv1.3 with older versions unless tlsv1.2 is one of them" $at) -}}
{{- end -}}
{{- else if hasKey $m "bytes" -}}
{{- /* emqx_schema.erl mk_validator_bounds/2 */ -}}
{{- $n := include "emqx-ee.byteCount" $text | int64 -}}
{{- if or (lt $n (int64 (index $m.bytes 0))) (gt $n (int64 (index $m.bytes 1))) -}}
{{- $says = append $says (printf "%s: EMQX takes %d to %d bytes here, not %s" $at (int64 (index $m.bytes 0)) (int64 (index $m.bytes 1)) $text) -}}
{{- end -}}
{{- else if hasKey $m "min" -}}
{{- /* emqx_resource_validator.erl min/2 */ -}}
{{- if lt ($text | float64) (float64 $m.min) -}}
{{- $says = append $says (printf "%s: EMQX takes at least %v here, not %s" $at $m.min $text) -}}
{{- end -}}
{{- else if hasKey $m "max" -}}
{{- /* emqx_resource_validator.erl max/2 */ -}}
{{- if gt ($text | float64) (float64 $m.max) -}}
{{- $says = append $says (printf "%s: EMQX takes at most %v here, not %s" $at $m.max $text) -}}
{{- end -}}
{{- else if hasKey $m "unique" -}}
{{- /* validate_unique_names/1 of emqx_cluster_link_schema.erl, emqx_message_transformation_schema.erl,
emqx_schema_validation_schema.erl */ -}}
{{- $seen := dict -}}
{{- range $item := $v -}}
{{- $n := toString (get (ternary $item dict (kindIs "map" $item)) $m.unique) -}}
{{- if hasKey $seen $n -}}
{{- $says = append $says (printf "%s: EMQX needs each %s once, and %q comes twice" $at $m.unique $n) -}}
{{- end -}}
{{- $_ := set $seen $n true -}}
{{- end -}}
{{- else if hasKey $m "reserved_key" -}}
{{- /* a map key the field's validator refuses: emqx_schema_registry_schema.erl validate_name/1 */ -}}
{{- range $sub, $_ := $vs -}}
{{- if eq (first (splitList "." $sub)) $m.reserved_key -}}
{{- $says = append $says (printf "%s.%s: EMQX keeps the name %q for its own entry; choose another name" $at $m.reserved_key $m.reserved_key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- join "\n" ($says | uniq) -}}
{{- end -}}

{{- /* The whole-config validations of EMQX 6.2.2 (emqx_enterprise_schema.erl validations/0: those of
emqx_conf_schema.erl, emqx_schema.erl and emqx_license_schema.erl), each over fields of more than one place,
with EMQX's defaults for what emqxConfig leaves out. emqx_schema.erl check_watermark/3: a low watermark below
its high one (defaults 60% and 80%, fields("sysmon_vm"), fields("sysmon_os")). Called with dict "user" (the
variables) "problems" "check". */ -}}
{{- define "emqx-ee.rootChecks" -}}
{{- if .check -}}
{{- range $pair := list (list "sysmon.vm.process" "EMQX_SYSMON__VM__PROCESS") (list "sysmon.os.cpu" "EMQX_SYSMON__OS__CPU") -}}
{{- $low := get $.user (printf "%s_LOW_WATERMARK" (index $pair 1)) -}}
{{- $high := get $.user (printf "%s_HIGH_WATERMARK" (index $pair 1)) -}}
{{- if or $low $high -}}
{{- $lt := "60%" -}}{{- with $low -}}{{- $lt = .text -}}{{- end -}}
{{- $ht := "80%" -}}{{- with $high -}}{{- $ht = .text -}}{{- end -}}
{{- $l := include "emqx-ee.percent" $lt | float64 -}}
{{- $h := include "emqx-ee.percent" $ht | float64 -}}
{{- if le $h $l -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s_low_watermark and %s_high_watermark: EMQX needs the low watermark below the high one (%s%% is not below %s%%; EMQX's defaults are 60%% and 80%%)" (index $pair 0) (index $pair 0) (toString $l) (toString $h))) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* emqx_license_schema.erl validations/0: check_license_watermark/1 (low below high; defaults 75% and 80%,
default/1) and check_high_watermark_timezone/1 (system, or an offset emqx_utils_calendar:offset_second/1 reads). */ -}}
{{- $low := get $.user "EMQX_LICENSE__CONNECTION_LOW_WATERMARK" -}}
{{- $high := get $.user "EMQX_LICENSE__CONNECTION_HIGH_WATERMARK" -}}
{{- if or $low $high -}}
{{- $lt := "75%" -}}{{- with $low -}}{{- $lt = .text -}}{{- end -}}
{{- $ht := "80%" -}}{{- with $high -}}{{- $ht = .text -}}{{- end -}}
{{- if le (include "emqx-ee.percent" $ht | float64) (include "emqx-ee.percent" $lt | float64) -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.license.connection_low_watermark and connection_high_watermark: EMQX needs the low watermark below the high one (%s is not below %s; EMQX's defaults are 75%% and 80%%)" (trimAll "\"" $lt) (trimAll "\"" $ht))) -}}
{{- end -}}
{{- end -}}
{{- with get $.user "EMQX_LICENSE__HIGH_WATERMARK_TIMEZONE" -}}
{{- $tz := trimAll "\"" .text -}}
{{- $hms := regexFind `^[+-]([0-9]+):([0-9]+)(:([0-9]+))?$|^[+-][0-9]{4}$` $tz -}}
{{- $parts := splitList ":" (regexReplaceAll `^([0-9]{2})([0-9]{2})$` (trimPrefix "-" (trimPrefix "+" $hms)) "${1}:${2}") -}}
{{- $good := or (has $tz (list "system" "local" "Z" "z")) (and $hms (le (index $parts 0 | int) 23) (le (index $parts 1 | int) 59) (le (index (append $parts "0") 2 | int) 59)) -}}
{{- if not $good -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.license.high_watermark_timezone: EMQX takes system or an offset (+08:00, -0230, Z) here, not %s" .text)) -}}
{{- end -}}
{{- end -}}
{{- /* emqx_conf_schema.erl validate_durable_sessions_strategy/1: durable sessions on a builtin_local storage
backend need the singleton discovery strategy, which a chart of several nodes never sets. */ -}}
{{- if eq (trimAll "\"" (dig "EMQX_DURABLE_SESSIONS__ENABLE" "text" "false" $.user)) "true" -}}
{{- range $db := list "messages" "sessions" "timers" -}}
{{- if eq (trimAll "\"" (dig (printf "EMQX_DURABLE_STORAGE__%s__BACKEND" (upper $db)) "text" "" $.user)) "builtin_local" -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.durable_storage.%s.backend: builtin_local needs the singleton discovery strategy when durable_sessions.enable is true, and the chart runs a cluster (discovery: dns, k8s or static): use builtin_raft" $db)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* The fields EMQX 6.2.2 needs in a struct that emqxConfig gives a value: hocon_tconf.erl refuses at boot a
struct whose field is `required => true` and has no default (validate/5, do_map/4), or whose field without a
value needs fields in turn ("q" of the compact schema, tools/emqx_schema/roots.py needed_fields). A field counts
as given when emqxConfig sets it, or EMQX's own config, the chart or extraEnv does (.given). A struct emqxConfig
does not reach keeps its default and is not checked.

Where the path leaves more than one struct possible (a union: hocon_tconf.erl do_map_union/4 takes the first
member that checks, and a selector fun such as emqx_authn_password_hashing.erl union_selector/1 narrows them by
a field's value first), a member stays possible while it has every field the values set and each value fits
where the member fixes it (a singleton or an enum). The struct passes when one possible member has all it
needs; otherwise each possible member's missing fields are named, or, when no member is possible, what keeps
each one out. Called with dict "s" "reached" ({path: {t,
has, v}}) "given" (paths) "opaque" (paths extraEnv gives, whose values the render cannot see: a struct at or
below one is not checked) "q" "problems" "check". */ -}}
{{- define "emqx-ee.requiredChecks" -}}
{{- if .check -}}
{{- $version := include "emqx-ee.emqxSchemaVersion" . -}}
{{- range $path, $r := .reached -}}
{{- $opaque := false -}}
{{- range $o := $.opaque -}}
{{- if or (eq $o $path) (hasPrefix (printf "%s." $o) $path) (hasPrefix (printf "%s[" $o) $path) -}}{{- $opaque = true -}}{{- end -}}
{{- end -}}
{{- if not $opaque -}}
{{- $has := $r.has -}}
{{- $under := printf "%s." $path -}}
{{- range $g := $.given -}}
{{- if hasPrefix $under $g -}}{{- $has = append $has (first (splitList "." (trimPrefix $under $g))) -}}{{- end -}}
{{- end -}}
{{- $fits := false -}}
{{- $forms := list -}}
{{- $misfits := list -}}
{{- $fitSome := dict -}}
{{- $vals := $r.v | default dict -}}
{{- range $t := $r.t -}}
{{- $struct := index $.s (int $t) -}}
{{- $why := list -}}
{{- if gt (len $r.t) 1 -}}
{{- range $f := uniq $r.has -}}
{{- if not (hasKey $struct $f) -}}
{{- $why = append $why (printf "no field %s" $f) -}}
{{- else -}}
{{- $ft := get $struct $f -}}
{{- $ok := true -}}
{{- if and (hasKey $vals $f) (kindIs "map" $ft) -}}
{{- if and (hasKey $ft "v") (ne (toString $ft.v) (toString (get $vals $f))) -}}
{{- $ok = false -}}{{- $why = append $why (printf "%s is %v" $f $ft.v) -}}
{{- end -}}
{{- if and (hasKey $ft "e") (not (has (toString (get $vals $f)) $ft.e)) -}}
{{- $ok = false -}}{{- $why = append $why (printf "%s is one of %s" $f (join ", " $ft.e)) -}}
{{- end -}}
{{- end -}}
{{- if $ok -}}{{- $_ := set $fitSome $f true -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $why -}}
{{- $misfits = append $misfits (join ", " $why) -}}
{{- else -}}
{{- $missing := list -}}
{{- range $f := get $.q (toString (int $t)) | default list -}}
{{- $names := ternary $f (list $f) (kindIs "slice" $f) -}}
{{- $set := false -}}
{{- range $n := $names -}}{{- if has $n $has -}}{{- $set = true -}}{{- end -}}{{- end -}}
{{- if not $set -}}{{- $missing = append $missing (first $names) -}}{{- end -}}
{{- end -}}
{{- if $missing -}}
{{- $forms = append $forms $missing -}}
{{- else -}}
{{- $fits = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* No member has every field set with the values set: hocon matches no member. A field that no member
takes alone is the walk's refusal already (an unknown field, a value of no member's type). */ -}}
{{- if and (not $fits) (not $forms) $misfits (eq (len (keys $fitSome)) (len (uniq $r.has))) -}}
{{- $each := list -}}
{{- range $i, $why := $misfits -}}{{- $each = append $each (printf "form %d: %s" (add1 $i) $why) -}}{{- end -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s: EMQX %s takes one of %d forms here, and none has every field set as given (%s); EMQX would refuse the config at boot: keep to the fields of one form" $path $version (len $misfits) (join "; " $each))) -}}
{{- end -}}
{{- if and $forms (not $fits) -}}
{{- $forms = uniq $forms -}}
{{- $secrets := list -}}
{{- range $missing := $forms -}}
{{- range $f := $missing -}}{{- if regexMatch (include "emqx-ee.secretFieldPattern" .) $f -}}{{- $secrets = append $secrets $f -}}{{- end -}}{{- end -}}
{{- end -}}
{{- $hint := ternary "" (printf " (%s through extraEnv with valueFrom.secretKeyRef)" (join ", " (uniq $secrets))) (not $secrets) -}}
{{- if eq (len $forms) 1 -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s: EMQX %s requires %s under %s and would refuse the config at boot without them; set them too%s" $path $version (join ", " (first $forms)) $path $hint)) -}}
{{- else -}}
{{- $each := list -}}
{{- range $missing := $forms -}}{{- $each = append $each (printf "(%s)" (join ", " $missing)) -}}{{- end -}}
{{- $_ := set $.problems "list" (append $.problems.list (printf "emqxConfig.%s: EMQX %s reads %s as one of %d forms, and each lacks fields it requires: %s; EMQX would refuse the config at boot: set the fields of one form%s" $path $version $path (len $forms) (join " or " $each) $hint)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* A percentage as EMQX's to_percent/1 reads it, in percent: "80%" or a fraction (0.8). */ -}}
{{- define "emqx-ee.percent" -}}
{{- $t := trimAll "\"" (toString .) -}}
{{- if hasSuffix "%" $t -}}{{- trimSuffix "%" $t -}}{{- else -}}{{- mulf ($t | float64) 100.0 -}}{{- end -}}
{{- end -}}

{{- /* The run: called by emqx-ee.userConfigUncached (templates/_env.tpl) through tpl with dict "found" (the
values the walk handed to validators: [{code, at, path, value}]) "known" (what the chart and extraEnv set)
"user" (the EMQX_* variables of emqxConfig) "check"; writes {"problems": [messages], "unchecked": {path: what EMQX
parses there}} as JSON. Each validator is given every value set at or below its field; a validator the chart
cannot run (code {"unchecked": what}, roots.py UNCHECKED) refuses nothing, and its path goes to the NOTES. */ -}}
{{- $problems := dict "list" list -}}
{{- $unchecked := dict -}}
{{- $groups := dict -}}
{{- range $f := .found -}}
{{- $key := printf "%s|%s" $f.at (toJson $f.code) -}}
{{- $g := get $groups $key | default (dict "code" $f.code "at" $f.at "values" dict) -}}
{{- $_ := set $g.values (ternary "" (trimPrefix (printf "%s." $f.at) $f.path) (eq $f.path $f.at)) $f.value -}}
{{- $_ := set $groups $key $g -}}
{{- end -}}
{{- range $key, $g := $groups -}}
{{- $m := ternary $g.code dict (kindIs "map" $g.code) -}}
{{- if hasKey $m "unchecked" -}}
{{- $_ := set $unchecked $g.at $m.unchecked -}}
{{- else -}}
{{- with include "emqx-ee.emqxCheck" (dict "code" $g.code "at" $g.at "values" $g.values "known" $.known) -}}
{{- $_ := set $problems "list" (concat $problems.list (splitList "\n" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- include "emqx-ee.rootChecks" (dict "user" .user "problems" $problems "check" .check) -}}
{{- include "emqx-ee.requiredChecks" (dict "s" .s "reached" .reached "given" .given "opaque" .opaque "q" .q "problems" $problems "check" .check) -}}
{{- toJson (dict "problems" $problems.list "unchecked" $unchecked) -}}
