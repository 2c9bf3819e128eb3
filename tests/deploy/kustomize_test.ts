/**
 * `kustomize build` of `deploy/kustomize/` (the base, each overlay, and the
 * linstor-https component on the default-scheduler overlay): every output
 * parses, each linstor-suite container's args pass the binary's flag parser,
 * probes point at what the mode serves, ServiceAccounts and bindings match,
 * the base is exactly `deploy/all.yaml`'s objects, each overlay changes only
 * what it says, and every output passes a server-side dry run on the real
 * apiserver. kustomize is built from Go modules by
 * `tests/deploy_tools/build.sh`.
 */
import assert from "node:assert/strict";
import { basename, dirname, relative } from "node:path";
import { parseLinstorConfig } from "../../src/linstor/mod.ts";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../_harness/control_plane.ts";
import {
  ignoreWithoutDeployTool,
  runDeployTool,
} from "../_harness/deploy_tools.ts";
import {
  assertProbesServed,
  dryRunCreate,
  envOf,
  IMAGE,
  type Json,
  keyOf,
  objectsOf,
  objectsOfText,
  parseContainer,
  podSpecOf,
  read,
  ROOT,
  suiteContainersOf,
} from "./_manifests.ts";

const BASE = "deploy/kustomize/base";
const DEFAULT_SCHEDULER = "deploy/kustomize/overlays/default-scheduler";
const LINSTOR_HTTPS = "deploy/kustomize/overlays/linstor-https";
/** A user's overlay: the default-scheduler overlay plus the HTTPS component. */
const DEFAULT_SCHEDULER_HTTPS = "default-scheduler + linstor-https";

const CLIENT_SECRET = "linstor-client-tls";
const PEM: Readonly<Record<string, string>> = {
  "tls.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
  "tls.key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
  "ca.crt": "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----\n",
};

const skipWithoutKustomize = ignoreWithoutDeployTool("kustomize");

const KUSTOMIZE = "deploy/kustomize";
const EXAMPLE = "deploy/kustomize/examples/my-cluster";

/**
 * `kustomize build` of a folder made of `files`, in a temporary directory:
 * `../../` in them is deploy/kustomize/ (kustomize takes only relative paths
 * to other kustomizations).
 */
