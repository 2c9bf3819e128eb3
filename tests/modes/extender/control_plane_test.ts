/**
 * The extender on the real control plane: the LINSTOR simulator over HTTP,
 * the extender process started from `main.ts`, and kube-scheduler's `linstor`
 * profile calling it with the extender settings of
 * `deploy/extender/scheduler-config.yaml`. The extender runs as the standalone
 * extender's ServiceAccount of `deploy/extender/rbac.yaml`, with a token from
 * the TokenRequest API.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  LINSTOR_SCHEDULER_NAME,
  startControlPlane,
} from "../../_harness/control_plane.ts";
import { shippedServiceAccount } from "../../_harness/service_account.ts";
import { poll } from "../../_harness/wait.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
} from "../../../src/sim/mod.ts";
import { SYSTEM_CLOCK } from "../../../src/system/mod.ts";
import {
  DEFAULT_EXTENDER_CONFIG,
  NodeItems,
  parseExtenderArgs,
  parseKubeSchedulerLayout,
  startExtender,
} from "../../../src/modes/extender/mod.ts";
import { buildSnapshot } from "./_snapshot.ts";

const NS = "apps";
const GI = 1024 * 1024 * 1024;

/**
 * n1..n6 in zones a (n1-n3) and b (n4-n6). pool1 (thick, 20 GiB free) on n1,
 * n2, n5; n3 has only a 2 GiB pool1; n4, n6 have no data pool.
 */
const SCENARIO = `
nodes:
  - { name: n1, props: { Aux/topology/topology.kubernetes.io/zone: a }, pools: [{ name: pool1, provider_kind: LVM, capacity: 20GiB }] }
  - { name: n2, props: { Aux/topology/topology.kubernetes.io/zone: a }, pools: [{ name: pool1, provider_kind: LVM, capacity: 20GiB }] }
  - { name: n3, props: { Aux/topology/topology.kubernetes.io/zone: a }, pools: [{ name: pool1, provider_kind: LVM, capacity: 2GiB }] }
  - { name: n4, props: { Aux/topology/topology.kubernetes.io/zone: b }, pools: [] }
  - { name: n5, props: { Aux/topology/topology.kubernetes.io/zone: b }, pools: [{ name: pool1, provider_kind: LVM, capacity: 20GiB }] }
  - { name: n6, props: { Aux/topology/topology.kubernetes.io/zone: b }, pools: [] }
resource_groups:
  - { name: rg1, select_filter: { place_count: 1, storage_pool: pool1 } }
volumes:
  - name: vol-local
    resource_group: rg1
    size: 64MiB
    replicas:
      - { node: n5 }
      - { node: n3, kind: tie-breaker }
      - { node: n4, kind: diskless }
  - name: vol-remote
    resource_group: rg1
    size: 64MiB
    replicas:
      - { node: n2 }
      - { node: n6, kind: diskless }
`;

/** The extender stanza we ship. */
function shippedExtender(): { weight: number; httpTimeout: string } {
  const manifest = parseYaml(
    Deno.readTextFileSync(
      new URL(
        "../../../deploy/extender/scheduler-config.yaml",
        import.meta.url,
      ),
    ),
  ) as { data: Record<string, string> };
  const config = parseYaml(manifest.data["scheduler-config.yaml"]!) as {
    extenders: {
      weight: number;
      httpTimeout: string;
      nodeCacheCapable: boolean;
      ignorable: boolean;
    }[];
  };
  const extender = config.extenders[0]!;
  assert.equal(extender.nodeCacheCapable, true);
  assert.equal(extender.ignorable, true);
  return { weight: extender.weight, httpTimeout: extender.httpTimeout };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The extender process, started the way users start it. */
function startExtenderProcess(
  options: {
    port: number;
    kubeconfig: string;
    linstorUrl: string;
    logFile: string;
  },
) {
  const deno = new URL("../../../tools/deno", import.meta.url).pathname;
  const main = new URL("../../../main.ts", import.meta.url).pathname;
  const log = Deno.openSync(options.logFile, {
    write: true,
    create: true,
    append: true,
  });
  const child = new Deno.Command(deno, {
    args: [
      "run",
      "--allow-all",
      main,
      "extender",
      `--listen=127.0.0.1:${options.port}`,
      "--health-address=127.0.0.1:0",
      `--kubeconfig=${options.kubeconfig}`,
      "--linstor-poll-interval=500ms",
      "-v=4",
    ],
    env: { LS_CONTROLLERS: options.linstorUrl },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pump = Promise.all([
    child.stdout.pipeTo(log.writable, { preventClose: true }),
    child.stderr.pipeTo(
      Deno.openSync(options.logFile, { write: true, append: true }).writable,
    ),
  ]).catch(() => undefined);
  return {
    async stop(): Promise<void> {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await child.status;
      await pump;
      log.close();
    },
  };
}

function storageClass(name: string, parameters: Record<string, string>) {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name },
    provisioner: "linstor.csi.linbit.com",
    parameters,
    volumeBindingMode: "WaitForFirstConsumer",
  };
}

function claim(name: string, sc: string, size: string, volumeName?: string) {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name, namespace: NS },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: sc,
      resources: { requests: { storage: size } },
      ...(volumeName ? { volumeName } : {}),
    },
  };
}

