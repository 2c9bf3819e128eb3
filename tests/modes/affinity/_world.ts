/**
 * A small world for affinity operation tests: the LINSTOR simulator behind
 * the real `LinstorClient`, the faithful `FakeKube`, a fake clock, and a
 * state stub building Snapshots from both.
 *
 * @module
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
} from "@kubernetes/client-node";
import type { Registry } from "../../../src/observability/mod.ts";
import { LinstorClient } from "../../../src/linstor/mod.ts";
import {
  affinityLinstorFrom,
  type AffinityMode,
  type AffinityModeOptions,
  createAffinityMode,
} from "../../../src/modes/affinity/mod.ts";
import {
  createSimulator,
  parseScenario,
  type Simulator,
} from "../../../src/sim/mod.ts";
import type { Snapshot } from "../../../src/state/types.ts";
import type { KubeApi } from "../../../src/kube/mod.ts";
import { buildSnapshot } from "../../_builders/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";

/** Cluster identity used by the world's mode. */
export const CLUSTER = "cluster-a";
/** LINSTOR property of the recovery record. */
export const RECORD_PROP = "Aux/linstor-suite.io/affinity-recovery";
/** PVC annotation of the recovery record. */
export const RECORD_ANNOTATION = "affinity.linstor-suite.io/recovery";

/** Three nodes (zones z1, z1, z2), one thin pool each, volumes on node `a`. */
export function scenarioYaml(volumes: string[]): string {
  const nodes = ["a", "b", "c"].map((n) =>
    `  - name: ${n}
    props:
      Aux/topology/kubernetes.io/hostname: ${n}
      Aux/topology/topology.kubernetes.io/zone: ${n === "c" ? "z2" : "z1"}
    pools:
      - { name: thin, provider_kind: LVM_THIN, capacity: 1000GiB }`
  ).join("\n");
  const vols = volumes.map((v) =>
    `  - name: ${v}
    resource_group: rg
    size: 1GiB
    replicas:
      - { node: a }`
  ).join("\n");
  return `nodes:
${nodes}
resource_groups:
  - name: rg
    select_filter: { place_count: 1, storage_pool: thin }
volumes:
${vols}
`;
}

/** Per-instance dependencies of `World.mode()`. */
export interface ModeExtra {
  /** @default {CLUSTER} */
  identity?: string;
  print?: (line: string) => void;
  isLeader?: () => boolean;
  /** Metrics registry of the mode. */
  registry?: Registry;
  /** Hands out the Snapshots instead of the world's own state. */
  state?: { snapshot(): Snapshot };
  /** The apiserver the mode talks to instead of the world's `FakeKube`. */
  kube?: KubeApi;
}

/** Options of `createWorld()`. */
export interface WorldOptions {
  /** Volume (= PV) names. @default {["pvc-1"]} */
  volumes?: string[];
  /** Apiserver with `MutablePVNodeAffinity`. */
  mutable?: boolean;
  /** StorageClass `allowRemoteVolumeAccess`. @default {"false"} */
  policy?: string;
  /** Seed PVs without nodeAffinity. */
  noAffinity?: boolean;
}

/** The world. */
export interface World {
  clock: FakeClock;
  sim: Simulator;
  client: LinstorClient;
  kube: FakeKube;
  state: { snapshot(): Snapshot };
  /** A fresh mode instance (a restarted process). */
  mode(options?: AffinityModeOptions, extra?: ModeExtra): AffinityMode;
  pv(name: string): V1PersistentVolume | undefined;
  pvc(name: string): V1PersistentVolumeClaim | undefined;
  /** Volume-definition props of volume 0 of `rd`. */
  vdProps(rd: string): Record<string, string>;
  close(): void;
}

