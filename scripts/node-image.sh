#!/usr/bin/env bash
# The real node's images, built here from their inputs without a registry, as one-layer OCI tarballs
# (scripts/oci_image.py) that scripts/node.sh imports into containerd:
#   pause   docker.io/emqx-ee-local/pause:TAG, Kubernetes' own pause.c (build/pause/linux of
#           k8s.io/kubernetes at KUBERNETES_VERSION, its Makefile's TAG and CFLAGS) linked statically:
#           the sandbox image of every pod
#   debian  docker.io/emqx-ee-local/debian-python:NODE_IMAGE_SUITE, Debian's minbase plus python3
#           (debootstrap from the machine's apt mirror)
#   standin docker.io/emqx-ee-local/emqx-standin:HASH, Debian's minbase plus python3, python3-yaml and
#           mosquitto, with the EMQX stand-in (scripts/node/emqx_standin, a MODEL of EMQX, not EMQX) at
#           /opt/emqx/bin/emqx, the harness's reader of EMQX's environment (tests/harness/emqx_config.py)
#           and EMQX's schema data; tagged with the hash of its inputs
# Usage:
#   scripts/node-image.sh all          build what is missing; print the tarballs' paths, one a line
#   scripts/node-image.sh pause|debian|standin build that one; print its tarball's path
#   scripts/node-image.sh ref NAME     print the image name pods use
#   scripts/node-image.sh digest NAME  print the digest of the cached tarball (its manifest's)
# Cached in $CACHE/images under a hash of their inputs (the sources, the compiler or the Debian suite,
# package list and mirror, and the scripts that build and pack them): the same inputs give the same
# tarball, so a cached one is reused. The Debian image's contents follow the mirror, which moves with
# Debian's point releases: a rebuild after one is a new image with the same inputs' hash, until the cache
# is cleared. One line per image; the full output goes to $CACHE/logs/image-NAME-HASH.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

IMAGES="$CACHE/images"
PY="$CACHE/venv/bin/python"
[[ -x $PY ]] || PY=python3
REGISTRY=docker.io/emqx-ee-local
DEBIAN_PACKAGES=python3
STANDIN_PACKAGES="python3 python3-yaml mosquitto"
# Every file the stand-in image holds beyond Debian's packages (its inputs, hashed into its tag).
STANDIN_FILES=(scripts/node/emqx_standin/emqx.py scripts/node/emqx_standin/certs/cacert.pem
  scripts/node/emqx_standin/certs/cert.pem scripts/node/emqx_standin/certs/key.pem
  tests/harness/emqx_config.py tools/emqx_schema/data/emqx-schema-6.2.2.json)
# The apt mirror of the machine (deb822 sources first, then sources.list), for debootstrap.
mirror() {
  { sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" {print $2}' /etc/apt/sources.list 2>/dev/null; } | grep -v security | head -n1 || true
}

kubernetes_dir() { go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }
pause_tag() { sed -n 's/^TAG ?= *//p' "$(kubernetes_dir)/build/pause/Makefile"; }

ref() {
  case $1 in
    pause) echo "$REGISTRY/pause:$(pause_tag)" ;;
    debian) echo "$REGISTRY/debian-python:$NODE_IMAGE_SUITE" ;;
    standin) echo "$REGISTRY/emqx-standin:$(key standin)" ;;
    *) die "unknown image '$1' (want pause, debian or standin)" ;;
  esac
}

# key NAME: the hash of NAME's inputs.
key() {
  local packer=("$ROOT/scripts/oci_image.py" "$ROOT/scripts/node-image.sh")
  case $1 in
    pause) { cat "$(kubernetes_dir)/build/pause/linux/pause.c" "${packer[@]}"; gcc --version | head -n1; pause_tag; } ;;
    debian) { cat "${packer[@]}"; echo "$NODE_IMAGE_SUITE $DEBIAN_PACKAGES $(mirror)"; } ;;
    standin) { cat "${packer[@]}"; (cd "$ROOT" && sha256sum "${STANDIN_FILES[@]}");
      echo "$NODE_IMAGE_SUITE $STANDIN_PACKAGES $(mirror)"; } ;;
  esac | sha256sum | cut -c1-16
}

tarball() { echo "$IMAGES/$1-$(key "$1").tar"; }

