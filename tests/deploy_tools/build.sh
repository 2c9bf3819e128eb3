#!/usr/bin/env bash
# Builds the deployment tools the deploy tests run (helm, kustomize, ...) from
# the published Go modules pinned next to this script. Each tool is a folder
# tests/deploy_tools/<tool>/ holding:
#   go.mod, go.sum   the tool's module and its dependencies, pinned
#   package          one line: the Go main package to build
#   ldflags          optional, one line: extra -ldflags, where {version} is
#                    replaced by the tool's version (e.g. to stamp it)
# The tool's version is the version go.mod requires for the module that
# holds that package.
#
# Output: ${LINSTOR_SUITE_CACHE:-$HOME/.cache/linstor-suite}/<tool>-<version>/<tool>
# Idempotent: a tool whose binary is already there is not rebuilt.
#
# Environment:
#   LINSTOR_SUITE_CACHE   cache root (default $HOME/.cache/linstor-suite)
#   BUILD_JOBS            parallel Go package builds (default 2)
#   FORCE=1               rebuild even when the binaries exist
#   LINSTOR_SUITE_NO_BUILD=1  outside CI: do not build; the tests that need
#                         these tools are then skipped with a message
#   CI=true               a build that cannot run is a failure, never a skip
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

log() { printf '[deploy-tools build] %s\n' "$*" >&2; }

in_ci=0
case "${CI:-}" in true | TRUE | True | 1) in_ci=1 ;; esac

cache_root="${LINSTOR_SUITE_CACHE:-$HOME/.cache/linstor-suite}"

# Outside CI a developer may go without these tools: the tests that need them
# are then skipped with a message saying how to build them.
cannot_build() {
  log "$1"
  if [[ "$in_ci" == 1 ]]; then
    log "CI=true: the deployment tools are required"
    exit 1
  fi
  log "not building: the tests that need $2 will be skipped"
  log "build later with: bash tests/deploy_tools/build.sh"
  exit 0
}

# Prints the version go.mod ($1) requires for the module holding package $2:
# the longest required module path that is the package or a prefix of it.
module_version() {
  awk -v pkg="$2" '
    $1 == "require" && $2 != "(" { path = $2; ver = $3 }
    $1 != "require" && NF >= 2 && $2 ~ /^v[0-9]/ { path = $1; ver = $2 }
    path != "" {
      if ((pkg == path || index(pkg, path "/") == 1) && length(path) > best) {
        best = length(path); found = ver
      }
      path = ""
    }
    END { if (found != "") print found }
  ' "$1"
}

tools=()
for dir in "$here"/*/; do
  [[ -f "$dir/go.mod" && -f "$dir/package" ]] && tools+=("$(basename "$dir")")
done
if ((${#tools[@]} == 0)); then
  log "no tool folders (go.mod + package) under $here"
  exit 1
fi

# Which tools are missing, and where each goes.
declare -A pkg_of out_of version_of
missing=()
for tool in "${tools[@]}"; do
  dir="$here/$tool"
  pkg="$(tr -d '[:space:]' <"$dir/package")"
  version="$(module_version "$dir/go.mod" "$pkg")"
  if [[ -z "$pkg" || -z "$version" ]]; then
    log "$tool: cannot read the package ($dir/package) or its version from $dir/go.mod"
    exit 1
  fi
  pkg_of[$tool]="$pkg"
  version_of[$tool]="$version"
  out_of[$tool]="$cache_root/$tool-$version"
  if [[ -x "${out_of[$tool]}/$tool" && "${FORCE:-0}" != 1 ]]; then
    log "up to date: ${out_of[$tool]}/$tool"
  else
    missing+=("$tool")
  fi
done
((${#missing[@]} == 0)) && exit 0

if [[ "${LINSTOR_SUITE_NO_BUILD:-0}" == 1 ]]; then
  cannot_build "LINSTOR_SUITE_NO_BUILD=1 and not built: ${missing[*]}" "${missing[*]}"
fi
if ! command -v go >/dev/null 2>&1; then
  cannot_build "no Go toolchain on PATH; install Go >= 1.26 (https://go.dev/dl/)" "${missing[*]}"
fi

jobs="${BUILD_JOBS:-2}"
mkdir -p "$cache_root"
for tool in "${missing[@]}"; do
  dir="$here/$tool"
  out="${out_of[$tool]}"
  # The go directive of the tool's go.mod is the oldest Go that builds it.
  need="$(awk '$1 == "go" { print $2; exit }' "$dir/go.mod")"
  have="$(go env GOVERSION | sed -E 's/^go//')"
  if [[ -n "$need" ]] && [[ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n 1)" != "$need" ]]; then
    cannot_build "Go $have is too old; $tool needs Go >= $need" "$tool"
  fi

  log "building $tool (${pkg_of[$tool]}) with $(go env GOVERSION), -p $jobs, into $out"
  log "a cold build takes 3-8 min on 2 cores (seconds when GOCACHE is warm)"
  ldflags="-s -w"
  if [[ -f "$dir/ldflags" ]]; then
    extra="$(head -n 1 "$dir/ldflags")"
    ldflags+=" ${extra//\{version\}/${version_of[$tool]}}"
  fi
  staging="$(mktemp -d "$cache_root/.build-$tool.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  start=$(date +%s)
  (
    cd "$dir"
    log "downloading modules (verified against go.sum)"
    go mod download
    go mod verify >/dev/null
    log "compiling; a line every 100 packages built (go build -v log: $staging/build.log)"
    set +e
    CGO_ENABLED=0 go build \
      -v \
      -p "$jobs" \
      -trimpath \
      -ldflags "$ldflags" \
      -o "$staging/$tool" \
      "${pkg_of[$tool]}" \
      2>&1 | tee "$staging/build.log" | {
        n=0
        while IFS= read -r _; do
          n=$((n + 1))
          if ((n % 100 == 0)); then log "$n packages, $(($(date +%s) - start)) s"; fi
        done
      }
    status=${PIPESTATUS[0]}
    if [[ "$status" != 0 ]]; then
      tail -n 40 "$staging/build.log" >&2
      log "go build of $tool failed (exit $status)"
      exit "$status"
    fi
  )
  mkdir -p "$out"
  mv -f "$staging/$tool" "$out/$tool"
  printf '%s\n' "${version_of[$tool]}" >"$out/VERSION"
  rm -rf "$staging"
  trap - EXIT
  log "done in $(($(date +%s) - start)) s: $out/$tool"
done
