import assert from "node:assert/strict";
import {
  classifyReplicaRole,
  DISK_STATE_HEALTH,
  type DiskHealth,
  diskHealth,
  isDiskfulDeployed,
  type ReplicaHealth,
  replicaHealth,
} from "../../src/domain/mod.ts";
import type {
  Replica,
  ReplicaRole,
  ReplicaVolume,
} from "../../src/state/types.ts";

function replica(
  options: {
    role?: ReplicaRole;
    flags?: string[];
    deleting?: boolean;
    inactive?: boolean;
    diskStates?: (string | undefined)[];
  } = {},
): Replica {
  const volumes: ReplicaVolume[] = (options.diskStates ?? ["UpToDate"]).map((
    diskState,
    volumeNumber,
  ) => ({
    volumeNumber,
    storagePool: "pool1",
    providerKind: "LVM_THIN",
    diskState,
    allocatedKib: 1,
    usableKib: 1,
  }));
  return {
    resource: "pvc-1",
    node: "n1",
    role: options.role ?? "diskful",
    flags: options.flags ?? [],
    deleting: options.deleting ?? false,
    inactive: options.inactive ?? false,
    inUse: false,
    volumes,
    upToDate: volumes.every((v) => v.diskState === "UpToDate"),
    createdAt: undefined,
    props: {},
  };
}

Deno.test("classifyReplicaRole() classifies cumulative flags", async (t) => {
  const cases: { name: string; flags: string[]; role: ReplicaRole }[] = [
    { name: "no flags is diskful", flags: [], role: "diskful" },
    {
      name: "tie-breaker with its cumulative diskless flags",
      flags: ["DISKLESS", "DRBD_DISKLESS", "TIE_BREAKER"],
      role: "tie-breaker",
    },
    { name: "TIE_BREAKER alone", flags: ["TIE_BREAKER"], role: "tie-breaker" },
    {
      name: "DRBD diskless client",
      flags: ["DISKLESS", "DRBD_DISKLESS"],
      role: "diskless",
    },
    {
      name: "deprecated DISKLESS alone",
      flags: ["DISKLESS"],
      role: "diskless",
    },
    {
      name: "NVMe initiator",
      flags: ["DISKLESS", "NVME_INITIATOR"],
      role: "diskless",
    },
    { name: "EBS initiator", flags: ["EBS_INITIATOR"], role: "diskless" },
    {
      name: "lower-case flags",
      flags: ["diskless", "drbd_diskless", "tie_breaker"],
      role: "tie-breaker",
    },
    {
      name: "deleting diskful stays diskful",
      flags: ["DELETE", "DRBD_DELETE"],
      role: "diskful",
    },
    {
      name: "inactive diskful stays diskful",
      flags: ["INACTIVE", "EVICTED"],
      role: "diskful",
    },
    {
      name: "diskful being converted (DISK_ADDING) is still diskless",
      flags: ["DISKLESS", "DRBD_DISKLESS", "DISK_ADDING"],
      role: "diskless",
    },
    {
      name: "AUTO_DISKFUL alone is diskful",
      flags: ["AUTO_DISKFUL"],
      role: "diskful",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(classifyReplicaRole(c.flags), c.role);
    });
  }
});