build_pause() { # build_pause ROOTFS OUT
  local src; src="$(kubernetes_dir)/build/pause/linux/pause.c"
  mkdir -p "$1" && gcc -Os -Wall -Werror -static "-DVERSION=v$(pause_tag)-emqx-ee" -o "$1/pause" "$src" &&
    "$PY" "$ROOT/scripts/oci_image.py" "$1" "$2" --ref "$(ref pause)" --entrypoint /pause
}

build_debian() { # build_debian ROOTFS OUT
  local m; m=$(mirror)
  [[ -n $m ]] || { echo "no apt mirror found in /etc/apt/sources.list*"; return 1; }
  debootstrap --variant=minbase --include="${DEBIAN_PACKAGES// /,}" "$NODE_IMAGE_SUITE" "$1" "$m" || return 1
  # What debootstrap leaves that is not the image: apt's lists and caches, logs.
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/ldconfig/* "$1"/var/log/* || return 1
  "$PY" "$ROOT/scripts/oci_image.py" "$1" "$2" --ref "$(ref debian)" --cmd python3
}

build_standin() { # build_standin ROOTFS OUT
  local m lib=/opt/emqx/lib/standin; m=$(mirror)
  [[ -n $m ]] || { echo "no apt mirror found in /etc/apt/sources.list*"; return 1; }
  debootstrap --variant=minbase --include="${STANDIN_PACKAGES// /,}" "$NODE_IMAGE_SUITE" "$1" "$m" || return 1
  rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/ldconfig/* "$1"/var/log/* || return 1
  local s="$ROOT/scripts/node/emqx_standin"
  # EMQX's layout: bin/emqx, etc/certs (the default ssl_options files), data and log (mounted by the chart).
  mkdir -p "$1/opt/emqx/bin" "$1/opt/emqx/etc/certs" "$1/opt/emqx/data" "$1/opt/emqx/log" \
    "$1$lib/harness" "$1$lib/tools/emqx_schema/data" || return 1
  install -m 0755 "$s/emqx.py" "$1/opt/emqx/bin/emqx" &&
    install -m 0644 "$s"/certs/*.pem "$1/opt/emqx/etc/certs/" &&
    install -m 0644 "$ROOT/tests/harness/emqx_config.py" "$1$lib/harness/emqx_config.py" &&
    install -m 0644 "$ROOT/tools/emqx_schema/data/emqx-schema-6.2.2.json" "$1$lib/tools/emqx_schema/data/" || return 1
  # The harness package as the stand-in imports it: its reader, and the two paths it takes from harness.tools.
  : >"$1$lib/harness/__init__.py"
  printf 'from pathlib import Path\n\nROOT = Path("%s")\nCHART = ROOT / "chart"\n' "$lib" >"$1$lib/harness/tools.py"
  ln -s /opt/emqx/bin/emqx "$1/usr/local/bin/emqx" # drain.sh calls `emqx` from PATH
  # EMQX's image runs as uid 1000 with HOME /opt/emqx; the chart mounts /home/emqx.
  chown -R 1000:1000 "$1/opt/emqx/data" "$1/opt/emqx/log" || return 1
  "$PY" "$ROOT/scripts/oci_image.py" "$1" "$2" --ref "$(ref standin)" --cmd /opt/emqx/bin/emqx --cmd foreground
}

image() { # image NAME: build NAME unless cached; print its tarball
  local name=$1 out k tmp rc=0
  out=$(tarball "$name"); k=$(key "$name")
  if [[ -f $out ]]; then
    log "image $(ref "$name") cached"
  else
    mkdir -p "$IMAGES"
    tmp=$(mktemp -d "$IMAGES/.build-XXXXXX")
    step "$LOGS/image-$name-$k.log" "image $(ref "$name"): building from its inputs ($k)" \
      "build_$name" "$tmp/rootfs" "$out" || rc=$?
    rm -rf "$tmp"
    ((rc == 0)) || return "$rc"
  fi
  echo "$out"
}

case ${1:-} in
  all) image pause && image debian && image standin ;;
  pause | debian | standin) image "$1" ;;
  ref) ref "${2:-}" ;;
  digest)
    out=$(tarball "${2:-}")
    [[ -f $out ]] || die "no cached image $out"
    "$PY" -c 'import json, sys, tarfile; print(json.load(tarfile.open(sys.argv[1]).extractfile("index.json"))["manifests"][0]["digest"])' "$out" ;;
  *) echo "usage: $0 all|pause|debian|standin|ref NAME|digest NAME" >&2; exit 2 ;;
esac
