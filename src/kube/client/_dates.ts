/**
 * The timestamps of the wire objects the adapter reads, turned into `Date`s
 * in place: what client-node's model deserializer did for these kinds,
 * without loading its ~900 model classes (about 12 MiB of resident memory
 * per process) and without copying every object into class instances.
 *
 * `DATE_FIELDS` lists, per model, the paths client-node 1.4.0's
 * `ObjectSerializer` types as `Date` (`[]` steps into every array element);
 * `tests/kube/client/dates_test.ts` derives the same table from client-node
 * and fails when they differ (for instance after a client-node upgrade).
 * `V1MicroTime` fields (Lease times, an Event's `eventTime`) stay strings,
 * as client-node's deserializer leaves them.
 *
 * @module
 */

const META = ["metadata.creationTimestamp", "metadata.deletionTimestamp"];

const CONTAINER_STATES = [
  "lastState.running.startedAt",
  "lastState.terminated.finishedAt",
  "lastState.terminated.startedAt",
  "state.running.startedAt",
  "state.terminated.finishedAt",
  "state.terminated.startedAt",
];

/** Paths of the `Date` fields of each model the adapter deserializes. */
export const DATE_FIELDS: Readonly<Record<string, readonly string[]>> = Object
  .freeze({
    V1Node: [
      ...META,
      "metadata.managedFields[].time",
      "spec.taints[].timeAdded",
      "status.conditions[].lastHeartbeatTime",
      "status.conditions[].lastTransitionTime",
    ],
    V1Pod: [
      ...META,
      "metadata.managedFields[].time",
      "spec.volumes[].ephemeral.volumeClaimTemplate.metadata.creationTimestamp",
      "spec.volumes[].ephemeral.volumeClaimTemplate.metadata.deletionTimestamp",
      "spec.volumes[].ephemeral.volumeClaimTemplate.metadata.managedFields[].time",
      "status.conditions[].lastProbeTime",
      "status.conditions[].lastTransitionTime",
      ...CONTAINER_STATES.map((p) => `status.containerStatuses[].${p}`),
      ...CONTAINER_STATES.map((p) =>
        `status.ephemeralContainerStatuses[].${p}`
      ),
      ...CONTAINER_STATES.map((p) => `status.initContainerStatuses[].${p}`),
      "status.startTime",
    ],
    V1PersistentVolume: [
      ...META,
      "metadata.managedFields[].time",
      "status.lastPhaseTransitionTime",
    ],
    V1PersistentVolumeClaim: [
      ...META,
      "metadata.managedFields[].time",
      "status.conditions[].lastProbeTime",
      "status.conditions[].lastTransitionTime",
    ],
    V1StorageClass: [...META, "metadata.managedFields[].time"],
    V1VolumeAttachment: [
      ...META,
      "metadata.managedFields[].time",
      "status.attachError.time",
      "status.detachError.time",
    ],
    V1Lease: [...META, "metadata.managedFields[].time"],
    EventsV1Event: [
      "deprecatedFirstTimestamp",
      "deprecatedLastTimestamp",
      ...META,
      "metadata.managedFields[].time",
    ],
    V1Namespace: [
      ...META,
      "metadata.managedFields[].time",
      "status.conditions[].lastTransitionTime",
    ],
  });

/** Field name → a nested tree, or `true` for a `Date` leaf. */
interface DateTree {
  readonly [field: string]: DateTree | true;
}

function compile(paths: readonly string[]): DateTree {
  // deno-lint-ignore no-explicit-any
  const root: Record<string, any> = {};
  for (const path of paths) {
    const steps = path.split(".").map((step) => step.replace(/\[\]$/, ""));
    let node = root;
    steps.forEach((step, i) => {
      if (i === steps.length - 1) node[step] = true;
      else node = node[step] ??= {};
    });
  }
  return root;
}

const TREES: ReadonlyMap<string, DateTree> = new Map(
  Object.entries(DATE_FIELDS).map(([type, paths]) => [type, compile(paths)]),
);

function toDate(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) return value.map(toDate);
  return new Date(value as string);
}

function revive(value: unknown, tree: DateTree): void {
  if (Array.isArray(value)) {
    for (const element of value) revive(element, tree);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const record = value as Record<string, unknown>;
  for (const field in tree) {
    const child = record[field];
    if (child === undefined || child === null) continue;
    const sub = tree[field]!;
    if (sub === true) record[field] = toDate(child);
    else revive(child, sub);
  }
}

/**
 * Turns the timestamps of `json` (a freshly parsed wire object of client-node
 * model `type`) into `Date`s in place and returns it; other models are
 * returned as they are.
 */
export function reviveDates<T>(type: string, json: unknown): T {
  const tree = TREES.get(type);
  if (tree !== undefined) revive(json, tree);
  return json as T;
}
