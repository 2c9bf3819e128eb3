/**
 * Every manifest under `deploy/`: each YAML document parses, each
 * linstor-suite container's args go through the binary's own dispatch and flag
 * tables, probes point at a path the mode serves on the port it serves it on,
 * and `deploy/all.yaml` is exactly what `tools/all_yaml.ts` renders from the
 * per-mode files.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { parseListenAddress } from "../../src/system/mod.ts";
import { ALL_YAML_SOURCES, renderAllYaml } from "../../tools/all_yaml.ts";
import {
  assertProbesServed,
  IMAGE,
  type Json,
  keyOf,
  objectsOf,
  parseContainer,
  podSpecOf,
  read,
  ROOT,
} from "./_manifests.ts";

/**
 * The Helm chart's templates are not plain YAML (helm_test.ts renders them);
 * kustomize inputs are checked through their output (kustomize_test.ts).
 */
const NOT_MANIFESTS = ["deploy/helm", "deploy/kustomize"];

function manifestPaths(): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    if (NOT_MANIFESTS.includes(dir)) return;
    for (const entry of Deno.readDirSync(new URL(dir, ROOT))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name === "kustomization.yaml") continue;
      else if (/\.ya?ml$/.test(entry.name)) paths.push(path);
    }
  };
  walk("deploy");
  return paths.sort();
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
  for (const path of manifestPaths()) {
    await t.step(path, async () => {
      for (const object of objectsOf(path)) {
        for (const container of podSpecOf(object)?.containers ?? []) {
          if (!IMAGE.test(container.image)) continue;
          await assertProbesServed(container, path);
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

Deno.test("deploy/ every Namespace is the same, labelled for the privileged agent and fencing pods", () => {
  const namespaces = manifestPaths().flatMap((path) =>
    objectsOf(path).filter((o) => o.kind === "Namespace").map((o) => ({
      path,
      object: o,
    }))
  );
  // Four per-mode rbac.yaml and all.yaml (kustomize_test.ts checks the
  // kustomize base's).
  assert.ok(namespaces.length >= 5, `only ${namespaces.length}`);
  for (const { path, object } of namespaces) {
    assert.deepEqual(object, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "linstor-suite",
        labels: { "pod-security.kubernetes.io/enforce": "privileged" },
      },
    }, path);
  }
});