function podUsing(name: string, claims: string[]) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: NS },
    spec: {
      schedulerName: LINSTOR_SCHEDULER_NAME,
      containers: [{
        name: "c",
        image: "busybox",
        resources: { requests: { cpu: "10m" } },
      }],
      volumes: claims.map((c) => ({
        name: c,
        persistentVolumeClaim: { claimName: c },
      })),
    },
  };
}

async function boundVolume(
  cp: ControlPlane,
  name: string,
  handle: string,
  sc: string,
): Promise<void> {
  await cp.request("POST", "/api/v1/persistentvolumes", {
    body: {
      apiVersion: "v1",
      kind: "PersistentVolume",
      metadata: { name: `pv-${name}` },
      spec: {
        capacity: { storage: "64Mi" },
        accessModes: ["ReadWriteOnce"],
        persistentVolumeReclaimPolicy: "Retain",
        storageClassName: sc,
        claimRef: { namespace: NS, name },
        csi: { driver: "linstor.csi.linbit.com", volumeHandle: handle },
      },
    },
  });
  await cp.request("POST", `/api/v1/namespaces/${NS}/persistentvolumeclaims`, {
    body: claim(name, sc, "64Mi", `pv-${name}`),
  });
  await poll(`claim ${name} bound`, async () => {
    const pvc = await cp.request<{ status?: { phase?: string } }>(
      "GET",
      `/api/v1/namespaces/${NS}/persistentvolumeclaims/${name}`,
    );
    return pvc.status?.phase === "Bound" ? true : undefined;
  });
}

async function nodeOf(cp: ControlPlane, pod: string): Promise<string> {
  return await poll(`pod ${pod} scheduled`, async () => {
    const p = await cp.request<{ spec?: { nodeName?: string } }>(
      "GET",
      `/api/v1/namespaces/${NS}/pods/${pod}`,
    );
    return p.spec?.nodeName || undefined;
  });
}

