/**
 * Every manifest under `deploy/`: each YAML document parses, each
 * linstor-suite container's args go through the binary's own dispatch and flag
 * tables, probes point at a path the mode serves on the port it serves it on,
 * and `deploy/all.yaml` is exactly what `tools/all_yaml.ts` renders from the
 * per-mode files.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { AFFINITY_FLAGS } from "../../src/cli/affinity.ts";
import { AGENT_FLAGS } from "../../src/cli/agent.ts";
import { EXTENDER_FLAGS } from "../../src/cli/extender.ts";
import { FENCING_FLAGS } from "../../src/cli/fencing.ts";
import {
  type Command,
  type CommandContext,
  runCli,
} from "../../src/cli/mod.ts";
import type { FlagSpec } from "../../src/cli/flags.ts";
import { DEFAULT_HEALTH_ADDRESS } from "../../src/constants.ts";
import { createHealthRoutes } from "../../src/observability/mod.ts";
import { parseListenAddress } from "../../src/system/mod.ts";
import { Registry } from "prom-client";
import { ALL_YAML_SOURCES, renderAllYaml } from "../../tools/all_yaml.ts";

const ROOT = new URL("../../", import.meta.url);
const IMAGE = /(^|\/)linstor-suite(:|@|$)/;

const TABLES: Readonly<Record<string, readonly FlagSpec[]>> = {
  affinity: AFFINITY_FLAGS,
  agent: AGENT_FLAGS,
  extender: EXTENDER_FLAGS,
  fencing: FENCING_FLAGS,
};

// deno-lint-ignore no-explicit-any
type Json = any;

function manifestPaths(): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) paths.push(path);
    }
  };
  walk("deploy");
  return paths.sort();
}

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

function objectsOf(path: string): Json[] {
  return parseAllDocuments(read(path)).flatMap((document) => {
    assert.deepEqual(
      document.errors.map((e) => e.message),
      [],
      `${path} has YAML errors`,
    );
    const object = document.toJS();
    return object ? [object] : [];
  });
}

function keyOf(object: Json): string {
  return `${object.kind}/${
    object.metadata?.namespace ?? ""
  }/${object.metadata?.name}`;
}

function podSpecOf(object: Json): Json | undefined {
  return ["Deployment", "DaemonSet", "StatefulSet"].includes(object.kind)
    ? object.spec.template.spec
    : undefined;
}

function envOf(container: Json): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    // Downward-API and Secret values are filled in by the kubelet.
    env[variable.name] = variable.value ?? `${variable.name.toLowerCase()}-x`;
  }
  return env;
}

async function parseContainer(
  container: Json,
): Promise<{ mode: string; context: CommandContext }> {
  const seen: { mode: string; context: CommandContext }[] = [];
  const commands: Command[] = Object.entries(TABLES).map(([mode, flags]) => ({
    name: mode,
    summary: mode,
    flags,
    run(context) {
      seen.push({ mode, context });
      return Promise.resolve(0);
    },
  }));
  const err: string[] = [];
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const code = await runCli(args, {
    env: envOf(container),
    stdout: () => {},
    stderr: (text) => err.push(text),
    signal: new AbortController().signal,
    commands,
  });
  assert.equal(code, 0, `${container.name}: ${err.join("")}`);
  assert.equal(seen.length, 1);
  return seen[0]!;
}

function portOf(text: string): number {
  return parseListenAddress(text).port;
}

Deno.test("deploy/ manifests parse, and every linstor-suite container's args pass the binary's flag parser", async (t) => {
  let containers = 0;
  for (const path of manifestPaths()) {
    await t.step(path, async () => {
      for (const object of objectsOf(path)) {
        assert.ok(
          object.apiVersion && object.kind,
          `${path}: ${keyOf(object)}`,
        );
        for (const container of podSpecOf(object)?.containers ?? []) {
          if (!IMAGE.test(container.image)) continue;
          containers++;
          const { mode, context } = await parseContainer(container);
          assert.deepEqual(context.positionals, [], `${path} ${mode}`);
        }
      }
    });
  }
  // affinity, agent, fencing, the second scheduler's and the default
  // scheduler's extender, and the same four again in all.yaml.
  assert.ok(containers >= 9, `only ${containers} containers checked`);
});

Deno.test("deploy/ probes point at paths the mode serves, on the port it serves them", async (t) => {
  const routes = createHealthRoutes({
    registry: new Registry(),
    checks: {
      live: () => ({ ok: true, detail: "" }),
      ready: () => ({ ok: true, detail: "" }),
    },
  });
  for (const path of manifestPaths()) {
    await t.step(path, async () => {
      for (const object of objectsOf(path)) {
        for (const container of podSpecOf(object)?.containers ?? []) {
          if (!IMAGE.test(container.image)) continue;
          const { mode, context } = await parseContainer(container);
          const served = new Set([
            portOf(
              context.flags.string("health-address") ?? DEFAULT_HEALTH_ADDRESS,
            ),
          ]);
          if (mode === "affinity" || mode === "extender") {
            const metrics = context.flags.string("metrics-address");
            if (metrics) served.add(portOf(metrics));
          }
          const ports = new Map<string, number>(
            (container.ports ?? []).map((
              p: Json,
            ) => [p.name, p.containerPort]),
          );
          for (
            const probe of ["startupProbe", "livenessProbe", "readinessProbe"]
          ) {
            const get = container[probe]?.httpGet;
            if (!get) continue;
            const where = `${path} ${mode} ${probe}`;
            const port = typeof get.port === "string"
              ? ports.get(get.port)
              : get.port;
            assert.ok(
              served.has(port),
              `${where}: port ${get.port} not served`,
            );
            assert.notEqual(get.scheme, "HTTPS", where);
            const response = await routes(
              new Request(`http://127.0.0.1${get.path}`),
            );
            assert.equal(response?.status, 200, `${where}: ${get.path}`);
          }
          const listen = mode === "extender"
            ? context.flags.string("listen")
            : undefined;
          for (const port of ports.values()) {
            assert.ok(
              served.has(port) || (listen && portOf(listen) === port),
              `${path} ${mode}: containerPort ${port} is not listened on`,
            );
          }
        }
      }
    });
  }
});

Deno.test("deploy/ second scheduler calls its extender sidecar where the sidecar listens", async () => {
  const [config] = objectsOf("deploy/extender/scheduler-config.yaml");
  const scheduler = parseAllDocuments(config.data["scheduler-config.yaml"])[0]!
    .toJS();
  const urlPrefix = new URL(scheduler.extenders[0].urlPrefix);
  const deployment = objectsOf("deploy/extender/second-scheduler.yaml").find(
    (o) => o.kind === "Deployment",
  );
  const sidecar = podSpecOf(deployment).containers.find((c: Json) =>
    IMAGE.test(c.image)
  );
  const { mode, context } = await parseContainer(sidecar);
  assert.equal(mode, "extender");
  const listen = parseListenAddress(context.flags.string("listen")!);
  assert.equal(Number(urlPrefix.port), listen.port);
  assert.equal(urlPrefix.hostname, listen.hostname);
  assert.equal(
    scheduler.profiles[0].schedulerName,
    "linstor",
  );
  const volume = podSpecOf(deployment).volumes.find((v: Json) => v.configMap);
  assert.equal(volume.configMap.name, config.metadata.name);
});

Deno.test("deploy/ standalone extender never shares the second scheduler's ServiceAccount", () => {
  const [standalone] = objectsOf("deploy/extender/default-scheduler.yaml")
    .filter((o) => o.kind === "Deployment");
  const [scheduler] = objectsOf("deploy/extender/second-scheduler.yaml")
    .filter((o) => o.kind === "Deployment");
  assert.notEqual(
    podSpecOf(standalone).serviceAccountName,
    podSpecOf(scheduler).serviceAccountName,
  );
  const bound = objectsOf("deploy/extender/rbac.yaml").filter((o) =>
    o.kind === "ClusterRoleBinding" &&
    o.subjects.some((s: Json) =>
      s.name === podSpecOf(standalone).serviceAccountName
    )
  ).map((o) => o.roleRef.name);
  assert.deepEqual(bound, ["linstor-suite-extender"]);
});

Deno.test("deploy/all.yaml is what tools/all_yaml.ts renders from the per-mode manifests", () => {
  assert.equal(read("deploy/all.yaml"), renderAllYaml(read));
});

Deno.test("deploy/all.yaml holds exactly the per-mode objects, the namespace once", () => {
  const all = objectsOf("deploy/all.yaml");
  const keys = all.map(keyOf);
  assert.equal(new Set(keys).size, keys.length, "duplicate objects");
  const expected = new Map<string, Json>();
  for (const path of ALL_YAML_SOURCES) {
    for (const object of objectsOf(path)) expected.set(keyOf(object), object);
  }
  assert.deepEqual(
    new Map(all.map((object) => [keyOf(object), object])),
    expected,
  );
  for (
    const kind of [
      "Namespace",
      "ServiceAccount",
      "ConfigMap",
      "Deployment",
      "DaemonSet",
    ]
  ) {
    assert.ok(all.some((o) => o.kind === kind), kind);
  }
  const serviceAccounts = all.filter((o) => o.kind === "ServiceAccount").map(
    (o) => o.metadata.name,
  );
  for (const object of all) {
    const spec = podSpecOf(object);
    if (spec) assert.ok(serviceAccounts.includes(spec.serviceAccountName));
  }
});