/** A full LINSTOR CSI PV with every field the replace must keep. */
export function fullPv(
  name: string,
  affinityNode: string | undefined,
): V1PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name,
      labels: { team: "data" },
      annotations: {
        "pv.kubernetes.io/provisioned-by": "linstor.csi.linbit.com",
        "volume.kubernetes.io/provisioner-deletion-secret-name": "s",
        "volume.kubernetes.io/provisioner-deletion-secret-namespace": "ns",
      },
      finalizers: [
        "kubernetes.io/pv-protection",
        "external-provisioner.volume.kubernetes.io/finalizer",
      ],
    },
    spec: {
      capacity: { storage: "1Gi" },
      accessModes: ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      storageClassName: "linstor",
      volumeMode: "Filesystem",
      mountOptions: ["noatime", "discard"],
      volumeAttributesClassName: "gold",
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: "ns",
        name: `claim-${name}`,
        uid: `uid-claim-${name}`,
      },
      csi: {
        driver: "linstor.csi.linbit.com",
        volumeHandle: name,
        fsType: "ext4",
        volumeAttributes: {
          "storage.kubernetes.io/csiProvisionerIdentity": "123-linstor",
        },
        controllerPublishSecretRef: { name: "cp", namespace: "ns" },
        controllerExpandSecretRef: { name: "ce", namespace: "ns" },
        nodePublishSecretRef: { name: "np", namespace: "ns" },
        nodeStageSecretRef: { name: "ns", namespace: "ns" },
        nodeExpandSecretRef: { name: "ne", namespace: "ns" },
      },
      ...(affinityNode === undefined ? {} : {
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [{
              matchExpressions: [{
                key: "linbit.com/hostname",
                operator: "In",
                values: [affinityNode],
              }],
            }],
          },
        },
      }),
    },
  };
}

/** Builds the world; PVs are bound and an hour old. */
export function createWorld(options: WorldOptions = {}): World {
  const volumes = options.volumes ?? ["pvc-1"];
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    scenario: parseScenario(scenarioYaml(volumes), "affinity-test"),
  });
  const client = new LinstorClient({
    controllers: ["http://sim.invalid:3370"],
    fetch: (request) => sim.handler(request),
    clock,
  });
  const kube = new FakeKube({
    clock,
    ...(options.mutable ? { mutablePvNodeAffinity: true } : {}),
  });
  kube.seed("storageClasses", {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: { name: "linstor" },
    provisioner: "linstor.csi.linbit.com",
    parameters: { allowRemoteVolumeAccess: options.policy ?? "false" },
  });
  for (const name of volumes) {
    kube.seed("persistentVolumeClaims", {
      metadata: {
        namespace: "ns",
        name: `claim-${name}`,
        uid: `uid-claim-${name}`,
        // As the PV controller leaves a claim it bound.
        annotations: { "pv.kubernetes.io/bind-completed": "yes" },
      },
      spec: {
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: "1Gi" } },
        storageClassName: "linstor",
        volumeName: name,
      },
      status: { phase: "Bound" },
    });
    kube.seed(
      "persistentVolumes",
      fullPv(name, options.noAffinity ? undefined : "a"),
    );
  }
  // Let the grace period pass (no timers are pending).
  clock.advance(3_600_000);
  const state = {
    snapshot(): Snapshot {
      const linstor = sim.state();
      return buildSnapshot({
        takenAt: clock.now(),
        linstor: {
          nodes: linstor.nodes,
          storagePools: linstor.storagePools,
          resources: linstor.resources,
          resourceDefinitions: linstor.resourceDefinitions,
          resourceGroups: linstor.resourceGroups,
          observedAt: clock.now(),
        },
        kube: {
          persistentVolumes: kube.all("persistentVolumes"),
          persistentVolumeClaims: kube.all("persistentVolumeClaims"),
          storageClasses: kube.all("storageClasses"),
        },
      });
    },
  };
  const linstor = affinityLinstorFrom(client);
  return {
    clock,
    sim,
    client,
    kube,
    state,
    mode(modeOptions = {}, extra = {}) {
      return createAffinityMode({
        linstor,
        state: extra.state ?? state,
        kube: extra.kube ?? kube,
        clock,
        clusterIdentity: extra.identity ?? CLUSTER,
        ...(extra.print ? { print: extra.print } : {}),
        ...(extra.isLeader ? { isLeader: extra.isLeader } : {}),
        ...(extra.registry ? { registry: extra.registry } : {}),
      }, { workers: 4, settleMs: 0, ...modeOptions });
    },
    pv: (name) => kube.peek("persistentVolumes", name),
    pvc: (name) => kube.peek("persistentVolumeClaims", `ns/claim-${name}`),
    vdProps(rd) {
      const def = sim.state().resourceDefinitions.find((d) => d.name === rd);
      return def?.volume_definitions?.[0]?.props ?? {};
    },
    close() {
      client.close();
      sim.close();
    },
  };
}

/** The `linbit.com/hostname` values of a PV's affinity terms. */
export function affinityHosts(pv: V1PersistentVolume | undefined): string[] {
  return (pv?.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []).flatMap((
    term,
  ) => (term.matchExpressions ?? []).flatMap((e) => e.values ?? []));
}
