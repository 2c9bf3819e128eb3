/**
 * Binds the planners' data actions to LINSTOR and Kubernetes calls.
 *
 * @module
 */
import type { V1StorageClass } from "@kubernetes/client-node";
import {
  AGENT_ACTION_SCAN,
  AGENT_OWNER,
  EVENT_REASON_AGENT_POOL_CREATED,
  EVENT_REASON_AGENT_POOL_DELETED,
  EVENT_REASON_AGENT_POOL_KEPT,
  LINSTOR_PROP_AGENT_FREE_BYTES,
  LINSTOR_PROP_AGENT_LVM_UUID,
  LINSTOR_PROP_AGENT_MANAGED_BY,
  LINSTOR_PROP_LVM_VG,
  LINSTOR_PROP_THIN_POOL,
} from "../../constants.ts";
import {
  type EventDetails,
  type InvolvedObject,
  isAlreadyExists as isKubeAlreadyExists,
  isNotFound as isKubeNotFound,
  type KubeApi,
} from "../../kube/mod.ts";
import {
  isAlreadyExists,
  isNotFound,
  type LinstorClient,
  sameEnum,
  type StoragePool,
} from "../../linstor/mod.ts";
import { errorMessage, type Operation } from "../../reconcile/mod.ts";
import type { PoolCandidate } from "./_candidates.ts";
import {
  hasPoolErrors,
  isOwnedPool,
  type PoolAction,
  type StorageClassAction,
  storPoolNameOf,
} from "./plan.ts";

/** The LINSTOR calls the agent makes. */
export interface AgentLinstor {
  readonly nodes: Pick<LinstorClient["nodes"], "get">;
  readonly storagePools: Pick<
    LinstorClient["storagePools"],
    "create" | "get" | "delete" | "list" | "view" | "modify"
  >;
  readonly resources: Pick<LinstorClient["resources"], "view">;
}

/** Where the agent's Events go (the Node object of this agent). */
export type NodeEvents = (
  node: string,
  event: EventDetails,
) => Promise<void>;

/** An Event sink over `KubeApi.recordEvent()` about Node `node`. */
export function nodeEventsFrom(kube: Pick<KubeApi, "recordEvent">): NodeEvents {
  return (node, event) => kube.recordEvent(nodeObject(node), event);
}

function nodeObject(node: string): InvolvedObject {
  return { apiVersion: "v1", kind: "Node", metadata: { name: node } };
}

/** The error a pool operation throws when LINSTOR or the node refuses. */
export class StoragePoolError extends Error {
  /** Always `"StoragePoolError"`. */
  override name = "StoragePoolError";
  /** Node of the pool. */
  readonly node: string;
  /** The pool. */
  readonly pool: string;

  /** Creates the error. */
  constructor(
    message: string,
    init: { node: string; pool: string; cause?: unknown },
  ) {
    super(message, init.cause === undefined ? {} : { cause: init.cause });
    this.node = init.node;
    this.pool = init.pool;
  }
}

/** The props the agent creates a pool with. */
export function poolProps(candidate: PoolCandidate): Record<string, string> {
  return {
    [LINSTOR_PROP_LVM_VG]: candidate.vg,
    ...(candidate.thinPool
      ? { [LINSTOR_PROP_THIN_POOL]: candidate.thinPool }
      : {}),
    [LINSTOR_PROP_AGENT_MANAGED_BY]: AGENT_OWNER,
    [LINSTOR_PROP_AGENT_LVM_UUID]: candidate.lvmUuid,
    [LINSTOR_PROP_AGENT_FREE_BYTES]: String(candidate.capacity.freeBytes),
  };
}

/** Turns pool actions into operations. */
export function poolOperations(
  actions: readonly PoolAction[],
  deps: { linstor: AgentLinstor; events: NodeEvents },
): Operation[] {
  return actions.map((action): Operation => {
    switch (action.type) {
      case "CreatePool":
        return {
          name: "CreateStoragePool",
          key: action.key,
          summary:
            `create ${action.candidate.kind} storage pool "${action.candidate.pool}" on node "${action.node}" from ${action.candidate.object}`,
          execute: (signal) =>
            createPool(action.node, action.candidate, { ...deps, signal }),
        };
      case "DeletePool":
        return {
          name: "DeleteStoragePool",
          key: action.key,
          summary:
            `delete storage pool "${action.pool}" on node "${action.node}" (its tag is gone) if no volume uses it`,
          execute: (signal) => deletePool(action, { ...deps, signal }),
        };
      case "PublishCapacity":
        return {
          name: "PublishPoolCapacity",
          key: action.key,
          summary:
            `set ${LINSTOR_PROP_AGENT_FREE_BYTES}=${action.freeBytes} on storage pool "${action.pool}" of node "${action.node}"`,
          execute: async (signal) => {
            await deps.linstor.storagePools.modify(action.node, action.pool, {
              override_props: {
                [LINSTOR_PROP_AGENT_FREE_BYTES]: String(action.freeBytes),
              },
              signal,
            });
          },
        };
      case "NodeEvent":
        return {
          name: "RecordNodeEvent",
          key: action.key,
          summary: `warn on node "${action.node}": ${action.message}`,
          execute: () =>
            deps.events(action.node, {
              type: "Warning",
              reason: action.reason,
              message: action.message,
              action: AGENT_ACTION_SCAN,
            }),
        };
    }
  });
}

