#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by the integration tests:
# kube-apiserver, kube-scheduler, kube-controller-manager and etcd, from the
# published Go modules pinned in go.mod/go.sum next to this script.
#
# Output: ${LINSTOR_SUITE_CACHE:-$HOME/.cache/linstor-suite}/k8s-<version>/
# Idempotent: exits 0 at once when the four binaries are already there.
#
# Environment:
#   LINSTOR_SUITE_CACHE   cache root (default $HOME/.cache/linstor-suite)
#   BUILD_JOBS            parallel Go package builds (default 2)
#   FORCE=1               rebuild even when the binaries exist
#   LINSTOR_SUITE_NO_BUILD=1  outside CI: do not build; the real control-plane
#                         tests are then skipped with a message
#   CI=true               a build that cannot run is a failure, never a skip
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf '[control-plane build] %s\n' "$*" >&2; }

# The single source of truth for the version is go.mod.
version="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' go.mod)"
if [[ -z "$version" ]]; then
  # "require k8s.io/kubernetes vX" on a single line.
  version="$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' go.mod)"
fi
if [[ ! "$version" =~ ^v1\.([0-9]+)\.[0-9]+$ ]]; then
  log "cannot read the k8s.io/kubernetes version from $here/go.mod"
  exit 1
fi
minor="${BASH_REMATCH[1]}"

cache_root="${LINSTOR_SUITE_CACHE:-$HOME/.cache/linstor-suite}"
out="$cache_root/k8s-$version"
bins=(kube-apiserver kube-scheduler kube-controller-manager etcd)

complete=1
for b in "${bins[@]}"; do
  [[ -x "$out/$b" ]] || complete=0
done
if [[ "$complete" == 1 && "${FORCE:-0}" != 1 ]]; then
  log "up to date: $out"
  exit 0
fi

in_ci=0
case "${CI:-}" in true | TRUE | True | 1) in_ci=1 ;; esac

# Outside CI a developer may go without the control plane: its tests are
# then skipped with a message saying how to build it.
cannot_build() {
  log "$1"
  if [[ "$in_ci" == 1 ]]; then
    log "CI=true: the real control plane is required"
    exit 1
  fi
  log "not building: the real control-plane tests will be skipped"
  log "build later with: bash tests/control_plane/build.sh"
  exit 0
}

if [[ "${LINSTOR_SUITE_NO_BUILD:-0}" == 1 ]]; then
  cannot_build "LINSTOR_SUITE_NO_BUILD=1 and no binaries in $out"
fi
if ! command -v go >/dev/null 2>&1; then
  cannot_build "no Go toolchain on PATH; install Go >= 1.25 (https://go.dev/dl/)"
fi
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
if [[ ! "$go_minor" =~ ^[0-9]+$ ]] || ((go_minor < 25)); then
  cannot_build "Go $(go env GOVERSION) is too old; Kubernetes $version needs Go >= 1.25"
fi

jobs="${BUILD_JOBS:-2}"
log "building Kubernetes $version with $(go env GOVERSION), -p $jobs, into $out"
log "a cold build takes about 5 min on 2 idle cores, up to 25 min when they are busy (about 1 min when GOCACHE is warm)"

mkdir -p "$cache_root"
staging="$(mktemp -d "$cache_root/.build-$version.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

pkg_version="k8s.io/component-base/version"
ldflags="-s -w"
ldflags+=" -X $pkg_version.gitVersion=$version"
ldflags+=" -X $pkg_version.gitMajor=1"
ldflags+=" -X $pkg_version.gitMinor=$minor"
ldflags+=" -X $pkg_version.gitTreeState=clean"

start=$(date +%s)
log "downloading modules (verified against go.sum)"
go mod download
go mod verify >/dev/null

log "compiling; a line every 200 packages built (go build -v log: $staging/build.log)"
set +e
CGO_ENABLED=0 go build \
  -v \
  -p "$jobs" \
  -trimpath \
  -tags=notest,grpcnotrace \
  -ldflags "$ldflags" \
  -o "$staging/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-scheduler \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  go.etcd.io/etcd/server/v3 \
  2>&1 | tee "$staging/build.log" | {
    n=0
    while IFS= read -r _; do
      n=$((n + 1))
      if ((n % 200 == 0)); then log "$n packages, $(($(date +%s) - start)) s"; fi
    done
  }
status=${PIPESTATUS[0]}
set -e
if [[ "$status" != 0 ]]; then
  tail -n 40 "$staging/build.log" >&2
  log "go build failed (exit $status)"
  exit "$status"
fi

# etcd's main package is go.etcd.io/etcd/server/v3: go names its binary "server".
mv "$staging/server" "$staging/etcd"

mkdir -p "$out"
for b in "${bins[@]}"; do
  mv -f "$staging/$b" "$out/$b"
done
printf '%s\n' "$version" >"$out/VERSION"
log "done in $(($(date +%s) - start)) s: $out"
