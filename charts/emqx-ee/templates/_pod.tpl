{{- /*
The one pod template of every EMQX node, cores (the StatefulSet) and replicants (their Deployment). What
differs by role is this list, and nothing else:
  - labels: the role's selector labels and `app.kubernetes.io/component: <role>` (emqx-ee.rolePodLabels);
  - node name: a core is EMQX_NAME@<pod>.<headless Service> (its stable DNS name); a replicant has no stable
    DNS name and is EMQX_NAME@<pod IP>, with EMQX_NODE__ROLE=replicant (emqx-ee.emqxEnv);
  - data: a core keeps /opt/emqx/data on its claim (an emptyDir without persistence); a replicant keeps no
    data, always an emptyDir;
  - nothing for the drain before stop (templates/_drain.tpl): cores and replicants both serve clients and
    keep the evacuation state in their data directory across container restarts;
  - resources and scheduling: `resources`, `nodeSelector`, `tolerations`, `affinity` (or
    `podAntiAffinityPreset`) and `topologySpreadConstraints` for cores; the same keys under `replicants` for
    replicants, whose default affinity spreads them over hosts (preferred).
*/ -}}

{{- /* The cores' pod template (root context): what the StatefulSet runs and NOTES compare with the live one. */ -}}
{{- define "emqx-ee.podTemplate" -}}
{{- include "emqx-ee.rolePodTemplate" (dict "ctx" . "role" "core") -}}
{{- end -}}

