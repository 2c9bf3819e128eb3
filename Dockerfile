# linstor-suite: one binary, every LINSTOR helper, one multi-arch image.
#
#   docker buildx build --platform linux/amd64,linux/arm64 \
#     --build-arg COMMIT=$(git rev-parse --short=12 HEAD) -t linstor-suite .
#
# The builder runs on the build host's platform and cross-compiles for the
# target one (`deno compile --target`), so no emulation is needed. It needs
# network access to Deno's download host: `deno compile` fetches the target's
# runtime base (denort) from there. This image has not been built by the
# project's CI (README, "The image").

# The Deno version is pinned in tools/deno only; the builder runs it from npm.
FROM --platform=$BUILDPLATFORM node:22-bookworm AS builder
# Set by buildx from --platform: amd64 or arm64 (Deno ships no other Linux builds).
ARG TARGETARCH
ARG BUILDARCH
WORKDIR /src
COPY tools/deno tools/deno
RUN ./tools/deno --version
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src/ src/
RUN case "$TARGETARCH" in \
      amd64) target=x86_64-unknown-linux-gnu ;; \
      arm64) target=aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH '$TARGETARCH' (amd64, arm64)" >&2; exit 1 ;; \
    esac \
 && ./tools/deno install --frozen \
 && ./tools/deno check main.ts \
 && ./tools/deno compile --frozen --allow-all --target "$target" --output /out/linstor-suite main.ts \
 && if [ "$TARGETARCH" = "$BUILDARCH" ]; then /out/linstor-suite version; fi

FROM debian:bookworm-slim
# lvm2 and util-linux (nsenter) serve the node agent, drbd-utils (drbdsetup)
# the fencing agent; the other modes need none. Deno's Linux builds need glibc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends lvm2 util-linux drbd-utils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/linstor-suite /usr/local/bin/linstor-suite
# glibc malloc: two arenas instead of eight per core, and buffers of 128 KiB
# or more (LINSTOR and Kubernetes list bodies) mapped and unmapped on their
# own instead of kept in the arenas once freed: about 10-30 MiB less resident
# at 100 nodes, hundreds of MiB at 5,000 (docs/benchmarks.md, "Memory of the
# modes"); a pod's env overrides them.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072
# V8 flags, as environment so that a pod's env replaces them (a compiled
# binary applies its own --v8-flags after DENO_V8_FLAGS, so flags compiled in
# could not be turned off):
# --max-semi-space-size=4: a 4 MiB young generation (V8's default grows to
# 16+) keeps 40-50 MiB less resident per process at the same CPU per request.
# --memory-saver-mode: V8 grows the old generation by ~1.3x of the live data
# between full collections instead of up to 4x (like a Go program's GOGC=30
# rather than a JVM without -Xmx), about half the resident memory at 500 and
# 5,000 nodes for more CPU in GC: +30-70 % per extender request pair, +20 ms
# (500 nodes) to +110 ms (5,000) per unchanged LINSTOR poll, and at 5,000
# nodes a changed poll's longest stall is a GC pause. No heap cap: a big
# cluster still gets the heap it needs. For CPU over memory set
# DENO_V8_FLAGS=--max-semi-space-size=4 in the pod; docs/benchmarks.md,
# "Memory of the modes".
ENV DENO_V8_FLAGS=--max-semi-space-size=4,--memory-saver-mode
# Drop-in launchers: the replaced tools' charts set these paths as command or
# args[0]; each runs the mode that replaces it (docs/migration.md).
RUN for program in linstor-affinity-controller linstor-scheduler-extender piraeus-ha-controller agent; do \
      printf '#!/bin/sh\nexec /usr/local/bin/linstor-suite /%s "$@"\n' "$program" > "/$program" \
      && chmod 0755 "/$program"; \
    done
# `linstor-suite version` prints it: docker build --build-arg COMMIT=$(git rev-parse --short=12 HEAD)
ARG COMMIT=unknown
ENV LINSTOR_SUITE_COMMIT=$COMMIT
# Read-only root filesystem: the only writes are the compiled binary's V8
# code cache (into TMPDIR) and Deno's cache directory (DENO_DIR, else under
# HOME), both optional. Mount an emptyDir at /tmp to keep the code cache;
# without one the writes fail and every start compiles afresh.
ENV TMPDIR=/tmp HOME=/tmp DENO_DIR=/tmp/deno
# Non-root by default: extender and affinity need no privilege (run them
# with runAsNonRoot, readOnlyRootFilesystem, drop ALL). The agent and fencing
# DaemonSets set runAsUser: 0 and privileged: true:
#   agent   - nsenter into PID 1's mount/UTS/IPC/net/PID namespaces
#             (hostPID; CAP_SYS_ADMIN, CAP_SYS_PTRACE) to run the host's lvm,
#             which opens block devices and writes /etc/lvm and /run/lvm there;
#   fencing - drbdsetup events2/show over DRBD's generic netlink family
#             (CAP_NET_ADMIN, CAP_SYS_ADMIN; hostNetwork, as
#             piraeus-ha-controller, since the kernel answers in the host's
#             network namespace).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/linstor-suite"]
CMD ["help"]