/**
 * Creates the pool, then checks what LINSTOR stored.
 *
 * 1. `POST` the pool with `StorDriver/LvmVg` (+ `ThinPool`) and the
 *    ownership properties.
 * 2. "Already exists" (a concurrent create): re-read and accept it only if
 *    it is the same pool.
 * 3. Any other failure, or a pool that reads back with error reports: the
 *    controller may have committed the pool before the satellite refused
 *    the VG, so a pool that carries this agent's ownership and LVM UUID is
 *    deleted again; then the create counts as failed.
 */
async function createPool(
  node: string,
  candidate: PoolCandidate,
  deps: { linstor: AgentLinstor; events: NodeEvents; signal: AbortSignal },
): Promise<void> {
  const { linstor, signal } = deps;
  const name = candidate.pool;
  try {
    await linstor.storagePools.create(node, {
      storage_pool_name: name,
      provider_kind: candidate.kind,
      props: poolProps(candidate),
    }, { signal });
  } catch (error) {
    if (isAlreadyExists(error)) {
      const existing = await linstor.storagePools.get(node, name, { signal });
      if (!samePool(existing, candidate)) {
        throw new StoragePoolError(
          `Cannot create storage pool "${name}" on node "${node}": it was created meanwhile on "${
            storPoolNameOf(existing)
          }"`,
          { node, pool: name, cause: error },
        );
      }
      return;
    }
    const removed = await removeHalfCreated(node, candidate, deps);
    throw new StoragePoolError(
      `Cannot create storage pool "${name}" on node "${node}" from ${candidate.object}: ${
        errorMessage(error)
      }${removed ? " (the half-created pool was deleted again)" : ""}`,
      { node, pool: name, cause: error },
    );
  }
  const stored = await linstor.storagePools.get(node, name, { signal });
  if (hasPoolErrors(stored) || !samePool(stored, candidate)) {
    const reports = (stored.reports ?? []).map((rc) => rc.message).join("; ");
    const removed = await removeHalfCreated(node, candidate, deps);
    throw new StoragePoolError(
      `Cannot create storage pool "${name}" on node "${node}" from ${candidate.object}: LINSTOR reports ${
        reports || `"${storPoolNameOf(stored)}"`
      }${removed ? " (the pool was deleted again)" : ""}`,
      { node, pool: name },
    );
  }
  await deps.events(node, {
    type: "Normal",
    reason: EVENT_REASON_AGENT_POOL_CREATED,
    message:
      `Created ${candidate.kind} storage pool "${name}" on ${candidate.object}`,
    action: AGENT_ACTION_SCAN,
  });
}

/** Deletes a pool this agent just created for `candidate`; true when it did. */
async function removeHalfCreated(
  node: string,
  candidate: PoolCandidate,
  deps: { linstor: AgentLinstor; signal: AbortSignal },
): Promise<boolean> {
  try {
    const pool = await deps.linstor.storagePools.get(node, candidate.pool, {
      signal: deps.signal,
    });
    if (
      !isOwnedPool(pool) ||
      pool.props?.[LINSTOR_PROP_AGENT_LVM_UUID] !== candidate.lvmUuid
    ) {
      return false;
    }
    await deps.linstor.storagePools.delete(node, candidate.pool, {
      signal: deps.signal,
    });
    return true;
  } catch {
    // Not there (the create never committed), or LINSTOR unreachable: the
    // next pass sees the pool, if any, and reports it.
    return false;
  }
}

function samePool(pool: StoragePool, candidate: PoolCandidate): boolean {
  return sameEnum(pool.provider_kind, candidate.kind) &&
    storPoolNameOf(pool) === candidate.storPoolName;
}