async function selectedNodes(
  cp: ControlPlane,
  prefix: string,
): Promise<Map<string, string>> {
  const list = await cp.request<
    {
      items: {
        metadata: { name: string; annotations?: Record<string, string> };
      }[];
    }
  >(
    "GET",
    `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
  );
  const out = new Map<string, string>();
  for (const item of list.items) {
    const node = item.metadata.annotations
      ?.["volume.kubernetes.io/selected-node"];
    if (item.metadata.name.startsWith(prefix) && node) {
      out.set(item.metadata.name, node);
    }
  }
  return out;
}

Deno.test({
  name:
    "extender on the real control plane places pods by LINSTOR data and capacity",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const stopSim = new AbortController();
    const sim = createSimulator({
      clock: SYSTEM_CLOCK,
      scenario: parseScenario(SCENARIO, "extender-e2e"),
    });
    const simServer = await serveSimulator(sim, {
      hostname: "127.0.0.1",
      port: 0,
      signal: stopSim.signal,
    });
    const port = freePort();
    const shipped = shippedExtender();
    await using cp = await startControlPlane({
      extenderUrl: `http://127.0.0.1:${port}`,
      extenderWeight: shipped.weight,
      extenderHttpTimeout: shipped.httpTimeout,
    });
    let extender: { stop(): Promise<void> } | undefined;
    try {
      await cp.createNodes(
        [1, 2, 3, 4, 5, 6].map((i) => ({
          name: `n${i}`,
          zone: i <= 3 ? "a" : "b",
        })),
      );
      await cp.createNamespace(NS);
      // The standalone extender's ServiceAccount and RBAC as shipped, with
      // a TokenRequest token: the shipped rights must be enough.
      const account = await shippedServiceAccount(cp, "extender");
      for (
        const sc of [
          storageClass("linstor-local", {
            storagePool: "pool1",
            allowRemoteVolumeAccess: "false",
          }),
          storageClass("linstor-remote", { storagePool: "pool1" }),
        ]
      ) {
        await cp.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
          body: sc,
        });
      }
      extender = startExtenderProcess({
        port,
        kubeconfig: account.kubeconfig,
        linstorUrl: simServer.url,
        logFile: `${cp.logDir}/extender.log`,
      });
      await poll("extender ready", async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`);
        await response.body?.cancel();
        return response.ok ? true : undefined;
      }, 90_000);

      await t.step(
        "a pod with a local-only bound volume lands on its only diskful node",
        async () => {
          await boundVolume(cp, "data-local", "vol-local", "linstor-local");
          await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
            body: podUsing("local", ["data-local"]),
          });
          // n3 holds a tie-breaker, n4 a diskless resource: neither may run it.
          assert.equal(await nodeOf(cp, "local"), "n5");
        },
      );

      await t.step(
        "pods with a remote-capable bound volume prefer the replica node",
        async () => {
          await boundVolume(cp, "data-remote", "vol-remote", "linstor-remote");
          const nodes: string[] = [];
          for (let i = 0; i < 3; i++) {
            await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
              body: podUsing(`remote-${i}`, ["data-remote"]),
            });
            nodes.push(await nodeOf(cp, `remote-${i}`));
          }
          assert.deepEqual(nodes, ["n2", "n2", "n2"]);
        },
      );

      await t.step(
        "WaitForFirstConsumer pods go to nodes with room, never to nodes without the pool",
        async () => {
          for (let i = 0; i < 4; i++) {
            await cp.request(
              "POST",
              `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
              {
                body: claim(`room-${i}`, "linstor-local", "3Gi"),
              },
            );
            await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
              body: podUsing(`room-${i}`, [`room-${i}`]),
            });
          }
          const selected = await poll(
            "4 claims with a selected node",
            async () => {
              const s = await selectedNodes(cp, "room-");
              return s.size === 4 ? s : undefined;
            },
          );
          for (const [name, node] of selected) {
            assert.ok(
              ["n1", "n2", "n5"].includes(node),
              `${name} went to ${node}`,
            );
          }
        },
      );

      await t.step(
        "20 WaitForFirstConsumer pods created at once never overcommit a pool",
        async () => {
          // 20 × 4 GiB; room left: n1 20, n2 20, n5 20 minus the 4 × 3 GiB above → at most 12 fit.
          await Promise.all(Array.from({ length: 20 }, async (_, i) => {
            await cp.request(
              "POST",
              `/api/v1/namespaces/${NS}/persistentvolumeclaims`,
              {
                body: claim(`burst-${i}`, "linstor-local", "4Gi"),
              },
            );
            await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
              body: podUsing(`burst-${i}`, [`burst-${i}`]),
            });
          }));
          // Let the scheduler work through the burst (every pod is tried at least once).
          await poll("the burst to settle", async () => {
            const s = await selectedNodes(cp, "burst-");
            return s.size >= 9 ? s : undefined;
          });
          await SYSTEM_CLOCK.sleep(5_000);
          const room = await selectedNodes(cp, "room-");
          const burst = await selectedNodes(cp, "burst-");
          const used = new Map<string, number>();
          for (const node of room.values()) {
            used.set(node, (used.get(node) ?? 0) + 3 * GI);
          }
          for (const node of burst.values()) {
            used.set(node, (used.get(node) ?? 0) + 4 * GI);
          }
          for (const [node, bytes] of used) {
            assert.ok(
              ["n1", "n2", "n5"].includes(node),
              `a claim went to ${node}`,
            );
            assert.ok(
              bytes <= 20 * GI,
              `${node} was promised ${bytes / GI} GiB of 20`,
            );
          }
          assert.ok(
            burst.size >= 9,
            `only ${burst.size} of the burst were placed`,
          );
          assert.ok(burst.size < 20);
        },
      );

      await t.step(
        "`extender explain` prints each node's verdict from live state",
        async () => {
          const output = await new Deno.Command(
            new URL("../../../tools/deno", import.meta.url).pathname,
            {
              args: [
                "run",
                "--allow-all",
                new URL("../../../main.ts", import.meta.url).pathname,
                "extender",
                "explain",
                `${NS}/local`,
                `--kubeconfig=${cp.adminKubeconfig}`,
                // The running extender's listener: explain asks it.
                `--listen=127.0.0.1:${port}`,
              ],
              env: { LS_CONTROLLERS: simServer.url },
              stdin: "null",
              stdout: "piped",
              stderr: "piped",
            },
          ).output();
          const text = new TextDecoder().decode(output.stdout);
          assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
          assert.match(text, /^Pod apps\/local\nLINSTOR data age: \d+\.\ds\n/);
          assert.match(text, /\nbound: +apps\/data-local → vol-local\n/);
          assert.match(text, /\nn5 +n5 +pass +10 +10\.0 /);
          assert.match(
            text,
            /\nn3 +n3 +unresolvable +0 .*access: claim apps\/data-local: volume vol-local allows access only/,
          );
          assert.match(text, /\nn4 +n4 +unresolvable /);
        },
      );

      await t.step(
        "the extender serves HTTPS with --tls-cert/--tls-key material",
        async () => {
          const stop = new AbortController();
          const { server } = startExtender({
            clock: SYSTEM_CLOCK,
            snapshot: () =>
              buildSnapshot({
                now: SYSTEM_CLOCK.now(),
                kubeNodes: [{ name: "n1" }],
              }),
          }, {
            config: DEFAULT_EXTENDER_CONFIG,
            listen: { hostname: "127.0.0.1", port: 0 },
            tls: {
              cert: await Deno.readTextFile(cp.pki.servingCert),
              key: await Deno.readTextFile(cp.pki.servingKey),
            },
            signal: stop.signal,
          });
          await server.ready;
          const client = Deno.createHttpClient({ caCerts: [cp.caPem] });
          try {
            const response = await fetch(
              `https://127.0.0.1:${server.address.port}/filter`,
              {
                method: "POST",
                body: JSON.stringify({
                  Pod: { metadata: { name: "x" } },
                  NodeNames: ["n1"],
                }),
                client,
              },
            );
            assert.equal(response.status, 200);
            assert.deepEqual((await response.json()).NodeNames, ["n1"]);
          } finally {
            client.close();
            stop.abort();
            await server.finished;
          }
        },
      );

      await t.step(
        "with the extender stopped, pods still schedule",
        async () => {
          await extender!.stop();
          extender = undefined;
          await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
            body: podUsing("after-stop", ["data-remote"]),
          });
          assert.ok((await nodeOf(cp, "after-stop")).startsWith("n"));
        },
      );
    } finally {
      await extender?.stop();
      stopSim.abort();
      await simServer.finished;
    }
  },
});

