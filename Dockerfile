# linstor-suite: one binary, every LINSTOR helper.
#
# The builder needs network access to Deno's download host: `deno compile`
# fetches its runtime base (denort) from there. CI environments without that
# access verify the same entry point with `deno run main.ts` instead.

# The Deno version is pinned in tools/deno only; the builder runs it from npm.
FROM node:22-bookworm AS builder
WORKDIR /src
COPY tools/deno tools/deno
RUN ./tools/deno --version
COPY deno.json deno.lock ./
COPY main.ts ./
COPY src/ src/
RUN ./tools/deno install --frozen \
 && ./tools/deno check main.ts \
 && ./tools/deno compile --frozen --allow-all --output /out/linstor-suite main.ts \
 && /out/linstor-suite version

FROM debian:bookworm-slim
# lvm2 and util-linux (nsenter) serve the node agent; the other modes need none.
RUN apt-get update \
 && apt-get install -y --no-install-recommends lvm2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=builder /out/linstor-suite /usr/local/bin/linstor-suite
# Drop-in launchers: the replaced tools' charts set these paths as command or
# args[0]; each runs the mode that replaces it (docs/migration.md).
RUN for program in linstor-affinity-controller linstor-scheduler-extender piraeus-ha-controller agent; do \
      printf '#!/bin/sh\nexec /usr/local/bin/linstor-suite /%s "$@"\n' "$program" > "/$program" \
      && chmod 0755 "/$program"; \
    done
# `linstor-suite version` prints it: docker build --build-arg COMMIT=$(git rev-parse --short=12 HEAD)
ARG COMMIT=unknown
ENV LINSTOR_SUITE_COMMIT=$COMMIT
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/linstor-suite"]
CMD ["help"]