/**
 * Deletes an owned pool whose tag is gone.
 *
 * Preconditions, re-checked against LINSTOR right before the delete: the
 * pool still carries the agent's ownership and the LVM UUID the plan saw,
 * and no resource on the node uses it (LINSTOR refuses in-use pools too).
 * A missing pool is success.
 */
async function deletePool(
  action: { node: string; pool: string; lvmUuid: string | undefined },
  deps: { linstor: AgentLinstor; events: NodeEvents; signal: AbortSignal },
): Promise<void> {
  const { linstor, signal } = deps;
  const { node, pool: name } = action;
  let pool: StoragePool;
  try {
    pool = await linstor.storagePools.get(node, name, { signal });
  } catch (error) {
    if (isNotFound(error)) return;
    throw error;
  }
  if (
    !isOwnedPool(pool) ||
    pool.props?.[LINSTOR_PROP_AGENT_LVM_UUID] !== action.lvmUuid
  ) {
    throw new StoragePoolError(
      `Cannot delete storage pool "${name}" on node "${node}": it changed owner or volume group since the plan`,
      { node, pool: name },
    );
  }
  const users = await linstor.resources.view({
    nodes: [node],
    storagePools: [name],
    signal,
  });
  if (users.length > 0) {
    const names = [...new Set(users.map((r) => r.name ?? "?"))].sort();
    const message =
      `Cannot delete storage pool "${name}" on node "${node}": its tag is gone but ${names.length} resource(s) still use it (${
        names.slice(0, 5).join(", ")
      }${names.length > 5 ? ", …" : ""})`;
    await deps.events(node, {
      type: "Warning",
      reason: EVENT_REASON_AGENT_POOL_KEPT,
      message,
      action: AGENT_ACTION_SCAN,
    });
    throw new StoragePoolError(message, { node, pool: name });
  }
  await linstor.storagePools.delete(node, name, { signal });
  await deps.events(node, {
    type: "Normal",
    reason: EVENT_REASON_AGENT_POOL_DELETED,
    message: `Deleted storage pool "${name}": its tag is gone`,
    action: AGENT_ACTION_SCAN,
  });
}

/** The Kubernetes calls of the StorageClass pass. */
export type AgentKube = Pick<
  KubeApi,
  "create" | "delete" | "list"
>;

/** Turns StorageClass actions into operations. */
export function storageClassOperations(
  actions: readonly StorageClassAction[],
  deps: { kube: AgentKube },
): Operation[] {
  const { kube } = deps;
  return actions.map((action): Operation => {
    const name = action.type === "DeleteStorageClass"
      ? action.current.metadata?.name ?? ""
      : action.storageClass.metadata?.name ?? "";
    switch (action.type) {
      case "CreateStorageClass":
        return {
          name: "CreateStorageClass",
          key: action.key,
          summary: `create StorageClass "${name}"`,
          execute: (signal) => createClass(kube, action.storageClass, signal),
        };
      case "RecreateStorageClass":
        return {
          name: "RecreateStorageClass",
          key: action.key,
          summary:
            `re-create StorageClass "${name}" (${action.drift}), keeping its labels and annotations`,
          execute: async (signal) => {
            await deleteClass(kube, action.current, signal);
            await createClass(kube, action.storageClass, signal);
          },
        };
      case "DeleteStorageClass":
        return {
          name: "DeleteStorageClass",
          key: action.key,
          summary: `delete StorageClass "${name}" (no longer wanted)`,
          execute: (signal) => deleteClass(kube, action.current, signal),
        };
    }
  });
}

async function createClass(
  kube: AgentKube,
  sc: V1StorageClass,
  signal: AbortSignal,
): Promise<void> {
  try {
    await kube.create("storageClasses", sc, { signal });
  } catch (error) {
    // Another leader (or the previous pass) won the race: the next pass
    // compares what exists.
    if (!isKubeAlreadyExists(error)) throw error;
  }
}

async function deleteClass(
  kube: AgentKube,
  sc: V1StorageClass,
  signal: AbortSignal,
): Promise<void> {
  try {
    await kube.delete(
      { kind: "storageClasses", name: sc.metadata?.name ?? "" },
      {
        preconditions: {
          ...(sc.metadata?.uid ? { uid: sc.metadata.uid } : {}),
          ...(sc.metadata?.resourceVersion
            ? { resourceVersion: sc.metadata.resourceVersion }
            : {}),
        },
        signal,
      },
    );
  } catch (error) {
    if (!isKubeNotFound(error)) throw error;
  }
}
