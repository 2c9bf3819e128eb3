import assert from "node:assert/strict";
import { freshness, linstorDataAge } from "../../src/domain/mod.ts";
import { buildSnapshot } from "../_builders/mod.ts";

const T0 = Date.UTC(2026, 0, 1);

Deno.test("freshness() checks synced kinds, then a first poll, then the LINSTOR data age", async (t) => {
  const cases: {
    name: string;
    observedAt: number | null;
    now: number;
    maxAgeMs?: number;
    synced?: boolean;
    lastError?: string;
    expect: ReturnType<typeof freshness>;
  }[] = [
    {
      name: "fresh",
      observedAt: T0,
      now: T0 + 500,
      expect: { fresh: true, ageMs: 500 },
    },
    {
      name: "exactly the maximum age is still fresh (all three copies agreed)",
      observedAt: T0,
      now: T0 + 1000,
      expect: { fresh: true, ageMs: 1000 },
    },
    {
      name: "one ms too old",
      observedAt: T0,
      now: T0 + 61_001,
      maxAgeMs: 60_000,
      expect: {
        fresh: false,
        reason: "LinstorStale",
        detail: "LINSTOR data is 61s old (max 60s)",
        ageMs: 61_001,
      },
    },
    {
      name:
        "stale data names the last poll error (affinity left out the maximum)",
      observedAt: T0,
      now: T0 + 120_000,
      maxAgeMs: 60_000,
      lastError: "connection refused",
      expect: {
        fresh: false,
        reason: "LinstorStale",
        detail: "LINSTOR data is 120s old (max 60s): connection refused",
        ageMs: 120_000,
      },
    },
    {
      name: "never polled",
      observedAt: null,
      now: T0,
      expect: {
        fresh: false,
        reason: "LinstorNeverRead",
        detail: "LINSTOR not polled successfully yet",
        ageMs: undefined,
      },
    },
    {
      name: "unsynced kinds come first, even with fresh data",
      observedAt: T0,
      now: T0,
      synced: false,
      expect: {
        fresh: false,
        reason: "KubeNotSynced",
        detail: "Kubernetes persistentVolumes not synced yet",
        ageMs: 0,
      },
    },
    {
      name: "a clock that went backwards gives age 0",
      observedAt: T0,
      now: T0 - 5000,
      expect: { fresh: true, ageMs: 0 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const snapshot = buildSnapshot({
        linstor: {
          observedAt: c.observedAt,
          ...(c.lastError === undefined ? {} : { lastError: c.lastError }),
        },
        kube: c.synced === false ? {} : { persistentVolumes: [] },
        kinds: ["persistentVolumes"],
      });
      assert.deepEqual(
        freshness(snapshot, c.now, {
          maxAgeMs: c.maxAgeMs ?? 1000,
          kinds: ["persistentVolumes"],
        }),
        c.expect,
      );
    });
  }
  await t.step("without kinds only LINSTOR is checked", () => {
    const snapshot = buildSnapshot({
      linstor: { observedAt: T0 },
      kinds: ["persistentVolumes"],
    });
    assert.equal(freshness(snapshot, T0, { maxAgeMs: 0 }).fresh, true);
  });
  await t.step("rejects a negative or non-numeric maximum age", () => {
    for (const maxAgeMs of [-1, Number.NaN]) {
      assert.throws(() => freshness(buildSnapshot(), T0, { maxAgeMs }), {
        name: "RangeError",
        message:
          `Cannot check freshness with maximum age "${maxAgeMs}": must be a non-negative number of ms`,
      });
    }
  });
});

Deno.test("linstorDataAge() is undefined before the first poll and never negative", () => {
  assert.equal(
    linstorDataAge(buildSnapshot({ linstor: { observedAt: null } }), T0),
    undefined,
  );
  const snapshot = buildSnapshot({ linstor: { observedAt: T0 } });
  assert.equal(linstorDataAge(snapshot, T0 + 7), 7);
  assert.equal(linstorDataAge(snapshot, T0 - 7), 0);
});
