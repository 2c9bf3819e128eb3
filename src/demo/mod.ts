/**
 * The embedded demo scenario of `linstor-suite sim` (the compiled binary
 * cannot read files next to it): four nodes in two zones, an LVM and an
 * LVM_THIN pool, volumes with diskful, diskless and tie-breaker replicas, a
 * node that goes OFFLINE at 10 s and a replica that moves at 20 s.
 *
 * @module
 */

/** The demo scenario as YAML text (parse with `parseScenario()` from `src/sim/mod.ts`). */
export const DEMO_SCENARIO_YAML =
  `# linstor-suite demo scenario (see docs/simulator.md for the format)
nodes:
  - name: node-a1
    props:
      Aux/topology/kubernetes.io/hostname: node-a1
      Aux/topology/topology.kubernetes.io/zone: zone-a
    pools:
      - { name: thin, provider_kind: LVM_THIN, capacity: 200GiB, props: { StorDriver/LvmVg: vg0, StorDriver/ThinPool: thin } }
      - { name: fat, provider_kind: LVM, capacity: 100GiB, props: { StorDriver/LvmVg: vg1 } }
  - name: node-a2
    props:
      Aux/topology/kubernetes.io/hostname: node-a2
      Aux/topology/topology.kubernetes.io/zone: zone-a
    pools:
      - { name: thin, provider_kind: LVM_THIN, capacity: 200GiB, props: { StorDriver/LvmVg: vg0, StorDriver/ThinPool: thin } }
  - name: node-b1
    props:
      Aux/topology/kubernetes.io/hostname: node-b1
      Aux/topology/topology.kubernetes.io/zone: zone-b
    pools:
      - { name: thin, provider_kind: LVM_THIN, capacity: 200GiB, free: 150GiB, props: { StorDriver/LvmVg: vg0, StorDriver/ThinPool: thin } }
      - { name: fat, provider_kind: LVM, capacity: 100GiB, props: { StorDriver/LvmVg: vg1 } }
  - name: node-b2
    props:
      Aux/topology/kubernetes.io/hostname: node-b2
      Aux/topology/topology.kubernetes.io/zone: zone-b
    pools:
      - { name: fat, provider_kind: LVM, capacity: 100GiB, props: { StorDriver/LvmVg: vg1 } }

resource_groups:
  - name: sc-thin-r2
    select_filter: { place_count: 2, storage_pool: thin, replicas_on_different: [Aux/topology/topology.kubernetes.io/zone] }
  - name: sc-fat-r2
    select_filter: { place_count: 2, storage_pool: fat }

volumes:
  - name: pvc-web
    resource_group: sc-thin-r2
    size: 10GiB
    props: { Aux/csi.storage.k8s.io/pvc/name: web, Aux/csi.storage.k8s.io/pvc/namespace: demo }
    replicas:
      - { node: node-a1, in_use: true }
      - { node: node-b1 }
      - { node: node-a2, kind: tie-breaker }
  - name: pvc-db
    resource_group: sc-fat-r2
    size: 20GiB
    props: { Aux/csi.storage.k8s.io/pvc/name: db, Aux/csi.storage.k8s.io/pvc/namespace: demo }
    replicas:
      - { node: node-a1 }
      - { node: node-b2 }
      - { node: node-b1, kind: diskless, in_use: true }
  - name: pvc-cache
    resource_group: sc-thin-r2
    size: 5GiB
    replicas:
      - { node: node-a2 }
      - { node: node-b2, kind: diskless }
  - name: pvc-logs
    resource_group: sc-thin-r2
    size: 50GiB
    replicas:
      - { node: node-a1 }
      - { node: node-a2 }
      - { node: node-b1, disk_state: Outdated }

timeline:
  - { at: 10s, action: set-node-status, node: node-b1, status: OFFLINE }
  - { at: 20s, action: move-replica, resource: pvc-cache, from: node-a2, to: node-a1, pool: thin }
  - { at: 40s, action: set-node-status, node: node-b1, status: ONLINE }
  - { at: 45s, action: set-disk-state, resource: pvc-logs, node: node-b1, disk_state: UpToDate }
`;

export {
  DEMO_NAMESPACE,
  type DemoKubeObjects,
  demoKubeObjects,
} from "./kube.ts";
export { fencingDemoText } from "./fencing.ts";
export { agentDemoText } from "./agent.ts";