Deno.test({
  name:
    "kube-scheduler's full Node objects (nodeCacheCapable: false) are in the layout the extender decodes without parsing every Node",
  ignore: ignoreWithoutControlPlane(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    // A recording extender: every node passes, no scores.
    const bodies: { verb: string; body: string }[] = [];
    const stop = new AbortController();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      signal: stop.signal,
      onListen: () => undefined,
    }, async (request) => {
      const body = await request.text();
      const verb = new URL(request.url).pathname.split("/").pop() ?? "";
      bodies.push({ verb, body });
      if (verb !== "filter") return Response.json([]);
      return Response.json({
        Nodes: JSON.parse(body).Nodes,
        NodeNames: null,
        FailedNodes: {},
        FailedAndUnresolvableNodes: {},
        Error: "",
      });
    });
    try {
      await using cp = await startControlPlane({
        extenderUrl: `http://127.0.0.1:${server.addr.port}`,
        extenderNodeCacheCapable: false,
      });
      await cp.createNodes(
        ["n1", "n2", "n3"].map((name) => ({ name, zone: "a" })),
      );
      // Text Go's encoder escapes (`<`, `>`, `&`) and quotes in a Node.
      await cp.request("PATCH", "/api/v1/nodes/n2", {
        body: {
          metadata: {
            annotations: { "example.com/note": '<"quoted" & é>\u2028' },
          },
        },
        contentType: "application/merge-patch+json",
      });
      await cp.createNamespace(NS);
      await cp.request("POST", `/api/v1/namespaces/${NS}/pods`, {
        body: {
          ...podUsing("objects", []),
          metadata: {
            name: "objects",
            namespace: NS,
            annotations: {
              steer:
                ',"Nodes":{"metadata":{},"items":[{"metadata":{"name":"x"}}]}',
            },
          },
        },
      });
      assert.match(await nodeOf(cp, "objects"), /^n[123]$/);
      const filters = bodies.filter((b) => b.verb === "filter");
      assert.ok(filters.length > 0, "kube-scheduler never called filter");
      const items = new NodeItems();
      for (const { verb, body } of bodies) {
        const layout = parseKubeSchedulerLayout(
          new TextEncoder().encode(body),
          items,
        );
        assert.ok(
          layout,
          `${verb} body not in the layout: ${body.slice(0, 300)}`,
        );
        assert.deepEqual(layout, parseExtenderArgs(body));
        assert.deepEqual(
          layout.nodes!.map((n) => n.metadata!.name).sort(),
          ["n1", "n2", "n3"],
        );
      }
      // The second body reuses the Node texts the first validated.
      assert.ok(bodies.length < 2 || items.counts.hits > 0);
    } finally {
      stop.abort();
      await server.finished;
    }
  },
});
