import assert from "node:assert/strict";
import type {
  V1Node,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import { ANNOTATION_LAST_APPLIED } from "../../src/constants.ts";
import { projectionOf, projectValue, stripObject } from "../../src/kube/mod.ts";
import type { FieldSelection } from "../../src/kube/mod.ts";
import { EXTENDER_FIELDS } from "../../src/modes/extender/mod.ts";

const CREATED = new Date("2026-11-20T10:00:00Z");

/** A CSI PV as external-provisioner writes it (managed fields left out). */
function csiPv(): V1PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: "pvc-1",
      uid: "u-pv",
      resourceVersion: "7",
      creationTimestamp: CREATED,
      annotations: {
        "pv.kubernetes.io/provisioned-by": "linstor.csi.linbit.com",
        "override.piraeus.io/allow-remote-access": "false",
        [ANNOTATION_LAST_APPLIED]: "{}",
      },
      finalizers: ["kubernetes.io/pv-protection"],
      managedFields: [{ manager: "csi-provisioner", operation: "Update" }],
    },
    spec: {
      capacity: { storage: "10Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "linstor-r2",
      volumeMode: "Filesystem",
      claimRef: { namespace: "ns", name: "c1", uid: "u-c1" },
      csi: {
        driver: "linstor.csi.linbit.com",
        volumeHandle: "pvc-1",
        fsType: "ext4",
        volumeAttributes: {
          "linstor.csi.linbit.com/remote-access-policy": "true",
          "linstor.csi.linbit.com/uses-volume-context": "true",
          "linstor.csi.linbit.com/mount-options": "",
        },
      },
    },
    status: { phase: "Bound" },
  };
}

Deno.test("projectionOf() keeps of a PV only what EXTENDER_FIELDS names, plus the identity fields", () => {
  const pv = csiPv();
  const before = structuredClone(pv);
  const out = projectionOf("persistentVolumes", EXTENDER_FIELDS)(pv);
  assert.deepEqual(out, {
    metadata: {
      name: "pvc-1",
      uid: "u-pv",
      resourceVersion: "7",
      annotations: { "override.piraeus.io/allow-remote-access": "false" },
    },
    spec: {
      storageClassName: "linstor-r2",
      csi: {
        driver: "linstor.csi.linbit.com",
        volumeHandle: "pvc-1",
        volumeAttributes: {
          "linstor.csi.linbit.com/remote-access-policy": "true",
          "linstor.csi.linbit.com/uses-volume-context": "true",
        },
      },
    },
  });
  assert.deepEqual(pv, before, "input unchanged");
});

Deno.test("projectionOf() keeps of a claim its binding, class, size and the annotations the extender reads", () => {
  const pvc: V1PersistentVolumeClaim = {
    metadata: {
      name: "c1",
      namespace: "ns",
      uid: "u-c1",
      resourceVersion: "9",
      creationTimestamp: CREATED,
      labels: { app: "db" },
      annotations: {
        "volume.kubernetes.io/selected-node": "n1",
        "volume.kubernetes.io/storage-provisioner": "linstor.csi.linbit.com",
      },
      finalizers: ["kubernetes.io/pvc-protection"],
    },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName: "",
      volumeMode: "Filesystem",
      resources: { requests: { storage: "1Gi" }, limits: { storage: "2Gi" } },
    },
    status: { phase: "Pending" },
  };
  const out = projectionOf("persistentVolumeClaims", EXTENDER_FIELDS)(pvc);
  assert.deepEqual(out, {
    metadata: {
      name: "c1",
      namespace: "ns",
      uid: "u-c1",
      resourceVersion: "9",
      annotations: { "volume.kubernetes.io/selected-node": "n1" },
    },
    spec: { storageClassName: "", resources: { requests: { storage: "1Gi" } } },
  });
  assert.equal("volumeName" in out.spec!, false, "absent stays absent");
});