Deno.test("diskHealth() reads every documented disk state from the one table", async (t) => {
  const cases: {
    state: string | undefined;
    online?: boolean;
    health: DiskHealth;
    note?: string;
  }[] = [
    { state: "UpToDate", health: "current" },
    {
      state: "SyncSource",
      health: "current",
      note: "affinity ignored it; the disk is up to date",
    },
    { state: "SyncTarget", health: "syncing" },
    { state: "SyncTarget(42.10%)", health: "syncing" },
    { state: "Inconsistent", health: "syncing" },
    { state: "Created", health: "syncing" },
    { state: "Attaching", health: "syncing" },
    { state: "Negotiating", health: "syncing" },
    { state: "Consistent", health: "degraded" },
    {
      state: "Outdated",
      health: "degraded",
      note: "the extender scored it as syncing (6)",
    },
    {
      state: "Failed",
      health: "degraded",
      note: "the extender scored it as syncing (6)",
    },
    {
      state: "Diskless",
      health: "degraded",
      note: "on a diskful replica; the extender scored it as syncing (6)",
    },
    { state: "Detaching", health: "degraded" },
    {
      state: "DUnknown",
      health: "degraded",
      note: "the extender scored it as syncing (6)",
    },
    { state: "SomethingNew", health: "degraded" },
    { state: undefined, health: "current", note: "storage-only layer" },
    { state: "", health: "current", note: "storage-only layer" },
    {
      state: undefined,
      online: false,
      health: "unknown",
      note: "the extender counted it as current",
    },
    { state: "UpToDate", online: false, health: "current" },
  ];
  for (const c of cases) {
    await t.step(
      `${JSON.stringify(c.state)}${
        c.online === false ? " on an offline node" : ""
      } is ${c.health} ${c.note ?? ""}`,
      () => {
        assert.equal(
          diskHealth(c.state, { nodeOnline: c.online ?? true }),
          c.health,
        );
      },
    );
  }
  await t.step("the table documents exactly the states above", () => {
    assert.deepEqual(Object.keys(DISK_STATE_HEALTH).sort(), [
      "Attaching",
      "Consistent",
      "Created",
      "DUnknown",
      "Detaching",
      "Diskless",
      "Failed",
      "Inconsistent",
      "Negotiating",
      "Outdated",
      "SyncSource",
      "SyncTarget",
      "UpToDate",
    ]);
  });
});

Deno.test("isDiskfulDeployed() counts diskful copies by flags as linstor-csi does", async (t) => {
  const cases: { name: string; replica: Replica; expect: boolean }[] = [
    { name: "diskful", replica: replica(), expect: true },
    {
      name: "diskful with an Outdated disk (state is not looked at)",
      replica: replica({ diskStates: ["Outdated"] }),
      expect: true,
    },
    { name: "diskless", replica: replica({ role: "diskless" }), expect: false },
    {
      name: "tie-breaker",
      replica: replica({ role: "tie-breaker" }),
      expect: false,
    },
    { name: "deleting", replica: replica({ deleting: true }), expect: false },
    { name: "inactive", replica: replica({ inactive: true }), expect: false },
    {
      name: "failed deployment",
      replica: replica({ flags: ["FAILED_DEPLOYMENT"] }),
      expect: false,
    },
    {
      name: "failed disconnect",
      replica: replica({ flags: ["FAILED_DISCONNECT"] }),
      expect: false,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(isDiskfulDeployed(c.replica), c.expect);
    });
  }
});

Deno.test("replicaHealth() combines role, flags and the worst volume", async (t) => {
  const cases: {
    name: string;
    replica: Replica;
    volume?: number;
    online?: boolean;
    expect: ReplicaHealth;
  }[] = [
    { name: "UpToDate diskful", replica: replica(), expect: "current" },
    {
      name: "tie-breaker holds no data",
      replica: replica({ role: "tie-breaker", diskStates: ["Diskless"] }),
      expect: "absent",
    },
    {
      name: "diskless client holds no data",
      replica: replica({ role: "diskless", diskStates: ["Diskless"] }),
      expect: "absent",
    },
    {
      name: "failed deployment is absent even when UpToDate",
      replica: replica({ flags: ["FAILED_DEPLOYMENT"] }),
      expect: "absent",
    },
    {
      name: "one syncing volume makes the replica syncing",
      replica: replica({ diskStates: ["UpToDate", "SyncTarget"] }),
      expect: "syncing",
    },
    {
      name: "one Outdated volume makes the replica degraded",
      replica: replica({ diskStates: ["Inconsistent", "Outdated"] }),
      expect: "degraded",
    },
    {
      name: "unknown ranks between syncing and degraded",
      replica: replica({ diskStates: [undefined, "Inconsistent"] }),
      online: false,
      expect: "unknown",
    },
    {
      name: "only the asked volume counts",
      replica: replica({ diskStates: ["Outdated", "UpToDate"] }),
      volume: 1,
      expect: "current",
    },
    {
      name: "a volume the replica does not list is unknown",
      replica: replica(),
      volume: 3,
      expect: "unknown",
    },
    {
      name: "a replica without volumes is unknown",
      replica: replica({ diskStates: [] }),
      expect: "unknown",
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(
        replicaHealth(c.replica, {
          nodeOnline: c.online ?? true,
          ...(c.volume === undefined ? {} : { volume: c.volume }),
        }),
        c.expect,
      );
    });
  }
});
