import assert from "node:assert/strict";
import {
  allowedTopologies,
  inTopologies,
  parseRemoteAccessPolicy,
} from "../../src/csi/mod.ts";

const ZONE = "topology.kubernetes.io/zone";
const HOST = "linbit.com/hostname";

Deno.test("allowedTopologies() follows linstor-csi's GenericAccessibleTopologies", async (t) => {
  const n1 = { [HOST]: "n1", [ZONE]: "a" };
  const n2 = { [HOST]: "n2", [ZONE]: "a" };
  const n3 = { [HOST]: "n3" };
  await t.step("no replica yet is anywhere", () => {
    assert.equal(
      allowedTopologies(parseRemoteAccessPolicy("false"), []),
      undefined,
    );
  });
  await t.step("local only: one topology per replica node", () => {
    assert.deepEqual(
      allowedTopologies(parseRemoteAccessPolicy("false"), [n1, n2]),
      [{ [HOST]: "n1" }, { [HOST]: "n2" }],
    );
  });
  await t.step("same zone: deduplicated", () => {
    assert.deepEqual(
      allowedTopologies(parseRemoteAccessPolicy(`- fromSame: [${ZONE}]`), [
        n1,
        n2,
      ]),
      [{ [ZONE]: "a" }],
    );
  });
  await t.step(
    "a key the replica node lacks is dropped; none left is anywhere",
    () => {
      assert.equal(
        allowedTopologies(parseRemoteAccessPolicy(`- fromSame: [${ZONE}]`), [
          n3,
        ]),
        undefined,
      );
      assert.deepEqual(
        allowedTopologies(
          parseRemoteAccessPolicy(`- fromSame: [${HOST}, ${ZONE}]`),
          [n3],
        ),
        [{ [HOST]: "n3" }],
      );
    },
  );
});

Deno.test("inTopologies() matches a node carrying every key of one topology", async (t) => {
  const topologies = [{ [ZONE]: "a", rack: "1" }, { [HOST]: "n9" }];
  const cases: { segments: Record<string, string>; want: boolean }[] = [
    { segments: { [ZONE]: "a", rack: "1", [HOST]: "n1" }, want: true },
    { segments: { [ZONE]: "a", [HOST]: "n1" }, want: false },
    { segments: { [HOST]: "n9" }, want: true },
    { segments: {}, want: false },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.segments), () => {
      assert.equal(inTopologies(topologies, c.segments), c.want);
    });
  }
});
