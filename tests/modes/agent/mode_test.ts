import assert from "node:assert/strict";
import { vgRow } from "./_fixtures.ts";
import { createWorld, writes } from "./_world.ts";

const GRACE = 60_000;

Deno.test("NodeAgent.pass() creates an owned LVM pool for a tagged VG and records an Event", async () => {
  const world = createWorld();
  try {
    world.lvm.vgs = [vgRow("vg1", "linstor-data")];
    const result = await world.agent().pass(AbortSignal.timeout(10_000));
    assert.deepEqual(result.report.failed, []);
    assert.equal(result.lvmCalls, 2);
    const [pool] = world.pools();
    assert.equal(pool?.name, "data");
    assert.equal(pool?.kind, "LVM");
    assert.equal(pool?.props["StorDriver/LvmVg"], "vg1");
    assert.equal(
      pool?.props["Aux/linstor-suite.io/managed-by"],
      "linstor-suite-agent",
    );
    assert.equal(pool?.props["Aux/linstor-suite.io/lvm-uuid"], "uuid-vg1");
    assert.equal(pool?.props["Aux/linstor-suite.io/free-bytes"], "53687091200");
    const events = world.kube.events();
    assert.equal(events.length, 1);
    assert.equal(events[0]?.reason, "StoragePoolCreated");
    assert.equal(events[0]?.regarding?.kind, "Node");
    assert.equal(events[0]?.regarding?.name, "n1");
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() creates an LVM_THIN pool for a tagged thin pool", async () => {
  const world = createWorld();
  try {
    world.lvm.vgs = [vgRow("vg1", "")];
    world.lvm.lvs = [{
      lv_name: "thin",
      lv_uuid: "uuid-thin",
      vg_name: "vg1",
      vg_uuid: "uuid-vg1",
      lv_attr: "twi-aotz--",
      lv_size: "10737418240",
      lv_tags: "linstor-fast",
      pool_lv: "",
      data_percent: "0.00",
    }];
    await world.agent().pass(AbortSignal.timeout(10_000));
    const [pool] = world.pools();
    assert.equal(pool?.kind, "LVM_THIN");
    assert.equal(pool?.props["StorDriver/ThinPool"], "thin");
    assert.equal(pool?.props["Aux/linstor-suite.io/lvm-uuid"], "uuid-thin");
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() makes no LINSTOR or Kubernetes write when nothing changed", async () => {
  const world = createWorld();
  try {
    world.lvm.vgs = [vgRow("vg1", "linstor-data"), vgRow("vg2", "linstor-x")];
    const agent = world.agent();
    await agent.pass(AbortSignal.timeout(10_000));
    const kubeActions = world.kube.actions().length;
    world.requests.length = 0;
    await world.clock.advance(15_000);
    const second = await agent.pass(AbortSignal.timeout(10_000));
    assert.deepEqual(second.plan.actions, []);
    assert.deepEqual(writes(world.requests), []);
    assert.equal(world.kube.actions().length, kubeActions);
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() removes an unused owned pool only after the grace period", async () => {
  const world = createWorld(`nodes:
  - name: n1
    pools:
      - name: data
        provider_kind: LVM
        props: { StorDriver/LvmVg: vg1, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: uuid-vg1 }
`);
  try {
    world.lvm.vgs = [vgRow("vg1", "")];
    const agent = world.agent();
    await agent.pass(AbortSignal.timeout(10_000));
    assert.equal(world.pools().length, 1);
    await world.clock.advance(GRACE);
    const result = await agent.pass(AbortSignal.timeout(10_000));
    assert.deepEqual(result.report.failed, []);
    assert.deepEqual(world.pools(), []);
    assert.ok(
      world.kube.events().some((e) => e.reason === "StoragePoolDeleted"),
    );
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() keeps a pool whose tag is gone while LINSTOR has volumes on it", async () => {
  const world = createWorld(`nodes:
  - name: n1
    pools:
      - name: data
        provider_kind: LVM
        props: { StorDriver/LvmVg: vg1, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: uuid-vg1 }
resource_groups:
  - name: rg
    select_filter: { place_count: 1, storage_pool: data }
volumes:
  - name: pvc-1
    resource_group: rg
    size: 1GiB
    replicas:
      - { node: n1, pool: data }
`);
  try {
    world.lvm.vgs = [vgRow("vg1", "")];
    const agent = world.agent();
    await agent.pass(AbortSignal.timeout(10_000));
    await world.clock.advance(GRACE);
    const result = await agent.pass(AbortSignal.timeout(10_000));
    assert.equal(result.report.failed.length, 1);
    assert.match(
      String(result.report.failed[0]?.error),
      /resource\(s\) still use it \(pvc-1\)/,
    );
    assert.equal(world.pools().length, 1);
    const kept = world.kube.events().find((e) =>
      e.reason === "StoragePoolKept"
    );
    assert.equal(kept?.type, "Warning");
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() never touches a foreign pool", async (t) => {
  const yaml = `nodes:
  - name: n1
    pools:
      - name: data
        provider_kind: LVM
        props: { StorDriver/LvmVg: othervg }
`;
  await t.step("its tag is gone: not deleted", async () => {
    const world = createWorld(yaml);
    try {
      world.lvm.vgs = [vgRow("vg1", "")];
      const agent = world.agent();
      await agent.pass(AbortSignal.timeout(10_000));
      await world.clock.advance(10 * GRACE);
      world.requests.length = 0;
      await agent.pass(AbortSignal.timeout(10_000));
      assert.deepEqual(writes(world.requests), []);
      assert.equal(world.pools().length, 1);
    } finally {
      world.close();
    }
  });
  await t.step(
    "a tag names it on another VG: a conflict, not changed",
    async () => {
      const world = createWorld(yaml);
      try {
        world.lvm.vgs = [vgRow("vg1", "linstor-data")];
        const result = await world.agent().pass(AbortSignal.timeout(10_000));
        assert.deepEqual(writes(world.requests), []);
        assert.equal(world.pools()[0]?.props["StorDriver/LvmVg"], "othervg");
        assert.equal(result.plan.pools[0]?.state, "conflict");
        const warning = world.kube.events()[0];
        assert.equal(warning?.reason, "StoragePoolConflict");
        assert.match(warning?.note ?? "", /LINSTOR pool is LVM on "othervg"/);
      } finally {
        world.close();
      }
    },
  );
});

Deno.test("NodeAgent.pass() registers nothing for a duplicate tag", async () => {
  const world = createWorld();
  try {
    world.lvm.vgs = [
      vgRow("vg1", "linstor-data"),
      vgRow("vg2", "linstor-data"),
    ];
    await world.agent().pass(AbortSignal.timeout(10_000));
    assert.deepEqual(world.pools(), []);
    assert.deepEqual(writes(world.requests), []);
    assert.equal(world.kube.events()[0]?.reason, "StoragePoolConflict");
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() deletes nothing when lvm hangs or exits non-zero", async (t) => {
  for (const mode of ["hang", "non-zero exit"]) {
    await t.step(mode, async () => {
      const world = createWorld(`nodes:
  - name: n1
    pools:
      - name: data
        provider_kind: LVM
        props: { StorDriver/LvmVg: vg1, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: uuid-vg1 }
`);
      try {
        world.lvm.vgs = [vgRow("vg9", "")];
        if (mode === "hang") world.lvm.hang = true;
        else world.lvm.code = 5;
        const agent = world.agent();
        for (let i = 0; i < 6; i++) {
          await agent.pass(AbortSignal.timeout(10_000));
          await world.clock.advance(GRACE);
        }
        assert.deepEqual(writes(world.requests), []);
        assert.equal(world.pools().length, 1);
      } finally {
        world.close();
      }
    });
  }
});

Deno.test("NodeAgent.pass() waits for the satellite to be ONLINE", async () => {
  const world = createWorld(`nodes:
  - name: n1
    connection_status: OFFLINE
`);
  try {
    world.lvm.vgs = [vgRow("vg1", "linstor-data")];
    const result = await world.agent().pass(AbortSignal.timeout(10_000));
    assert.equal(result.plan.pools[0]?.state, "waiting");
    assert.deepEqual(world.pools(), []);
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() deletes a pool LINSTOR committed before the satellite refused the VG, and backs off", async () => {
  const world = createWorld();
  try {
    world.afterCreate = () =>
      new Response(
        `[{"ret_code":18087937,"message":"New storage pool 'data' on node 'n1' registered."},` +
          `{"ret_code":-4611686018409298978,"message":"Volume group 'vg1' not found"}]`,
        { status: 201, headers: { "content-type": "application/json" } },
      );
    world.lvm.vgs = [vgRow("vg1", "linstor-data")];
    const agent = world.agent();
    const result = await agent.pass(AbortSignal.timeout(10_000));
    assert.equal(result.report.failed.length, 1);
    assert.match(
      String(result.report.failed[0]?.error),
      /Volume group 'vg1' not found.*half-created pool was deleted again/,
    );
    assert.deepEqual(world.pools(), []);
    world.requests.length = 0;
    await world.clock.advance(15_000);
    await agent.pass(AbortSignal.timeout(10_000));
    assert.deepEqual(writes(world.requests), []);
    world.afterCreate = undefined;
    await world.clock.advance(5 * 60_000);
    await agent.pass(AbortSignal.timeout(10_000));
    assert.equal(world.pools().length, 1);
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() changes nothing in dry-run", async () => {
  const world = createWorld(`nodes:
  - name: n1
    pools:
      - name: old
        provider_kind: LVM
        props: { StorDriver/LvmVg: vg0, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: uuid-vg0 }
`);
  try {
    world.lvm.vgs = [vgRow("vg0", ""), vgRow("vg1", "linstor-data")];
    const agent = world.agent({ dryRun: true, removalGraceMs: 0 });
    const result = await agent.pass(AbortSignal.timeout(10_000));
    assert.deepEqual(
      result.report.skipped.map((s) => `${s.operation.name} ${s.reason}`),
      ["CreateStoragePool dry-run", "DeleteStoragePool dry-run"],
    );
    assert.deepEqual(writes(world.requests), []);
    assert.deepEqual(world.pools().map((p) => p.name), ["old"]);
  } finally {
    world.close();
  }
});

Deno.test("NodeAgent.pass() keeps a pool when the tag comes back within the grace period", async () => {
  const world = createWorld(`nodes:
  - name: n1
    pools:
      - name: data
        provider_kind: LVM
        props: { StorDriver/LvmVg: vg1, Aux/linstor-suite.io/managed-by: linstor-suite-agent, Aux/linstor-suite.io/lvm-uuid: uuid-vg1 }
`);
  try {
    const agent = world.agent();
    world.lvm.vgs = [vgRow("vg1", "")];
    await agent.pass(AbortSignal.timeout(10_000));
    await world.clock.advance(GRACE / 2);
    world.lvm.vgs = [vgRow("vg1", "linstor-data")];
    await agent.pass(AbortSignal.timeout(10_000));
    await world.clock.advance(GRACE);
    await agent.pass(AbortSignal.timeout(10_000));
    assert.deepEqual(world.pools().map((p) => p.name), ["data"]);
    // The pool had no published capacity: the agent wrote it once.
    assert.equal(
      world.pools()[0]?.props["Aux/linstor-suite.io/free-bytes"],
      "53687091200",
    );
  } finally {
    world.close();
  }
});
