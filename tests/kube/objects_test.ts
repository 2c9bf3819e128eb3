import assert from "node:assert/strict";
import type {
  V1Node,
  V1PersistentVolume,
  V1Pod,
} from "@kubernetes/client-node";
import {
  csiVolumeHandle,
  isNodeReady,
  objectKey,
  podClaimNames,
} from "../../src/kube/mod.ts";

Deno.test("objectKey() joins namespace and name, or returns the name", async (t) => {
  const cases: [string, Parameters<typeof objectKey>[0], string][] = [
    ["namespaced", { metadata: { namespace: "ns", name: "a" } }, "ns/a"],
    ["cluster-scoped", { metadata: { name: "a" } }, "a"],
    ["empty namespace", { metadata: { namespace: "", name: "a" } }, "a"],
    ["no metadata", {}, ""],
  ];
  for (const [name, obj, want] of cases) {
    await t.step(name, () => assert.equal(objectKey(obj), want));
  }
});

Deno.test("isNodeReady() is true only for a Ready=True condition", async (t) => {
  const node = (status?: string): V1Node => ({
    metadata: { name: "n" },
    status: status === undefined
      ? {}
      : { conditions: [{ type: "Ready", status }] },
  });
  await t.step("True", () => assert.equal(isNodeReady(node("True")), true));
  await t.step("False", () => assert.equal(isNodeReady(node("False")), false));
  await t.step(
    "Unknown",
    () => assert.equal(isNodeReady(node("Unknown")), false),
  );
  await t.step("no conditions", () => assert.equal(isNodeReady(node()), false));
});

Deno.test("podClaimNames() lists claims incl. generic ephemeral volumes, without duplicates", () => {
  const pod: V1Pod = {
    metadata: { name: "web-0", namespace: "ns" },
    spec: {
      containers: [],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: "data-web-0" } },
        { name: "cfg", configMap: { name: "c" } },
        { name: "scratch", ephemeral: { volumeClaimTemplate: { spec: {} } } },
        { name: "again", persistentVolumeClaim: { claimName: "data-web-0" } },
      ],
    },
  };
  assert.deepEqual(podClaimNames(pod), ["data-web-0", "web-0-scratch"]);
  assert.deepEqual(podClaimNames({ metadata: { name: "x" } }), []);
});

Deno.test("csiVolumeHandle() returns the handle of LINSTOR CSI PVs only", async (t) => {
  const pv = (driver: string, handle: string): V1PersistentVolume => ({
    metadata: { name: "pv" },
    spec: { csi: { driver, volumeHandle: handle } },
  });
  await t.step("linstor", () =>
    assert.equal(
      csiVolumeHandle(pv("linstor.csi.linbit.com", "pvc-1")),
      "pvc-1",
    ));
  await t.step(
    "other driver",
    () =>
      assert.equal(csiVolumeHandle(pv("ebs.csi.aws.com", "vol")), undefined),
  );
  await t.step("explicit driver", () =>
    assert.equal(
      csiVolumeHandle(pv("ebs.csi.aws.com", "vol"), {
        driver: "ebs.csi.aws.com",
      }),
      "vol",
    ));
  await t.step("empty handle", () =>
    assert.equal(
      csiVolumeHandle(pv("linstor.csi.linbit.com", "")),
      undefined,
    ));
  await t.step("not CSI", () =>
    assert.equal(
      csiVolumeHandle({
        metadata: { name: "x" },
        spec: { hostPath: { path: "/" } },
      }),
      undefined,
    ));
});
