#!/usr/bin/env bash
# The real node's images, built here from their inputs without a registry, as one-layer OCI tarballs
# (scripts/oci_image.py) that scripts/node.sh imports into containerd:
#   pause   docker.io/emqx-ee-local/pause:TAG, Kubernetes' own pause.c (build/pause/linux of
#           k8s.io/kubernetes at KUBERNETES_VERSION, its Makefile's TAG and CFLAGS) linked statically:
#           the sandbox image of every pod
#   debian  docker.io/emqx-ee-local/debian-python:NODE_IMAGE_SUITE, Debian's minbase plus python3
#           (debootstrap from the machine's apt mirror)
#   standin docker.io/emqx-ee-local/emqx-standin:HASH, Debian's minbase plus python3, python3-yaml,
#           python3-dnspython (dns discovery) and mosquitto, with the EMQX stand-in
#           (scripts/node/emqx_standin, a MODEL of EMQX, not EMQX) run by /opt/emqx/bin/emqx, the harness's
#           reader of EMQX's environment (tests/harness/emqx_config.py) and EMQX's schema data; tagged with
#           the hash of its inputs
# Usage:
#   scripts/node-image.sh all          build what is missing; print the tarballs' paths, one a line
#   scripts/node-image.sh pause|debian|standin build that one; print its tarball's path
#   scripts/node-image.sh ref NAME     print the image name pods use
#   scripts/node-image.sh digest NAME  print the digest of the cached tarball (its manifest's)
#   scripts/node-image.sh path NAME    print the path of the cached tarball
#   scripts/node-image.sh rebuilt NAME print the digest that the second build of the cached image gave
#   scripts/node-image.sh verify NAME  rebuild the cached image once more in a scratch directory, from the
#                                      same inputs, and fail unless it is the same tarball byte for byte
# Cached in $CACHE/images under a hash of their inputs (the sources, the compiler or the Debian suite,
# package list and mirror, and the scripts that build and pack them): the same inputs give the same
# tarball, so a cached one is reused. The Debian packages are inputs too: they are downloaded once per
# image and key (debootstrap --make-tarball, the only step that reads the mirror) and kept beside the image
# as NAME-HASH.debs.tgz, so every build of it unpacks the same .debs offline. The mirror moves with
# Debian's point releases; an emptied cache then downloads newer packages and makes a new image under the
# same inputs' hash.
# Reproducible by construction and by check: an image enters the cache only after a second build from the
# same inputs, in another scratch directory, gave the same tarball byte for byte; NAME-HASH.tar.rebuilt
# records that second build's digest. When the two differ, nothing is cached, the build fails naming both
# digests, and the log lists the entries that differ. One line per image; the full output goes to
# $CACHE/logs/image-NAME-HASH.log.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

IMAGES="$CACHE/images"
PY="$CACHE/venv/bin/python"
[[ -x $PY ]] || PY=python3
REGISTRY=docker.io/emqx-ee-local
DEBIAN_PACKAGES=python3
STANDIN_PACKAGES="python3 python3-yaml python3-dnspython mosquitto"
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

# debs NAME: the tarball of the Debian packages NAME is made of (only the pause image has none), downloaded from
# the machine's mirror once for the image's key and kept in the cache; prints its path.
debs() {
  local name=$1 out m scratch packages
  case $name in
    debian) packages=$DEBIAN_PACKAGES ;;
    standin) packages=$STANDIN_PACKAGES ;;
    *) return 0 ;;
  esac
  out="$IMAGES/$name-$(key "$name").debs.tgz"
  if [[ ! -f $out ]]; then
    m=$(mirror)
    [[ -n $m ]] || { echo "no apt mirror found in /etc/apt/sources.list*" >&2; return 1; }
    scratch=$(mktemp -d "$IMAGES/.debs-XXXXXX")
    if ! debootstrap --variant=minbase --include="${packages// /,}" --make-tarball="$scratch/debs.tgz" \
      "$NODE_IMAGE_SUITE" "$scratch/work" "$m" >&2 || ! mv "$scratch/debs.tgz" "$out"; then
      rm -rf "$scratch"
      return 1
    fi
    rm -rf "$scratch"
  fi
  echo "$out"
}

