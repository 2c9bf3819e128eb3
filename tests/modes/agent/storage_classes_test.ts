import assert from "node:assert/strict";
import { syncStorageClasses } from "../../../src/modes/agent/mod.ts";
import { createWorld } from "./_world.ts";

const OWNED =
  "{ StorDriver/LvmVg: vg1, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: u }";

function yaml(nodesWithPool: string[], foreignOn: string[] = []): string {
  return `nodes:\n${
    ["n1", "n2", "n3"].map((n) =>
      `  - name: ${n}\n    pools:\n${
        nodesWithPool.includes(n)
          ? `      - { name: data, provider_kind: LVM, props: ${OWNED} }\n`
          : ""
      }${
        foreignOn.includes(n)
          ? `      - { name: data, provider_kind: LVM, props: { StorDriver/LvmVg: vg1 } }\n`
          : ""
      }`
    ).join("")
  }`;
}

async function classNames(
  world: ReturnType<typeof createWorld>,
): Promise<string[]> {
  const list = await world.kube.list("storageClasses");
  return list.items.map((sc) => sc.metadata?.name ?? "").sort();
}

Deno.test("syncStorageClasses() creates r1, then r2 when a second node has the pool", async () => {
  const world = createWorld(yaml(["n1"]));
  try {
    const signal = AbortSignal.timeout(10_000);
    await syncStorageClasses({ linstor: world.client, kube: world.kube }, {
      signal,
    });
    assert.deepEqual(await classNames(world), ["linstor-data-r1"]);
    const sc = world.kube.peek("storageClasses", "linstor-data-r1");
    assert.equal(
      sc?.parameters?.["linstor.csi.linbit.com/resourceGroup"],
      "linstor-data-r1",
    );
    assert.equal(
      sc?.metadata?.labels?.["app.kubernetes.io/managed-by"],
      "linstor-suite",
    );
    world.close();
    const two = createWorld(yaml(["n1", "n2"]));
    try {
      two.kube.seed("storageClasses", sc!);
      const { plan } = await syncStorageClasses(
        { linstor: two.client, kube: two.kube },
        { signal },
      );
      assert.deepEqual(Object.fromEntries(plan.replicas), { data: 2 });
      assert.deepEqual(await classNames(two), [
        "linstor-data-r1",
        "linstor-data-r2",
      ]);
    } finally {
      two.close();
    }
  } finally {
    world.close();
  }
});

Deno.test("syncStorageClasses() re-creates a drifted class keeping the default-class annotation", async () => {
  const world = createWorld(yaml(["n1"]));
  try {
    world.kube.seed("storageClasses", {
      apiVersion: "storage.k8s.io/v1",
      kind: "StorageClass",
      metadata: {
        name: "linstor-data-r1",
        labels: {
          "app.kubernetes.io/managed-by": "linstor-suite",
          "linstor-suite.io/storage-pool": "data",
          team: "db",
        },
        annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
      },
      provisioner: "linstor.csi.linbit.com",
      parameters: {
        "linstor.csi.linbit.com/storagePool": "data",
        "linstor.csi.linbit.com/placementCount": "1",
      },
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
      allowVolumeExpansion: true,
    });
    const old = world.kube.peek("storageClasses", "linstor-data-r1")!;
    const { report } = await syncStorageClasses(
      { linstor: world.client, kube: world.kube },
      { signal: AbortSignal.timeout(10_000) },
    );
    assert.deepEqual(report.failed, []);
    const sc = world.kube.peek("storageClasses", "linstor-data-r1")!;
    assert.notEqual(sc.metadata?.uid, old.metadata?.uid);
    assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
    assert.equal(
      sc.metadata?.annotations?.["storageclass.kubernetes.io/is-default-class"],
      "true",
    );
    assert.equal(sc.metadata?.labels?.team, "db");
  } finally {
    world.close();
  }
});

Deno.test("syncStorageClasses() leaves a class it does not manage alone and ignores foreign pools", async () => {
  const world = createWorld(yaml(["n1"], ["n2", "n3"]));
  try {
    world.kube.seed("storageClasses", {
      metadata: { name: "linstor-data-r1" },
      provisioner: "example.com/other",
    });
    const { plan, report } = await syncStorageClasses(
      { linstor: world.client, kube: world.kube },
      { signal: AbortSignal.timeout(10_000) },
    );
    assert.deepEqual(plan.foreign, ["linstor-data-r1"]);
    assert.deepEqual(report.executed, []);
    assert.deepEqual(Object.fromEntries(plan.replicas), { data: 1 });
    assert.equal(
      world.kube.peek("storageClasses", "linstor-data-r1")?.provisioner,
      "example.com/other",
    );
  } finally {
    world.close();
  }
});