{{- /* Pod labels of a role: its selector labels, membership, the role, and podLabels. Versions stay out, so a
chart upgrade alone never rolls the brokers. Called with dict "ctx" "role". */ -}}
{{- define "emqx-ee.rolePodLabels" -}}
{{- if eq .role "core" -}}
{{ include "emqx-ee.selectorLabels" .ctx }}
{{- else -}}
{{ include "emqx-ee.replicantSelectorLabels" .ctx }}
{{- end }}
{{ include "emqx-ee.memberLabels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- with .ctx.Values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- /* Scheduling of a role's pods (YAML of the pod spec keys, possibly empty). Called with dict "ctx" "role". */ -}}
{{- define "emqx-ee.roleScheduling" -}}
{{- $core := eq .role "core" -}}
{{- $v := ternary .ctx.Values .ctx.Values.replicants $core -}}
{{- $selector := include (ternary "emqx-ee.selectorLabels" "emqx-ee.replicantSelectorLabels" $core) .ctx | fromYaml -}}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- $preset := ternary .ctx.Values.podAntiAffinityPreset "soft" $core -}}
{{- if $v.affinity }}
affinity:
  {{- toYaml $v.affinity | nindent 2 }}
{{- else if ne $preset "none" }}
affinity:
  podAntiAffinity:
    {{- if eq $preset "hard" }}
    requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- toYaml $selector | nindent 12 }}
    {{- else }}
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- toYaml $selector | nindent 14 }}
    {{- end }}
{{- end }}
{{- with $v.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- range . }}
  {{- $constraint := deepCopy . }}
  {{- if not $constraint.labelSelector }}
  {{- $_ := set $constraint "labelSelector" (dict "matchLabels" $selector) }}
  {{- end }}
  - {{- toYaml $constraint | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{- /* The pod template of a role (core or replicant). Called with dict "ctx" "role". */ -}}
{{- define "emqx-ee.rolePodTemplate" -}}
{{- $core := eq .role "core" -}}
{{- with .ctx -}}
metadata:
  labels:
    {{- include "emqx-ee.rolePodLabels" (dict "ctx" . "role" $.role) | nindent 4 }}
  annotations:
    # The EMQX settings (in the env below): NOTES tell from it whether they changed.
    checksum/config: {{ include "emqx-ee.configEnv" . | sha256sum }}
    {{- if and .Values.license.key (not .Values.license.existingSecret) }}
    # EMQX reads EMQX_LICENSE__KEY at boot: a new key in the chart's Secret rolls the nodes to load it.
    checksum/license: {{ .Values.license.key | sha256sum }}
    {{- end }}
    {{- if and .Values.apiKey.enabled (not .Values.apiKey.existingSecret) }}
    # EMQX reads the API bootstrap file at boot: a new key name or role rolls the nodes to load it.
    checksum/api-key: {{ printf "%s:%s" .Values.apiKey.key .Values.apiKey.role | sha256sum }}
    {{- end }}
    {{- if include "emqx-ee.mqttAuthOn" . }}
    # EMQX's base.hocon with the chart's MQTT authenticator, mounted from here (downward API), so each
    # revision keeps its own; it also tells the next upgrade that the release has it (emqx-ee.mqttAuthOn).
    emqx-ee/base-hocon: {{ include "emqx-ee.baseHocon" . | quote }}
    {{- end }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "emqx-ee.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
  {{- with .Values.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with include "emqx-ee.roleScheduling" (dict "ctx" . "role" $.role) | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  {{- with .Values.extraInitContainers }}
  initContainers:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: emqx
      image: {{ include "emqx-ee.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      {{- /* Drain before stop and the boot step that undoes a saved evacuation (templates/_drain.tpl). */}}
      {{- include "emqx-ee.drainContainer" . | nindent 6 }}
      {{- with .Values.containerSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        {{- range $name, $listener := (include "emqx-ee.listeners" . | fromJson).listeners }}
        {{- if $listener.enabled }}
        - name: {{ $name }}
          containerPort: {{ $listener.containerPort }}
        {{- end }}
        {{- end }}
        - name: dashboard
          containerPort: {{ .Values.dashboard.containerPort }}
        - name: erlang-dist
          containerPort: 4370
        - name: gen-rpc
          containerPort: 5369
      env:
        {{- include "emqx-ee.emqxEnv" (dict "ctx" . "role" $.role) | fromJsonArray | toYaml | nindent 8 }}
        {{- with .Values.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .Values.extraEnvFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- range $kind := list "startup" "readiness" "liveness" }}
      {{- $probe := get $.ctx.Values (printf "%sProbe" $kind) }}
      {{- if $probe.enabled }}
      {{ $kind }}Probe:
        httpGet:
          path: /status
          port: dashboard
          {{- if include "emqx-ee.dashboardHttps" $.ctx }}
          scheme: HTTPS
          {{- end }}
        {{- toYaml (omit $probe "enabled") | nindent 8 }}
      {{- end }}
      {{- end }}
      {{- with ternary .Values.resources .Values.replicants.resources $core }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      volumeMounts:
        - name: emqx-data
          mountPath: /opt/emqx/data
        # Writable paths next to a read-only root filesystem.
        - name: emqx-log
          mountPath: /opt/emqx/log
        - name: tmp
          mountPath: /tmp
        - name: home
          mountPath: /home/emqx
        {{- if .Values.tls.enabled }}
        - name: tls
          mountPath: {{ include "emqx-ee.tlsDir" . }}
          readOnly: true
        {{- end }}
        {{- if .Values.apiKey.enabled }}
        - name: api-key
          mountPath: {{ include "emqx-ee.apiKeyDir" . }}
          readOnly: true
        {{- end }}
        {{- if include "emqx-ee.mqttAuthOn" . }}
        - name: base-hocon
          mountPath: /opt/emqx/etc/base.hocon
          subPath: base.hocon
          readOnly: true
        - name: mqtt-users
          mountPath: {{ include "emqx-ee.mqttAuthDir" . }}
          readOnly: true
        {{- end }}
        {{- if eq .Values.discovery "k8s" }}
        - name: kube-api-access
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount
          readOnly: true
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    {{- with .Values.extraContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  volumes:
    {{- if or (not $core) (not .Values.persistence.enabled) }}
    # No claim: the data lives and dies with the pod (replicants keep no data).
    - name: emqx-data
      emptyDir:
        sizeLimit: {{ .Values.persistence.emptyDirSizeLimit }}
    {{- end }}
    - name: emqx-log
      emptyDir:
        sizeLimit: 1Gi
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
    - name: home
      emptyDir:
        sizeLimit: 16Mi
    {{- if eq .Values.discovery "k8s" }}
    - {{- include "emqx-ee.apiTokenVolume" . | nindent 6 }}
    {{- end }}
    {{- if .Values.apiKey.enabled }}
    {{- $apiKey := include "emqx-ee.apiKeySecretRef" . | fromJson }}
    - name: api-key
      secret:
        secretName: {{ $apiKey.name }}
        defaultMode: 0440
        items:
          - key: {{ $apiKey.key }}
            path: bootstrap.txt
    {{- end }}
    {{- if include "emqx-ee.mqttAuthOn" . }}
    {{- $users := include "emqx-ee.mqttUsersSecretRef" . | fromJson }}
    - name: base-hocon
      downwardAPI:
        defaultMode: 0444
        items:
          - path: base.hocon
            fieldRef:
              fieldPath: metadata.annotations['emqx-ee/base-hocon']
    # The users file keeps the .csv name: EMQX picks its reader by the extension.
    - name: mqtt-users
      secret:
        secretName: {{ $users.name }}
        defaultMode: 0440
        items:
          - key: {{ $users.key }}
            path: users.csv
    {{- end }}
    {{- if .Values.tls.enabled }}
    # The certificate, read-only; a renewed Secret reaches the files without a restart.
    - name: tls
      secret:
        secretName: {{ include "emqx-ee.tlsSecretName" . }}
        defaultMode: 0440
        items:
          - key: tls.crt
            path: tls.crt
          - key: tls.key
            path: tls.key
          {{- if .Values.tls.verifyClients }}
          - key: ca.crt
            path: ca.crt
          {{- end }}
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}

{{- /* Pod-level settings of the chart's run-once pods, the helm test Pod and the hook Jobs (YAML of pod spec
keys, possibly empty): the cores' security context and pull secrets, and the nodes the cores may run on (a
dedicated, tainted pool included). */ -}}
{{- define "emqx-ee.runOncePodSettings" -}}
{{- with .Values.podSecurityContext }}
securityContext:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