# minbase ROOTFS PACKAGES DEBS: Debian's minbase plus PACKAGES in ROOTFS, from the kept .debs (no download),
# without what debootstrap leaves that is not the image: apt's lists and caches, logs. The mirror still
# names the image's apt source.
minbase() {
  debootstrap --variant=minbase --include="${2// /,}" --unpack-tarball="$3" "$NODE_IMAGE_SUITE" "$1" "$(mirror)" &&
    rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/ldconfig/* "$1"/var/log/*
}

# bytecode ROOTFS [DIR...]: compile every module of the image's Python (its sys.path under /usr/lib) and of the
# DIRs, with the image's own python3, as bytecode checked by the source's hash. The packer stamps every file
# with one mtime (scripts/oci_image.py), which leaves Debian's timestamp-checked .pyc files stale, and the
# containers' read-only root keeps Python from writing new ones: every python3 in a pod would otherwise compile
# each module it imports, at every start. Isolated (-I) from the caller's PYTHON* variables: a
# PYTHONPYCACHEPREFIX (scripts/test.sh sets one) would put it under that prefix inside the image instead.
bytecode() {
  local root=$1
  shift
  chroot "$root" /usr/bin/python3 -I - "$@" <<'PY'
import compileall, os, py_compile, sys
dirs = [p for p in sys.path if p.startswith("/usr/lib/python3") and os.path.isdir(p)] + sys.argv[1:]
for d in dirs:
    compileall.compile_dir(d, quiet=2, force=True, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
PY
}

build_debian() { # build_debian ROOTFS OUT DEBS
  minbase "$1" "$DEBIAN_PACKAGES" "$3" && bytecode "$1" || return 1
  "$PY" "$ROOT/scripts/oci_image.py" "$1" "$2" --ref "$(ref debian)" --cmd python3
}

build_standin() { # build_standin ROOTFS OUT DEBS
  local lib=/opt/emqx/lib/standin
  minbase "$1" "$STANDIN_PACKAGES" "$3" || return 1
  local s="$ROOT/scripts/node/emqx_standin"
  # EMQX's layout: bin/emqx, etc/certs (the default ssl_options files), data and log (mounted by the chart).
  mkdir -p "$1/opt/emqx/bin" "$1/opt/emqx/etc/certs" "$1/opt/emqx/data" "$1/opt/emqx/log" \
    "$1$lib/harness" "$1$lib/tools/emqx_schema/data" || return 1
  install -m 0644 "$s/emqx.py" "$1$lib/emqx.py" &&
    install -m 0644 "$s"/certs/*.pem "$1/opt/emqx/etc/certs/" &&
    install -m 0644 "$ROOT/tests/harness/emqx_config.py" "$1$lib/harness/emqx_config.py" &&
    install -m 0644 "$ROOT/tools/emqx_schema/data/emqx-schema-6.2.2.json" "$1$lib/tools/emqx_schema/data/" || return 1
  # The harness package as the stand-in imports it: its reader, and the two paths it takes from harness.tools.
  : >"$1$lib/harness/__init__.py"
  printf 'from pathlib import Path\n\nROOT = Path("%s")\nCHART = ROOT / "chart"\n' "$lib" >"$1$lib/harness/tools.py"
  # bin/emqx runs the stand-in as an imported module, whose bytecode is in the image (a script's is not kept).
  printf '#!/usr/bin/python3\nimport sys\n\nsys.path.insert(0, "%s")\nimport emqx\n\nsys.exit(emqx.main(sys.argv[1:]))\n' \
    "$lib" >"$1/opt/emqx/bin/emqx" && chmod 0755 "$1/opt/emqx/bin/emqx" && bytecode "$1" "$lib" || return 1
  ln -s /opt/emqx/bin/emqx "$1/usr/local/bin/emqx" # drain.sh calls `emqx` from PATH
  # EMQX's image runs as uid 1000 with HOME /opt/emqx; the chart mounts /home/emqx.
  chown -R 1000:1000 "$1/opt/emqx/data" "$1/opt/emqx/log" || return 1
  "$PY" "$ROOT/scripts/oci_image.py" "$1" "$2" --ref "$(ref standin)" --cmd /opt/emqx/bin/emqx --cmd foreground
}

digest_of() { "$PY" "$ROOT/scripts/oci_image.py" digest "$1"; }

# same_build NAME SCRATCH ONE TWO: true when the tarballs ONE and TWO of NAME are the same bytes; otherwise
# says so, naming both digests and the entries that differ.
same_build() {
  cmp -s "$3" "$4" && return 0
  echo "image $1 is not reproducible: two builds from the same inputs gave $(digest_of "$3") and $(digest_of "$4")"
  echo "entries that differ:"
  "$PY" "$ROOT/scripts/oci_image.py" diff "$3" "$4" | sed 's/^/  /'
  return 1
}

# build_checked NAME SCRATCH OUT: build NAME twice in SCRATCH, each time from an empty root filesystem at
# another path, and cache the result as OUT (with its .rebuilt record) only if both are the same bytes.
build_checked() {
  local name=$1 scratch=$2 out=$3 inputs
  inputs=$(debs "$name") || return 1
  "build_$name" "$scratch/one/rootfs" "$scratch/one.tar" "$inputs" || return 1
  echo "built $(digest_of "$scratch/one.tar"); building again from the same inputs in $scratch/two"
  "build_$name" "$scratch/two/rootfs" "$scratch/two.tar" "$inputs" || return 1
  same_build "$name" "$scratch" "$scratch/one.tar" "$scratch/two.tar" || return 1
  digest_of "$scratch/two.tar" >"$out.rebuilt.part" && mv "$out.rebuilt.part" "$out.rebuilt" &&
    mv "$scratch/one.tar" "$out"
}

# verify_cached NAME SCRATCH OUT: build NAME once more in SCRATCH and compare it with the cached OUT.
verify_cached() {
  local name=$1 scratch=$2 out=$3 inputs
  inputs=$(debs "$name") || return 1
  "build_$name" "$scratch/again/rootfs" "$scratch/again.tar" "$inputs" || return 1
  same_build "$name" "$scratch" "$out" "$scratch/again.tar" || return 1
  echo "rebuilt $(digest_of "$scratch/again.tar"): the same tarball as the cached $out"
}

# in_scratch NAME WHAT FUNCTION: run FUNCTION NAME SCRATCH TARBALL as one step, in a scratch directory of the
# cache that goes afterwards (the cached tarball itself is only ever replaced whole, by a rename).
in_scratch() {
  local name=$1 what=$2 fn=$3 out k scratch rc=0
  out=$(tarball "$name"); k=$(key "$name")
  mkdir -p "$IMAGES"
  scratch=$(mktemp -d "$IMAGES/.build-XXXXXX")
  step "$LOGS/image-$name-$k.log" "image $(ref "$name"): $what ($k)" "$fn" "$name" "$scratch" "$out" || rc=$?
  rm -rf "$scratch"
  return "$rc"
}

image() { # image NAME: build NAME unless cached; print its tarball
  local name=$1 out
  out=$(tarball "$name")
  if [[ -f $out && -f $out.rebuilt ]]; then
    log "image $(ref "$name") cached"
  else
    in_scratch "$name" "building from its inputs, twice" build_checked || return 1
  fi
  echo "$out"
}

cached() { # cached NAME: the tarball of NAME, which must be in the cache
  local out; out=$(tarball "$1")
  [[ -f $out ]] || die "no cached image $out (build it with: scripts/node-image.sh $1)"
  echo "$out"
}

case ${1:-} in
  all) image pause && image debian && image standin ;;
  pause | debian | standin) image "$1" ;;
  ref) ref "${2:-}" ;;
  digest) digest_of "$(cached "${2:-}")" ;;
  path) cached "${2:-}" ;;
  rebuilt)
    out=$(cached "${2:-}")
    [[ -f $out.rebuilt ]] || die "$out has no record of a second build ($out.rebuilt)"
    cat "$out.rebuilt" ;;
  verify) cached "${2:-}" >/dev/null && in_scratch "$2" "rebuilding from its inputs to compare" verify_cached ;;
  *) echo "usage: $0 all|pause|debian|standin|ref NAME|digest NAME|path NAME|rebuilt NAME|verify NAME" >&2; exit 2 ;;
esac
