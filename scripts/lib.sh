# Shared shell helpers for scripts/*.sh. Source it; it sets up the tool cache and PATH.
# The cache lives outside the repository so that clean clones and CI reuse built tools.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
CACHE=${EMQX_EE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-ee}
BIN="$CACHE/bin"
# The real node's CNI plugins: outside $BIN, whose `bridge` and `loopback` would shadow iproute2's on PATH.
CNI_BIN="$CACHE/cni/bin"
# Full output of every build and install; the terminal gets one line per tool.
LOGS="$CACHE/logs"
mkdir -p "$BIN"
export PATH="$BIN:$PATH"
export CGO_ENABLED=0

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# have_version BINARY VERSION: true when BINARY in $BIN reports VERSION.
# Each build writes BINARY.version next to the binary; that stamp is the source of truth.
have_version() { [[ -x "$BIN/$1" && "$(cat "$BIN/$1.version" 2>/dev/null)" == "$2" ]]; }

stamp() { echo "$2" >"$BIN/$1.version"; }

# step LOGFILE WHAT COMMAND...: run a long, noisy COMMAND (a build, an install, a cluster start) with all
# its output in LOGFILE, and print one progress line instead: `==> WHAT ... done in 83 s`. On failure:
# the last 20 lines of LOGFILE (Go's download progress left out), its path, and COMMAND's non-zero
# status for the caller.
# COMMAND runs in a subshell with set -e. Bash ignores set -e in everything run under `if`, `!`, `&&`
# or `||` (and callers write `if ! go_install ...`), so COMMAND must also fail through explicit paths
# (`a && b`, `|| return 1`), as the build helpers below do.
step() {
  local logfile=$1 what=$2 start=$SECONDS rc=0 errexit=${-//[^e]/}
  shift 2
  mkdir -p "$(dirname "$logfile")"
  printf '\033[1m==> %s ...\033[0m' "$what" >&2
  set +e # to collect the status below; `(...) || rc=$?` would switch set -e off inside
  (set -e; "$@") >"$logfile" 2>&1
  rc=$?
  if [[ -n $errexit ]]; then set -e; fi
  if ((rc == 0)); then
    printf ' done in %d s\n' $((SECONDS - start)) >&2
    return 0
  fi
  printf ' failed after %d s (exit %d); the end of its log:\n' $((SECONDS - start)) "$rc" >&2
  # Go's `go: downloading` lines would crowd out the error at the end.
  { grep -v '^go: downloading ' "$logfile" || true; } | tail -n 20 | sed 's/^/    | /' >&2
  log "full log: $logfile"
  return "$rc"
}

# reuse NAME VERSION VERSION_OF [COMMAND]: true, with one line saying so, when $BIN/NAME is stamped
# VERSION, or when the first COMMAND (default NAME) on PATH outside $BIN reports VERSION (what
# `VERSION_OF PATH` prints): that one is linked as $BIN/NAME and stamped, so nothing is built that the
# machine already has at the pinned version.
reuse() {
  local name=$1 version=$2 version_of=$3 command=${4:-$1} found
  if have_version "$name" "$version"; then
    log "$name $version cached"
    return 0
  fi
  while read -r found; do # ends empty when every COMMAND on PATH is in $BIN
    [[ $found == "$BIN/"* ]] || break
  done < <(type -aP "$command")
  [[ -n $found ]] || return 1
  [[ "$("$version_of" "$found" 2>/dev/null)" == "$version" ]] || return 1
  ln -sf "$found" "$BIN/$name" && stamp "$name" "$version" && log "$name $version: reusing $found"
}

# sources_hash FILE...: a short hash of FILEs' contents, for the version stamp of a tool built from this
# repository's sources (a change to them rebuilds it, nothing else does).
sources_hash() { cat "$@" | sha256sum | cut -c1-12; }

# helm_ldflags MAJOR VERSION: the -X flags of a helm build (helm, helm3 and their batch programs).
helm_ldflags() {
  local pkg="helm.sh/helm/v$1"
  local ldflags="-X $pkg/internal/version.version=$2"
  if [[ $1 == 3 ]]; then
    # Helm 3's Makefile injects the Kubernetes version it was tested with; a plain build
    # would claim Kubernetes v1.20 in .Capabilities and in lint.
    local kminor=${KUBERNETES_VERSION#v1.}; kminor=${kminor%%.*}
    ldflags+=" -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$kminor"
    ldflags+=" -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$kminor"
  fi
  echo "$ldflags"
}

# go_install BINARY MODULE/PKG@VERSION [ldflags]: build one Go tool into $BIN at a pinned version
# (one progress line; the Go output in $LOGS/BINARY-VERSION.log).
go_install() {
  local name=$1 spec=$2 ldflags=${3:-} version=${2##*@}
  if have_version "$name" "$version"; then
    log "$name $version cached"
    return 0
  fi
  step "$LOGS/$name-$version.log" "$name $version: building ${spec%@*} from the Go module proxy" \
    _go_install "$name" "$spec" "$ldflags"
}
_go_install() {
  local name=$1 spec=$2 ldflags=$3 version=${2##*@} tmp rc=0
  tmp=$(mktemp -d) || return 1
  # Built aside and moved in: a failed build leaves neither a binary nor a stamp, and the move replaces a
  # link to a reused binary without writing through it.
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w $ldflags" "$spec" &&
    mv "$tmp/$(basename "${spec%@*}")" "$BIN/$name" &&
    stamp "$name" "$version" || rc=$?
  rm -rf "$tmp"
  return "$rc"
}

# go_wrapped BINARY MODULE VERSION PACKAGE [ldflags]: build a main package whose module cannot be
# `go install`ed directly (replace directives, or a module path the proxy will not list), through
# a throwaway wrapper module in the cache that requires MODULE@VERSION.
go_wrapped() {
  local name=$1 module=$2 version=$3
  if have_version "$name" "$version"; then
    log "$name $version cached"
    return 0
  fi
  step "$LOGS/$name-$version.log" "$name $version: building from $module through a wrapper module" \
    _go_wrapped "$@"
}
_go_wrapped() {
  local name=$1 version=$3 pkg=$4 ldflags=${5:-} src="$CACHE/src/$1-$3"
  mkdir -p "$src" &&
    printf 'module local/%s\n\ngo 1.26\n' "$name" >"$src/go.mod" &&
    echo "package wrapper" >"$src/doc.go" &&
    rm -f "$BIN/$name" "$BIN/$name.version" && # `go build -o` could write through a link to a reused binary
    (cd "$src" && go get "$pkg@$version" && go build -trimpath -ldflags "-s -w $ldflags" -o "$BIN/$name" "$pkg") &&
    stamp "$name" "$version"
}

# go_module NAME MODULE VERSION: MODULE@VERSION in the Go module cache (sources only, nothing is built;
# the tests read files from it). The check reads the cache's layout: MODULE@VERSION under GOMODCACHE
# (module paths with capitals are escaped there; these have none).
go_module() {
  local name=$1 module=$2 version=$3
  if [[ -d "$(go env GOMODCACHE)/$module@$version" ]]; then
    log "$name $version in the Go module cache"
    return 0
  fi
  step "$LOGS/$name-$version.log" "$name $version: downloading $module into the Go module cache" \
    go mod download "$module@$version"
}

# make_venv DIR REQUIREMENTS: a fresh Python venv in DIR with REQUIREMENTS installed from PyPI (run it
# under step: pip is verbose).
make_venv() { python3 -m venv --clear "$1" && "$1/bin/pip" install --disable-pip-version-check -r "$2"; }

# kubernetes BINARY...: the named binaries of k8s.io/kubernetes at KUBERNETES_VERSION (kubectl may come from
# PATH). k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with local paths), so
# a throwaway wrapper module requires it and maps each staging module to its v0.x tag. The control plane,
# kubectl, the kubelet and kube-proxy all build in that one module and share its Go build cache.
kubernetes() {
  local missing=() b
  for b in "$@"; do
    if [[ $b == kubectl ]]; then
      reuse kubectl "$KUBERNETES_VERSION" kubectl_version || missing+=(kubectl)
    elif have_version "$b" "$KUBERNETES_VERSION"; then
      log "$b $KUBERNETES_VERSION cached"
    else
      missing+=("$b")
    fi
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  step "$LOGS/kubernetes-$KUBERNETES_VERSION.log" "${missing[*]} $KUBERNETES_VERSION: building from k8s.io/kubernetes through a wrapper module" \
    build_kubernetes "${missing[@]}"
}
kubectl_version() { "$1" version --client -o json | sed -n 's/^ *"gitVersion": "\([^"]*\)".*/\1/p'; }

# build_kubernetes BINARY...: runs under step, so every failure is an explicit return.
build_kubernetes() {
  local src="$CACHE/src/kubernetes-$KUBERNETES_VERSION" gomod b
  mkdir -p "$src" || return 1
  echo "wrapper module for k8s.io/kubernetes $KUBERNETES_VERSION in $src"
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') || return 1
  [[ -f $gomod ]] || { echo "go mod download k8s.io/kubernetes@$KUBERNETES_VERSION gave no go.mod"; return 1; }
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  {
    echo "module local/kubetools"
    grep -E '^(go|godebug) ' "$gomod"
    echo "require k8s.io/kubernetes $KUBERNETES_VERSION"
    echo "replace ("
    # Every local staging replace (k8s.io/x => ./staging/...) becomes k8s.io/x => k8s.io/x v0.Y.Z.
    sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } >"$src/go.mod" || return 1
  echo "package kubetools" >"$src/doc.go" || return 1
  local pkgs=(); for b in "$@"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  (cd "$src" && go get "${pkgs[@]/%/@$KUBERNETES_VERSION}") || return 1
  local vpkg=k8s.io/component-base/version
  local ldflags="-s -w -X $vpkg.gitVersion=$KUBERNETES_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  # Cold: tens of minutes on 2 cores; later builds reuse the Go build cache. Links to reused binaries
  # go first: `go build -o` could write through them.
  for b in "$@"; do rm -f "$BIN/$b" "$BIN/$b.version" || return 1; done
  (cd "$src" && go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${pkgs[@]}") || return 1
  for b in "$@"; do stamp "$b" "$KUBERNETES_VERSION" || return 1; done
}

# apt_install PACKAGE: one Debian package with apt (through sudo when not root), refreshing the lists once
# when the package is not found.
apt_install() {
  local apt="apt-get"
  [[ $(id -u) == 0 ]] || apt="sudo apt-get"
  $apt install -y --no-install-recommends "$1" || { $apt update && $apt install -y --no-install-recommends "$1"; }
}
