import assert from "node:assert/strict";
import { describeSnapshot, formatAge, formatKib } from "../../src/state/mod.ts";
import {
  buildSnapshot,
  linstorNode,
  pv,
  resource,
  resourceDefinition,
  storagePool,
} from "../_builders/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("describeSnapshot() renders nodes, pools, resources and data age", () => {
  const snapshot = buildSnapshot({
    takenAt: T0 + 12_000,
    linstor: {
      observedAt: T0,
      lastError: "Cannot list LINSTOR nodes: timeout",
      nodes: [
        linstorNode("n2", { connectionStatus: "OFFLINE" }),
        linstorNode("n1", {
          props: { "Aux/topology/topology.kubernetes.io/zone": "zone-a" },
        }),
      ],
      storagePools: [
        storagePool("n1", "thin", {
          freeKib: 1024 * 1024,
          totalKib: 2 * 1024 * 1024,
        }),
        storagePool("n2", "fat", { providerKind: "LVM", freeKib: null }),
        storagePool("n2", "DfltDisklessStorPool", {
          providerKind: "DISKLESS",
          freeKib: null,
          totalKib: null,
        }),
      ],
      resources: [
        resource("pvc-1", "n1", { inUse: true }),
        resource("pvc-1", "n2", {
          flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
          diskState: "Diskless",
        }),
      ],
      resourceDefinitions: [
        resourceDefinition("pvc-1"),
        resourceDefinition("pvc-2"),
      ],
    },
    kube: { persistentVolumes: [pv("pvc-1", { claim: "ns/data" })] },
  });
  assert.equal(
    describeSnapshot(snapshot, { now: T0 + 12_000 }),
    [
      "LINSTOR data: 12s old (observed 2026-01-01T00:00:00.000Z)",
      "Last LINSTOR poll failed: Cannot list LINSTOR nodes: timeout",
      "Kubernetes: 1/1 kinds synced",
      `Snapshot version ${snapshot.version}`,
      "",
      "NODE  STATUS   ZONE",
      "n1    ONLINE   zone-a",
      "n2    OFFLINE  -",
      "",
      "NODE  POOL                  KIND      FREE     TOTAL",
      "n1    thin                  LVM_THIN  1.0 GiB  2.0 GiB",
      "n2    DfltDisklessStorPool  DISKLESS  -        -",
      "n2    fat                   LVM       ?        200.0 GiB",
      "",
      "RESOURCE  PV               NODE  ROLE         DISK STATE  NOTES",
      "pvc-1     pvc-1 (ns/data)  n1    diskful      UpToDate    in use",
      "                           n2    tie-breaker  Diskless",
      "pvc-2     -                -     -            -           no replicas",
      "",
    ].join("\n"),
  );
});

Deno.test("describeSnapshot() says when LINSTOR was never polled and limits resources", () => {
  const snapshot = buildSnapshot({
    linstor: {
      resources: [
        resource("a", "n1"),
        resource("b", "n1"),
        resource("c", "n1"),
      ],
    },
  });
  const text = describeSnapshot(buildSnapshot(), { now: T0 });
  assert.match(text, /^LINSTOR data: never polled successfully\n/);
  const limited = describeSnapshot(snapshot, { now: T0, maxResources: 2 });
  assert.match(limited, /\n… 1 more resources\n$/);
  assert.doesNotMatch(limited, /\nc {2}/);
  assert.match(limited, /\nb {2}/);
});

Deno.test("formatKib() and formatAge() pick readable units", async (t) => {
  const sizes: [number | undefined, string][] = [
    [undefined, "?"],
    [0, "0 KiB"],
    [1023, "1023 KiB"],
    [1024, "1.0 MiB"],
    [1536 * 1024 * 1024, "1.5 TiB"],
  ];
  for (const [kib, text] of sizes) {
    await t.step(`formatKib(${kib})`, () => assert.equal(formatKib(kib), text));
  }
  const ages: [number, string][] = [
    [999, "999ms"],
    [59_999, "59s"],
    [184_000, "3m4s"],
    [7_500_000, "2h5m"],
    [3 * 86_400_000, "3d0h"],
  ];
  for (const [ms, text] of ages) {
    await t.step(`formatAge(${ms})`, () => assert.equal(formatAge(ms), text));
  }
});