Deno.test("projectionOf() keeps of a node its name, identity and labels", () => {
  const node: V1Node = {
    metadata: {
      name: "n1",
      uid: "u-n1",
      resourceVersion: "3",
      creationTimestamp: CREATED,
      labels: { "kubernetes.io/hostname": "n1" },
      annotations: { "node.alpha.kubernetes.io/ttl": "0" },
    },
    spec: { podCIDR: "10.0.0.0/24", unschedulable: true },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
  const out = projectionOf("nodes", EXTENDER_FIELDS)(node);
  assert.deepEqual(out, {
    metadata: {
      name: "n1",
      uid: "u-n1",
      resourceVersion: "3",
      labels: { "kubernetes.io/hostname": "n1" },
    },
  });
  assert.equal(
    out.metadata!.labels,
    node.metadata!.labels,
    "kept whole, shared",
  );
});

Deno.test("projectionOf() falls back to stripObject() for a kind without fields", () => {
  const pv = csiPv();
  assert.deepEqual(
    projectionOf("persistentVolumes", {})(pv),
    stripObject("persistentVolumes", pv),
  );
});

Deno.test("projectValue() selects fields by name, prefix and per array element", async (t) => {
  await t.step("`true` keeps a value whole", () => {
    const value = { a: { b: 1 } };
    assert.equal(projectValue(value, true), value);
  });
  await t.step("an object selection copies only the named fields", () => {
    assert.deepEqual(
      projectValue({ a: 1, b: { c: 2, d: 3 }, e: 4 }, { b: { d: true } }),
      { b: { d: 3 } },
    );
  });
  await t.step("a name ending in * keeps every field with that prefix", () => {
    assert.deepEqual(
      projectValue({ "x.io/a": "1", "x.io/b": "2", "y.io/a": "3" }, {
        "x.io/*": true,
      }),
      { "x.io/a": "1", "x.io/b": "2" },
    );
  });
  await t.step("an array applies the selection to each element", () => {
    assert.deepEqual(
      projectValue({ list: [{ a: 1, b: 2 }, { a: 3 }, "text"] }, {
        list: { a: true },
      }),
      { list: [{ a: 1 }, { a: 3 }, "text"] },
    );
  });
  await t.step("absent and undefined fields stay absent; null is kept", () => {
    const out = projectValue({ a: undefined, c: null }, {
      a: true,
      b: true,
      c: true,
    }) as Record<string, unknown>;
    assert.deepEqual(Object.keys(out), ["c"]);
    assert.equal(out.c, null);
  });
  await t.step(
    "the last-applied annotation is dropped from annotations kept whole",
    () => {
      assert.deepEqual(
        projectValue({
          annotations: { a: "1", [ANNOTATION_LAST_APPLIED]: "{}" },
        }, { annotations: true }),
        { annotations: { a: "1" } },
      );
    },
  );
});

Deno.test("projectValue() makes plain copies and shares one frozen empty copy when a selection keeps nothing", async (t) => {
  const selection: FieldSelection = {
    metadata: { annotations: { "x.io/*": true } },
  };
  await t.step("copies are plain objects", () => {
    const out = projectValue(
      { metadata: { annotations: { "x.io/a": "1" } } },
      selection,
    ) as { metadata: { annotations: object } };
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.equal(Object.getPrototypeOf(out.metadata), Object.prototype);
    assert.equal(out.constructor, Object);
    assert.equal(Object.isFrozen(out.metadata.annotations), false);
  });
  await t.step("an object of which nothing is kept is one frozen copy", () => {
    const first = projectValue(
      { metadata: { annotations: { "y.io/a": "1" } } },
      selection,
    ) as { metadata: { annotations: object } };
    const second = projectValue(
      { metadata: { annotations: {} } },
      selection,
    ) as { metadata: { annotations: object } };
    assert.deepEqual(first, { metadata: { annotations: {} } });
    assert.equal(first.metadata.annotations, second.metadata.annotations);
    assert.ok(Object.isFrozen(first.metadata.annotations));
    assert.throws(() => {
      (first.metadata.annotations as Record<string, string>)["x.io/b"] = "2";
    }, TypeError);
  });
});
