/**
 * `buildSnapshot()`: a `Snapshot` from small literals, built by the real
 * state model code (`ClusterState`), so indexes are exactly what production
 * computes.
 *
 * @module
 */
import {
  type KubeFields,
  type KubeKind,
  type KubeObjectOf,
  projectionOf,
} from "../../src/kube/mod.ts";
import {
  ClusterState,
  type LinstorData,
  type Snapshot,
} from "../../src/state/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { guardProjection } from "./projection_guard.ts";

/** LINSTOR input of `buildSnapshot()`; omitted lists are empty. */
export interface LinstorInput extends Partial<LinstorData> {
  /** When the data was polled; default `takenAt`. `null` = never polled. */
  observedAt?: number | null;
  /** Message of a failed poll after the data. */
  lastError?: string;
}

/** Kubernetes input of `buildSnapshot()`: objects per kind. */
export type KubeInput = { [K in KubeKind]?: readonly KubeObjectOf<K>[] };

/** Input of `buildSnapshot()`. */
export interface SnapshotInput {
  linstor?: LinstorInput;
  kube?: KubeInput;
  /**
   * Subscribed kinds; default: the kinds present in `kube`. Kinds listed
   * here but absent from `kube` stay unsynced.
   */
  kinds?: readonly KubeKind[];
  /** `takenAt` of the snapshot. @default {2026-01-01T00:00:00Z} */
  takenAt?: number;
  /**
   * A mode's projection (`EXTENDER_FIELDS`, …): objects reach the state
   * model as that mode's informers would hand them over, guarded so that
   * reading a field the projection dropped throws (`guardProjection()`).
   * @default {the objects as given}
   */
  fields?: KubeFields;
}

/** Builds a snapshot from literals through `ClusterState`. */
export function buildSnapshot(input: SnapshotInput = {}): Snapshot {
  const clock = new FakeClock(input.takenAt);
  const kube = input.kube ?? {};
  const kinds = input.kinds ?? (Object.keys(kube) as KubeKind[]);
  const state = new ClusterState({ clock }, { kinds, wakeupDebounceMs: 0 });
  const linstor = input.linstor;
  if (linstor !== undefined && linstor.observedAt !== null) {
    state.applyLinstorData({
      nodes: linstor.nodes ?? [],
      storagePools: linstor.storagePools ?? [],
      resources: linstor.resources ?? [],
      resourceDefinitions: linstor.resourceDefinitions ?? [],
      resourceGroups: linstor.resourceGroups ?? [],
    }, linstor.observedAt ?? clock.now());
  }
  if (linstor?.lastError !== undefined) {
    state.applyLinstorError(new Error(linstor.lastError));
  }
  for (const kind of kinds) {
    const items = kube[kind];
    if (items !== undefined) {
      const project = input.fields === undefined
        ? undefined
        : projectionOf(kind, input.fields) as (item: object) => object;
      (state.sink(kind) as { replace(items: readonly unknown[]): void })
        .replace(
          project === undefined
            ? items
            : items.map((item) => guardProjection(item, project(item))),
        );
    }
  }
  return state.snapshot();
}