async function buildFiles(
  files: Readonly<Record<string, string>>,
  where: string,
): Promise<Json[]> {
  const dir = await Deno.makeTempDir({ prefix: "linstor-suite-kustomize-" });
  try {
    const up = relative(dir, new URL(KUSTOMIZE, ROOT).pathname);
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(
        `${dir}/${name}`,
        text.replaceAll("../../", `${up}/`),
      );
    }
    return objectsOfText(
      await runDeployTool("kustomize", ["build", dir]),
      where,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function build(target: string): Promise<Json[]> {
  if (target !== DEFAULT_SCHEDULER_HTTPS) {
    return objectsOfText(
      await runDeployTool("kustomize", ["build", target]),
      target,
    );
  }
  return await buildFiles({
    "kustomization.yaml": [
      "apiVersion: kustomize.config.k8s.io/v1beta1",
      "kind: Kustomization",
      "resources: [../../overlays/default-scheduler]",
      "components: [../../components/linstor-https]",
      "",
    ].join("\n"),
  }, target);
}

function byKey(objects: readonly Json[]): Map<string, Json> {
  const map = new Map<string, Json>();
  for (const object of objects) {
    assert.ok(!map.has(keyOf(object)), `duplicate ${keyOf(object)}`);
    map.set(keyOf(object), object);
  }
  return map;
}

function serviceAccountsOf(objects: readonly Json[]): Set<string> {
  return new Set(
    objects.filter((o) => o.kind === "ServiceAccount").map((o) =>
      `${o.metadata.namespace}/${o.metadata.name}`
    ),
  );
}

/** The objects of `objects` that mention the second scheduler. */
function secondSchedulerKeys(objects: readonly Json[]): string[] {
  return objects.filter((o) =>
    o.metadata.name.startsWith("linstor-scheduler") ||
    (o.subjects ?? []).some((s: Json) => s.name === "linstor-scheduler")
  ).map(keyOf).sort();
}

Deno.test({
  name:
    "kustomize build of deploy/kustomize/ renders parseable objects whose containers, probes, ServiceAccounts and bindings fit together",
  ignore: skipWithoutKustomize,
  async fn(t) {
    for (
      const target of [
        BASE,
        DEFAULT_SCHEDULER,
        LINSTOR_HTTPS,
        DEFAULT_SCHEDULER_HTTPS,
        EXAMPLE,
      ]
    ) {
      await t.step(target, async () => {
        const objects = await build(target);
        byKey(objects);
        const accounts = serviceAccountsOf(objects);
        const containers = suiteContainersOf(objects);
        // affinity, agent, fencing and one extender.
        assert.equal(containers.length, 4, target);
        const modes = [];
        for (const container of containers) {
          const { mode, context } = await parseContainer(container);
          assert.deepEqual(context.positionals, [], `${target} ${mode}`);
          await assertProbesServed(container, target);
          modes.push(mode);
        }
        assert.deepEqual(modes.sort(), [
          "affinity",
          "agent",
          "extender",
          "fencing",
        ]);
        for (const object of objects) {
          const spec = podSpecOf(object);
          if (spec) {
            const account =
              `${object.metadata.namespace}/${spec.serviceAccountName}`;
            assert.ok(accounts.has(account), `${keyOf(object)}: ${account}`);
          }
          for (const subject of object.subjects ?? []) {
            const account = `${subject.namespace}/${subject.name}`;
            assert.ok(accounts.has(account), `${keyOf(object)}: ${account}`);
          }
          if (object.kind === "Namespace") {
            assert.equal(
              object.metadata.labels?.["pod-security.kubernetes.io/enforce"],
              "privileged",
            );
          }
        }
      });
    }
  },
});

Deno.test({
  name: "kustomize build of the base renders exactly deploy/all.yaml's objects",
  ignore: skipWithoutKustomize,
  async fn() {
    assert.deepEqual(
      byKey(await build(BASE)),
      byKey(objectsOf("deploy/all.yaml")),
    );
  },
});

Deno.test({
  name:
    "kustomize build of overlays/default-scheduler swaps the second scheduler for the standalone HTTPS extender and its own ServiceAccount",
  ignore: skipWithoutKustomize,
  async fn() {
    const base = await build(BASE);
    const overlay = byKey(await build(DEFAULT_SCHEDULER));
    const standalone = byKey(
      objectsOf("deploy/extender/default-scheduler.yaml"),
    );
    // Everything of base but the second scheduler, unchanged; plus the
    // standalone extender's objects exactly as in its per-mode file.
    const expected = new Map(
      base.filter((o) => !secondSchedulerKeys(base).includes(keyOf(o))).map(
        (o) => [keyOf(o), o],
      ),
    );
    for (const [key, object] of standalone) expected.set(key, object);
    assert.deepEqual(overlay, expected);
    assert.deepEqual(secondSchedulerKeys([...overlay.values()]), []);
    assert.ok(secondSchedulerKeys(base).length >= 9);

    const deployment = overlay.get(
      "Deployment/linstor-suite/linstor-suite-extender",
    );
    const spec = podSpecOf(deployment);
    const [container] = suiteContainersOf([deployment]);
    const { context } = await parseContainer(container);
    // HTTPS: certificate and key come from the mounted serving Secret
    // (--tls-cert/--tls-key, or tls.crt/tls.key in --tls-cert-dir).
    const dir = context.flags.string("tls-cert-dir");
    const files = context.flags.string("tls-cert")
      ? [context.flags.string("tls-cert"), context.flags.string("tls-key")]
      : [dir && `${dir}/tls.crt`, dir && `${dir}/tls.key`];
    for (const file of files) {
      assert.ok(file, "no serving certificate flags");
      const mount = container.volumeMounts.find((m: Json) =>
        m.mountPath === dirname(file)
      );
      const volume = spec.volumes.find((v: Json) => v.name === mount?.name);
      assert.equal(volume?.secret?.secretName, "linstor-suite-extender-tls");
      // A `kubectl create secret tls` Secret has the keys tls.crt and tls.key.
      const item = (volume.secret.items ?? []).find((i: Json) =>
        i.path === basename(file)
      );
      assert.ok(
        ["tls.crt", "tls.key"].includes(item?.key ?? basename(file)),
        file,
      );
    }
    const service = overlay.get("Service/linstor-suite/linstor-suite-extender");
    const port = container.ports.find((p: Json) =>
      p.name === service.spec.ports[0].targetPort
    );
    assert.equal(
      `:${port.containerPort}`,
      context.flags.string("listen"),
    );
  },
});

function assertLinstorHttps(
  objects: readonly Json[],
  where: string,
  controllers = ["https://linstor-controller.piraeus-datastore.svc:3371"],
) {
  for (const object of objects) {
    const spec = podSpecOf(object);
    for (const container of suiteContainersOf([object])) {
      const at = `${where} ${keyOf(object)} ${container.name}`;
      // A file the kubelet mounts: a key of the client Secret, else absent.
      const readFile = (path: string): string => {
        const mount = (container.volumeMounts ?? []).find((m: Json) =>
          m.mountPath === dirname(path)
        );
        const volume = (spec.volumes ?? []).find((v: Json) =>
          v.name === mount?.name
        );
        const text = volume?.secret?.secretName === CLIENT_SECRET
          ? PEM[basename(path)]
          : undefined;
        if (text === undefined) throw new Deno.errors.NotFound(path);
        return text;
      };
      const config = parseLinstorConfig(envOf(container), { readFile });
      assert.deepEqual(config.controllers, controllers, at);
      assert.deepEqual(config.tls?.caCerts, [PEM["ca.crt"]], at);
      assert.equal(config.tls?.cert, PEM["tls.crt"], at);
      assert.equal(config.tls?.key, PEM["tls.key"], at);
    }
  }
}

/** `objects` with every linstor-suite container's LS_* env and the client Secret's volume removed. */
function withoutLinstorClient(objects: readonly Json[]): Map<string, Json> {
  return byKey(objects.map((object) => {
    const spec = podSpecOf(object);
    if (!spec) return object;
    const copy = structuredClone(object);
    const copySpec = podSpecOf(copy);
    for (const container of copySpec.containers) {
      if (!IMAGE.test(container.image)) continue;
      container.env = (container.env ?? []).filter((e: Json) =>
        !e.name.startsWith("LS_")
      );
      container.volumeMounts = (container.volumeMounts ?? []).filter((
        m: Json,
      ) => m.name !== CLIENT_SECRET);
      if (container.volumeMounts.length === 0) delete container.volumeMounts;
    }
    copySpec.volumes = (copySpec.volumes ?? []).filter((v: Json) =>
      v.name !== CLIENT_SECRET
    );
    if (copySpec.volumes.length === 0) delete copySpec.volumes;
    return copy;
  }));
}

Deno.test({
  name:
    "kustomize build of overlays/linstor-https gives every container an HTTPS LINSTOR endpoint and the client certificate the binary reads, and changes nothing else",
  ignore: skipWithoutKustomize,
  async fn(t) {
    for (
      const [target, plain] of [
        [LINSTOR_HTTPS, BASE],
        [DEFAULT_SCHEDULER_HTTPS, DEFAULT_SCHEDULER],
      ] as const
    ) {
      await t.step(target, async () => {
        const objects = await build(target);
        assertLinstorHttps(objects, target);
        assert.deepEqual(
          withoutLinstorClient(objects),
          withoutLinstorClient(await build(plain)),
        );
      });
    }
  },
});

Deno.test({
  name:
    "kustomize build outputs pass a server-side dry run with strict field validation on the real apiserver",
  ignore: skipWithoutKustomize || ignoreWithoutControlPlane(),
  async fn() {
    const outputs = await Promise.all(
      [BASE, DEFAULT_SCHEDULER, LINSTOR_HTTPS, DEFAULT_SCHEDULER_HTTPS, EXAMPLE]
        .map(
          async (target) => ({ target, objects: await build(target) }),
        ),
    );
    await using cp = await startControlPlane({});
    const failures: string[] = [];
    for (const { target, objects } of outputs) {
      failures.push(...await dryRunCreate(cp, objects, target));
    }
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name:
    "kustomize build of examples/my-cluster puts cluster.yaml's LINSTOR controllers in every container, pins both images and moves the agent",
  ignore: skipWithoutKustomize,
  async fn(t) {
    const files = {
      "kustomization.yaml": read(`${EXAMPLE}/kustomization.yaml`),
      "cluster.yaml": read(`${EXAMPLE}/cluster.yaml`),
    };
    const [cluster] = objectsOf(`${EXAMPLE}/cluster.yaml`);
    const base = await build(BASE);
    const check = (
      objects: Json[],
      expected: { controllers: string[]; keys: string[]; tag: string },
    ) => {
      assert.deepEqual([...byKey(objects).keys()].sort(), expected.keys);
      const containers = suiteContainersOf(objects);
      assert.equal(containers.length, 4);
      for (const container of containers) {
        // LS_CONTROLLERS through the LINSTOR client's own parser.
        const env = Object.fromEntries(
          Object.entries(envOf(container)).filter(([k]) => k.startsWith("LS_")),
        );
        const config = parseLinstorConfig(env, {
          readFile: (path) => PEM[basename(path)]!,
        });
        assert.deepEqual(config.controllers, expected.controllers);
        assert.equal(
          container.image,
          `ghcr.io/linstor-suite/linstor-suite:${expected.tag}`,
        );
      }
      for (const object of objects) {
        for (const container of podSpecOf(object)?.containers ?? []) {
          if (container.name === "kube-scheduler") {
            assert.equal(
              container.image,
              "registry.k8s.io/kube-scheduler:v1.34.2",
            );
          }
        }
      }
      const agent = objects.find((o) =>
        o.metadata.name === "linstor-suite-agent" && o.kind === "DaemonSet"
      );
      assert.deepEqual(podSpecOf(agent).nodeSelector, {
        "node-role.example.com/storage": "",
      });
    };
    await t.step("as shipped (base, plain HTTP)", async () => {
      const objects = await build(EXAMPLE);
      check(objects, {
        controllers: [cluster.data.linstorControllers],
        keys: base.map(keyOf).sort(),
        tag: "0.1.0",
      });
    });
    await t.step(
      "on default-scheduler, with two HTTPS controllers and the HTTPS component",
      async () => {
        const controllers = [
          "https://linstor-a.example:3371",
          "https://linstor-b.example:3371",
        ];
        const kustomization = files["kustomization.yaml"]
          .replace("  - ../../base", "  - ../../overlays/default-scheduler")
          .replace("newTag: 0.1.0", "newTag: 9.9.9-test")
          .replace(
            "# components:\n#   - ../../components/linstor-https",
            "components:\n  - ../../components/linstor-https",
          );
        assert.notEqual(kustomization, files["kustomization.yaml"]);
        const objects = await buildFiles({
          "kustomization.yaml": kustomization,
          "cluster.yaml": files["cluster.yaml"].replace(
            cluster.data.linstorControllers,
            controllers.join(","),
          ),
        }, "examples/my-cluster on default-scheduler");
        check(objects, {
          controllers,
          keys: (await build(DEFAULT_SCHEDULER)).map(keyOf).sort(),
          tag: "9.9.9-test",
        });
        assertLinstorHttps(objects, "examples/my-cluster", controllers);
      },
    );
  },
});
