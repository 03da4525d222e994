# Shared shell helpers for scripts/*.sh. Source it; it sets up the tool cache and PATH.
# The cache lives outside the repository so that clean clones and CI reuse built tools.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=versions.env
source "$ROOT/scripts/versions.env"
CACHE=${EMQX_EE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/emqx-ee}
BIN="$CACHE/bin"
mkdir -p "$BIN"
export PATH="$BIN:$PATH"
export CGO_ENABLED=0

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# have_version BINARY VERSION: true when BINARY in $BIN reports VERSION.
# Each build writes BINARY.version next to the binary; that stamp is the source of truth.
have_version() { [[ -x "$BIN/$1" && "$(cat "$BIN/$1.version" 2>/dev/null)" == "$2" ]]; }

stamp() { echo "$2" >"$BIN/$1.version"; }

# go_install BINARY MODULE/PKG@VERSION [ldflags]: build one Go tool into $BIN at a pinned version.
go_install() {
  local name=$1 spec=$2 ldflags=${3:-} version=${2##*@}
  have_version "$name" "$version" && return 0
  log "building $name $version from the Go module proxy (cached in $BIN)"
  local tmp; tmp=$(mktemp -d)
  # Explicit failure paths: callers test `if ! go_install ...`, where bash ignores set -e inside.
  GOBIN="$tmp" go install -ldflags "-s -w $ldflags" "$spec" || { rm -rf "$tmp"; return 1; }
  mv "$tmp/$(basename "${spec%@*}")" "$BIN/$name" || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  stamp "$name" "$version"
}

# go_wrapped BINARY MODULE VERSION PACKAGE [ldflags]: build a main package whose module cannot be
# `go install`ed directly (replace directives, or a module path the proxy will not list), through
# a throwaway wrapper module in the cache that requires MODULE@VERSION.
go_wrapped() {
  local name=$1 module=$2 version=$3 pkg=$4 ldflags=${5:-}
  have_version "$name" "$version" && return 0
  local src="$CACHE/src/$name-$version"
  log "building $name $version from $module through a wrapper module in $src"
  mkdir -p "$src"
  printf 'module local/%s\n\ngo 1.26\n' "$name" >"$src/go.mod"
  echo "package wrapper" >"$src/doc.go"
  (cd "$src" && go get "$pkg@$version" && go build -ldflags "-s -w $ldflags" -o "$BIN/$name" "$pkg") || return 1
  stamp "$name" "$version"
}
