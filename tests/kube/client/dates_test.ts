/**
 * The adapter's timestamp table matches client-node's models, and reviving
 * dates gives what client-node's `ObjectSerializer` gave (as plain objects).
 *
 * @module
 */
import assert from "node:assert/strict";
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";
import { DATE_FIELDS, reviveDates } from "../../../src/kube/client/_dates.ts";
import { RESOURCES } from "../../../src/kube/client/_http.ts";

interface AttributeType {
  readonly name: string;
  readonly baseName: string;
  readonly type: string;
}

type Model = { getAttributeTypeMap(): AttributeType[] };

/** Every `Date` path of `type` as client-node's generated models declare it. */
function datePaths(type: string, path = "", stack: string[] = []): string[] {
  type = type.replace(/ \| (null|undefined)$/, "");
  if (type.startsWith("Array<")) {
    return datePaths(type.slice("Array<".length, -1), `${path}[]`, stack);
  }
  if (type.startsWith("{ [key: string]: ")) {
    const inner = datePaths(type.slice(17, -3), path, stack);
    assert.equal(inner.length, 0, `a Date inside a map at ${path}`);
    return [];
  }
  if (type === "Date") return [path];
  const model = (models as unknown as Record<string, Model | undefined>)[type];
  if (typeof model?.getAttributeTypeMap !== "function") return [];
  assert.ok(!stack.includes(type), `recursive model ${type} at ${path}`);
  return model.getAttributeTypeMap().flatMap((attribute) => {
    assert.equal(attribute.name, attribute.baseName, `renamed ${path}`);
    return datePaths(
      attribute.type,
      path === "" ? attribute.baseName : `${path}.${attribute.baseName}`,
      [...stack, type],
    );
  });
}

Deno.test("DATE_FIELDS lists the Date fields client-node's model of every resource declares", () => {
  for (const info of Object.values(RESOURCES)) {
    assert.deepEqual(
      [...(DATE_FIELDS[info.type] ?? [])].sort(),
      datePaths(info.type).sort(),
      `Date fields of ${info.type}`,
    );
  }
});

/** A wire object with timestamps at most of the places that have them. */
function wirePod(): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "p",
      namespace: "ns",
      creationTimestamp: "2026-01-02T03:04:05Z",
      labels: { creationTimestamp: "2026-01-02T03:04:05Z" },
      annotations: { "example.com/time": "2026-01-02T03:04:05Z" },
      managedFields: [{ manager: "m", time: "2026-01-02T03:04:05Z" }],
      futureField: { nested: "kept" },
    },
    spec: {
      nodeName: "n1",
      volumes: [{
        name: "e",
        ephemeral: {
          volumeClaimTemplate: {
            metadata: { creationTimestamp: null },
            spec: { resources: { requests: { storage: "1Gi" } } },
          },
        },
      }, { name: "plain", emptyDir: {} }],
      containers: [{ name: "c", ports: [{ containerPort: 80 }] }],
    },
    status: {
      phase: "Running",
      startTime: "2026-01-02T03:04:06Z",
      conditions: [{
        type: "Ready",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: "2026-01-02T03:04:07Z",
      }],
      containerStatuses: [{
        name: "c",
        state: { running: { startedAt: "2026-01-02T03:04:08Z" } },
        lastState: {
          terminated: {
            exitCode: 1,
            startedAt: "2026-01-02T03:00:00Z",
            finishedAt: "2026-01-02T03:01:00Z",
          },
        },
      }],
    },
  };
}

/** JSON text with sorted keys and every `Date` marked, so a string and a `Date` differ. */
function canonical(value: unknown): string {
  return JSON.stringify(value, function (key, v) {
    const raw = (this as Record<string, unknown>)[key];
    if (raw instanceof Date) return { date: raw.toISOString() };
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.entries(v).sort(([a], [b]) => a < b ? -1 : 1),
      );
    }
    return v;
  });
}

Deno.test("reviveDates() gives client-node's deserialized Pod as plain data when the wire object has timestamps", () => {
  const expected = ObjectSerializer.deserialize(wirePod(), "V1Pod", "");
  const revived = reviveDates<Record<string, unknown>>("V1Pod", wirePod());
  // Same values, Dates at the same places; labels and annotations stay text.
  const { futureField, ...knownMetadata } = revived.metadata as Record<
    string,
    unknown
  >;
  assert.equal(
    canonical({ ...revived, metadata: knownMetadata }),
    canonical(expected),
  );
  assert.deepEqual(futureField, { nested: "kept" });
  // deno-lint-ignore no-explicit-any
  const pod = revived as any;
  assert.ok(pod.metadata.creationTimestamp instanceof Date);
  assert.equal(pod.metadata.labels.creationTimestamp, "2026-01-02T03:04:05Z");
  assert.equal(pod.status.conditions[0].lastProbeTime, null);
});

Deno.test("reviveDates() leaves a Lease's MicroTime fields as text when it revives a Lease", () => {
  const lease = reviveDates<Record<string, unknown>>("V1Lease", {
    metadata: { name: "l", creationTimestamp: "2026-01-02T03:04:05Z" },
    spec: { renewTime: "2026-01-02T03:04:05.123456Z", holderIdentity: "a" },
  });
  const expected = ObjectSerializer.deserialize(
    {
      metadata: { name: "l", creationTimestamp: "2026-01-02T03:04:05Z" },
      spec: { renewTime: "2026-01-02T03:04:05.123456Z", holderIdentity: "a" },
    },
    "V1Lease",
    "",
  );
  assert.equal(canonical(lease), canonical(expected));
});

Deno.test("reviveDates() returns objects of unknown models as they are", () => {
  const status = { kind: "Status", metadata: { creationTimestamp: "x" } };
  assert.equal(reviveDates("V1Status", status), status);
  assert.equal(status.metadata.creationTimestamp, "x");
});
