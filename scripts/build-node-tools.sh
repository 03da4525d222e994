#!/usr/bin/env bash
# Build the real node's tools (scripts/node.sh) at the pinned versions of scripts/versions.env:
#   runc                     github.com/opencontainers/runc, cgo with seccomp (Debian's libseccomp-dev)
#   containerd, ctr,         github.com/containerd/containerd/v2 with tags no_btrfs no_devmapper (the
#   containerd-shim-runc-v2  snapshotter is overlayfs; those two need C libraries this machine lacks)
#   CNI plugins              bridge, loopback, host-local, portmap into $CNI_BIN (not $BIN: `bridge` and
#                            `loopback` would shadow iproute2's commands on PATH)
#   kubelet, kube-proxy      KUBERNETES_VERSION, in the control plane's wrapper module (lib.sh `kubernetes`)
# plus the Debian packages the node uses: iptables (kube-proxy, the portmap and bridge plugins) and
# debootstrap (scripts/node-image.sh). The node runs as root only, so without root this prints one line and
# builds nothing. Idempotent: stamps hold the versions. One line per tool; the full output goes to
# $CACHE/logs/<tool>-<version>.log, whose path and last lines are printed on failure.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [[ $(id -u) != 0 ]]; then
  log "real node: not built (containerd and the kubelet run as root here; this runs as uid $(id -u))"
  exit 0
fi

# debian_packages PACKAGE...: Debian packages (libraries and headers included, which have no binary to
# look for) installed with apt when dpkg does not list them as installed.
debian_packages() {
  local p
  for p in "$@"; do
    if [[ $(dpkg-query -W -f '${Status}' "$p" 2>/dev/null) == "install ok installed" ]]; then
      log "$p present"
    else
      step "$LOGS/apt-$p.log" "$p: installing Debian's package with apt" apt_install "$p" ||
        die "could not install $p; install it with your package manager"
    fi
  done
}

# runc needs cgo for its seccomp support (RuntimeDefault profiles); its Makefile sets main.version.
build_runc() {
  CGO_ENABLED=1 GOFLAGS=-tags=seccomp go_install runc "github.com/opencontainers/runc@$RUNC_VERSION" \
    "-X main.version=${RUNC_VERSION#v}"
}

build_containerd() {
  local module=github.com/containerd/containerd/v2 b
  for b in containerd ctr containerd-shim-runc-v2; do
    GOFLAGS=-tags=no_btrfs,no_devmapper go_install "$b" "$module/cmd/$b@$CONTAINERD_VERSION" \
      "-X $module/version.Version=$CONTAINERD_VERSION -X $module/version.Package=$module"
  done
}

CNI_PLUGINS=(main/bridge main/loopback ipam/host-local meta/portmap)
build_cni() {
  if [[ $(cat "$CNI_BIN/.version" 2>/dev/null) == "$CNI_PLUGINS_VERSION" ]]; then
    log "CNI plugins $CNI_PLUGINS_VERSION cached"
    return 0
  fi
  step "$LOGS/cni-plugins-$CNI_PLUGINS_VERSION.log" \
    "CNI plugins $CNI_PLUGINS_VERSION (${CNI_PLUGINS[*]##*/}): building from the Go module proxy" cni_plugins_into_cache
}
cni_plugins_into_cache() {
  local module=github.com/containernetworking/plugins pkgs=() p
  for p in "${CNI_PLUGINS[@]}"; do pkgs+=("$module/plugins/$p@$CNI_PLUGINS_VERSION"); done
  rm -rf "$CNI_BIN" && mkdir -p "$CNI_BIN" || return 1
  GOBIN="$CNI_BIN" go install -trimpath -ldflags "-s -w -X $module/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" \
    "${pkgs[@]}" || return 1
  echo "$CNI_PLUGINS_VERSION" >"$CNI_BIN/.version"
}

debian_packages libseccomp-dev pkg-config iptables debootstrap
build_runc
build_containerd
build_cni
kubernetes kubelet kube-proxy
