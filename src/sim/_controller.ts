/**
 * The simulator's controller logic, free of HTTP: the checks and state
 * changes behind every LINSTOR mutation (create, modify, delete, spawn,
 * autoplace, the quorum tie-breaker), over the store. Each operation takes
 * the decoded JSON body (a LINSTOR wire object) and returns the ApiCallRc
 * entries to answer with, or throws `RcFailure` (the controller's refusal)
 * or `BadRequest` (an unusable body) before changing anything.
 *
 * @module
 */
import {
  type AutoSelectFilter,
  type Props,
  RC_MASK_CREATE,
  RC_MASK_DELETE,
  RC_MASK_MODIFY,
} from "../linstor/mod.ts";
import {
  LINSTOR_DEFAULT_STORAGE_POOL,
  LINSTOR_DISKLESS_STORAGE_POOL,
  LINSTOR_PROP_STORAGE_POOL_NAME,
} from "../constants.ts";
import { placeReplicas } from "./_autoplace.ts";
import {
  defined,
  fits,
  isDisklessPool,
  keyOf,
  modifyProps,
  poolKey,
  type ReplicaKind,
  resourceKey,
  type SimResourceDefinition,
} from "./_model.ts";
import { CODE, OBJ, type RcInit, stringifyJson, success } from "./_rc.ts";
import {
  NODE_NAME_PATTERN,
  OBJECT_NAME_PATTERN,
  POOL_NAME_PATTERN,
  PROVIDER_KINDS,
} from "./_scenario.ts";
import {
  BadRequest,
  isObject,
  mergeFilter,
  optionalInteger,
  optionalProps,
  optionalString,
  optionalStrings,
  propsChange,
  readFilter,
} from "./_request.ts";
import {
  alreadyExists,
  inUse,
  notFound,
  refusal,
  type Store,
} from "./_store.ts";

type Body = Record<string, unknown>;

const NODE_TYPES = ["SATELLITE", "COMBINED", "CONTROLLER", "AUXILIARY"];

/** What the controller works on. */
export interface ControllerOptions {
  /** The current store (a scenario load replaces it). */
  store(): Store;
  /** Called after a change that replicas, capacity or promotion depend on. */
  changed(): void;
}

/** The LINSTOR controller's mutations over the simulator's store. */
export class Controller {
  readonly #options: ControllerOptions;

  /** A controller over `options.store()`. */
  constructor(options: ControllerOptions) {
    this.#options = options;
  }

  get #s(): Store {
    return this.#options.store();
  }

  #changed(): void {
    this.#options.changed();
  }

  // ---- nodes ----

  /** `POST /v1/nodes`. */
  createNode(body: Body): RcInit[] {
    const s = this.#s;
    const name = optionalString(body, "name") ?? "";
    checkName(name, NAME_RULES.node);
    const type = readKind(body, "type", KIND_RULES.nodeType);
    if (s.nodes.has(keyOf(name))) {
      throw alreadyExists(OBJ.node, `Node '${name}' already exists.`);
    }
    const netifs = body.net_interfaces;
    let address: string | undefined;
    if (netifs !== undefined) {
      if (!Array.isArray(netifs) || !netifs.every(isObject)) {
        throw new BadRequest(
          `field "net_interfaces" must be a list of objects`,
        );
      }
      address = netifs.length > 0
        ? optionalString(netifs[0] as Body, "address")
        : undefined;
    }
    s.addNode({
      name,
      type,
      props: optionalProps(body, "props") ?? {},
      ...defined({ address }),
    });
    this.#changed();
    return [
      success("created", OBJ.node, {
        message: `New node '${name}' registered.`,
        objRefs: { Node: name },
      }),
    ];
  }

  /** `PUT /v1/nodes/{node}`. */
  modifyNode(name: string, body: Body): RcInit[] {
    const node = this.#s.node(name);
    const type = optionalString(body, "node_type");
    if (type !== undefined) {
      if (!NODE_TYPES.includes(type.toUpperCase())) {
        throw refusal({
          object: OBJ.node,
          code: CODE.invalidNodeType,
          message: `Invalid node type '${type}'.`,
        });
      }
      node.type = type.toUpperCase();
    }
    node.props = modifyProps(node.props, propsChange(body));
    this.#changed();
    return [
      success("modified", OBJ.node, {
        message: `Node '${node.name}' modified.`,
        objRefs: { Node: node.name },
      }),
    ];
  }

  /** `DELETE /v1/nodes/{node}`. */
  deleteNode(name: string): RcInit[] {
    const s = this.#s;
    const node = s.node(name);
    const busy = s.sortedResources().find((r) =>
      keyOf(r.node) === keyOf(node.name) && r.inUse
    );
    if (busy) {
      throw inUse(
        OBJ.node,
        `Node '${node.name}' cannot be deleted: resource '${busy.rd}' is in use on it.`,
      );
    }
    s.deleteNode(node.name);
    this.#changed();
    return [
      success("deleted", OBJ.node, {
        message: `Node '${node.name}' deleted.`,
        objRefs: { Node: node.name },
      }),
    ];
  }

  // ---- storage pools ----

  /** `POST /v1/nodes/{node}/storage-pools`. */
  createPool(nodeName: string, body: Body): RcInit[] {
    const s = this.#s;
    const node = s.node(nodeName);
    const name = optionalString(body, "storage_pool_name") ?? "";
    checkName(name, NAME_RULES.pool);
    const kind = readKind(body, "provider_kind", KIND_RULES.provider);
    if (s.pools.has(poolKey(node.name, name))) {
      throw alreadyExists(
        OBJ.storPool,
        `Storage pool '${name}' already exists on node '${node.name}'.`,
      );
    }
    s.addPool({
      node: node.name,
      name,
      providerKind: kind,
      props: optionalProps(body, "props") ?? {},
    });
    this.#changed();
    return [
      success("created", OBJ.storPool, {
        message:
          `Storage pool '${name}' on node '${node.name}' successfully created.`,
        objRefs: { Node: node.name, StorPool: name },
      }),
    ];
  }

  /** `PUT /v1/nodes/{node}/storage-pools/{pool}`. */
  modifyPool(node: string, name: string, body: Body): RcInit[] {
    const pool = this.#s.pool(node, name);
    pool.props = modifyProps(pool.props, propsChange(body));
    this.#changed();
    return [
      success("modified", OBJ.storPool, {
        message: `Storage pool '${pool.name}' on node '${pool.node}' modified.`,
      }),
    ];
  }

  /** `DELETE /v1/nodes/{node}/storage-pools/{pool}`. */
  deletePool(node: string, name: string): RcInit[] {
    const s = this.#s;
    const pool = s.pool(node, name);
    const user = s.sortedResources().find((r) =>
      keyOf(r.node) === keyOf(pool.node) && keyOf(r.pool) === keyOf(pool.name)
    );
    if (user) {
      throw inUse(
        OBJ.storPool,
        `The specified storage pool '${pool.name}' on node '${pool.node}' can not be deleted as volumes are still using it (resource '${user.rd}').`,
      );
    }
    s.pools.delete(poolKey(pool.node, pool.name));
    this.#changed();
    return [
      success("deleted", OBJ.storPool, {
        message: `Storage pool '${pool.name}' on node '${pool.node}' deleted.`,
      }),
    ];
  }

  // ---- resource groups and volume groups ----

  /** `POST /v1/resource-groups`. */
  createGroup(body: Body): RcInit[] {
    const s = this.#s;
    const name = optionalString(body, "name") ?? "";
    checkName(name, NAME_RULES.group);
    if (s.groups.has(keyOf(name))) {
      throw alreadyExists(
        OBJ.rscGrp,
        `A resource group with the name '${name}' already exists.`,
      );
    }
    const description = optionalString(body, "description");
    s.addGroup({
      name,
      props: optionalProps(body, "props") ?? {},
      selectFilter: readFilter(body.select_filter),
      ...defined({ description }),
    });
    return [
      success("created", OBJ.rscGrp, {
        message: `New resource group '${name}' created.`,
        objRefs: { RscGrp: name },
      }),
    ];
  }

  /** `PUT /v1/resource-groups/{rg}`: props, description, merged `select_filter`. */
  modifyGroup(name: string, body: Body): RcInit[] {
    const group = this.#s.group(name);
    const description = optionalString(body, "description");
    if (description !== undefined) group.description = description;
    group.props = modifyProps(group.props, propsChange(body));
    if (body.select_filter !== undefined) {
      group.selectFilter = mergeFilter(
        group.selectFilter,
        readFilter(body.select_filter),
      );
    }
    return [
      success("modified", OBJ.rscGrp, {
        message: `Resource group '${group.name}' modified.`,
      }),
    ];
  }

  /** `DELETE /v1/resource-groups/{rg}`; refused while a definition uses it. */
  deleteGroup(name: string): RcInit[] {
    const s = this.#s;
    const group = s.group(name);
    const user = s.sortedDefinitions().find((d) =>
      keyOf(d.resourceGroup) === keyOf(group.name)
    );
    if (user) {
      throw inUse(
        OBJ.rscGrp,
        `Resource group '${group.name}' is still used by resource definition '${user.name}'.`,
      );
    }
    s.groups.delete(keyOf(group.name));
    return [
      success("deleted", OBJ.rscGrp, {
        message: `Resource group '${group.name}' deleted.`,
      }),
    ];
  }

  /** `POST /v1/resource-groups/{rg}/volume-groups`. */
  createVolumeGroup(groupName: string, body: Body): RcInit[] {
    const s = this.#s;
    const group = s.group(groupName);
    const nr = optionalInteger(body, "volume_number") ??
      group.volumeGroups.reduce(
        (max, vg) => Math.max(max, vg.volumeNumber + 1),
        0,
      );
    if (group.volumeGroups.some((vg) => vg.volumeNumber === nr)) {
      throw alreadyExists(
        OBJ.vlmGrp,
        `Volume group ${nr} of resource group '${group.name}' already exists.`,
      );
    }
    group.volumeGroups.push({
      volumeNumber: nr,
      props: optionalProps(body, "props") ?? {},
      uuid: s.uuid(),
    });
    group.volumeGroups.sort((a, b) => a.volumeNumber - b.volumeNumber);
    return [
      success("created", OBJ.vlmGrp, {
        message:
          `New volume group ${nr} of resource group '${group.name}' created.`,
      }),
    ];
  }

  /** `PUT /v1/resource-groups/{rg}/volume-groups/{nr}` (`nr` as in the path). */
  modifyVolumeGroup(groupName: string, nr: string, body: Body): RcInit[] {
    const group = this.#s.group(groupName);
    const vg = group.volumeGroups.find((v) => String(v.volumeNumber) === nr);
    if (!vg) {
      notFound(`Volume group ${nr} of '${group.name}' not found.`, {
        object: OBJ.vlmGrp,
        code: CODE.notFoundVlmGrp,
      });
    }
    vg.props = modifyProps(vg.props, propsChange(body));
    return [
      success("modified", OBJ.vlmGrp, {
        message:
          `Volume group ${vg.volumeNumber} of resource group '${group.name}' modified.`,
      }),
    ];
  }

  /** `DELETE /v1/resource-groups/{rg}/volume-groups/{nr}`. */
  deleteVolumeGroup(groupName: string, nrText: string): RcInit[] {
    const group = this.#s.group(groupName);
    const nr = Number(nrText);
    const index = group.volumeGroups.findIndex((vg) => vg.volumeNumber === nr);
    if (index < 0) {
      notFound(`Volume group ${nrText} of '${group.name}' not found.`, {
        object: OBJ.vlmGrp,
        code: CODE.notFoundVlmGrp,
      });
    }
    group.volumeGroups.splice(index, 1);
    return [
      success("deleted", OBJ.vlmGrp, {
        message:
          `Volume group ${nr} of resource group '${group.name}' deleted.`,
      }),
    ];
  }

  /**
   * `POST /v1/resource-groups/{rg}/spawn`: the definition, its volume
   * definitions (with the volume groups' numbers and props), then autoplace
   * unless `definitions_only`. A failed placement keeps the definitions.
   */
  spawn(groupName: string, body: Body): RcInit[] {
    const s = this.#s;
    const group = s.group(groupName);
    const name = optionalString(body, "resource_definition_name") ?? "";
    checkName(name, NAME_RULES.definition);
    const sizes = body.volume_sizes ?? [];
    if (
      !Array.isArray(sizes) ||
      sizes.some((v) => !Number.isSafeInteger(v) || (v as number) <= 0)
    ) {
      throw new BadRequest(
        `field "volume_sizes" must be a list of positive integers (KiB)`,
      );
    }
    this.#checkNewDefinitionName(name);
    const filter = readFilter(body.select_filter);
    const externalName = optionalString(
      body,
      "resource_definition_external_name",
    );
    const rd = s.addDefinition({
      name,
      resourceGroup: group.name,
      props: optionalProps(body, "resource_definition_props") ?? {},
      ...defined({ externalName }),
    });
    (sizes as number[]).forEach((size, i) => {
      s.addVolumeDefinition(rd, {
        volumeNumber: group.volumeGroups[i]?.volumeNumber ?? i,
        sizeKib: size,
        props: group.volumeGroups[i]?.props ?? {},
      });
    });
    const list: RcInit[] = [
      success("created", OBJ.rscDfn, {
        message: `New resource definition '${name}' created.`,
        objRefs: { RscDfn: name },
      }),
    ];
    for (const vd of rd.volumes) {
      list.push(
        success("created", OBJ.vlmDfn, {
          message:
            `New volume definition with number '${vd.volumeNumber}' of resource definition '${name}' created.`,
        }),
      );
    }
    if (body.definitions_only !== true) {
      list.push(
        ...this.#place(rd, mergeFilter(group.selectFilter, filter), false),
      );
    }
    this.#changed();
    return list;
  }

  // ---- resource definitions and volume definitions ----

  /** `POST /v1/resource-definitions`. */
  createDefinition(body: Body): RcInit[] {
    const s = this.#s;
    const rdBody = body.resource_definition;
    if (!isObject(rdBody)) {
      throw new BadRequest(`field "resource_definition" must be an object`);
    }
    const name = optionalString(rdBody, "name") ?? "";
    checkName(name, NAME_RULES.definition);
    this.#checkNewDefinitionName(name);
    const group = optionalString(rdBody, "resource_group_name");
    if (group !== undefined) s.group(group);
    const externalName = optionalString(rdBody, "external_name");
    const port = optionalInteger(body, "drbd_port");
    const secret = optionalString(body, "drbd_secret");
    s.addDefinition({
      name,
      props: optionalProps(rdBody, "props") ?? {},
      ...defined({ resourceGroup: group, externalName, port, secret }),
    });
    return [
      success("created", OBJ.rscDfn, {
        message: `New resource definition '${name}' created.`,
        objRefs: { RscDfn: name },
      }),
    ];
  }

  /** `PUT /v1/resource-definitions/{rd}`: props and `resource_group`. */
  modifyDefinition(name: string, body: Body): RcInit[] {
    const s = this.#s;
    const rd = s.definition(name);
    const group = optionalString(body, "resource_group");
    if (group !== undefined) rd.resourceGroup = s.group(group).name;
    rd.props = modifyProps(rd.props, propsChange(body));
    this.#changed();
    return [
      success("modified", OBJ.rscDfn, {
        message: `Resource definition '${rd.name}' modified.`,
        objRefs: { RscDfn: rd.name },
      }),
    ];
  }

  /** `DELETE /v1/resource-definitions/{rd}` with its replicas; refused while in use. */
  deleteDefinition(name: string): RcInit[] {
    const s = this.#s;
    const rd = s.definition(name);
    const busy = s.replicasOf(rd.name).find((r) => r.inUse);
    if (busy) {
      throw inUse(
        OBJ.rscDfn,
        `Resource definition '${rd.name}' is in use on node '${busy.node}'.`,
      );
    }
    for (const r of s.replicasOf(rd.name)) {
      s.resources.delete(resourceKey(r.rd, r.node));
    }
    s.definitions.delete(keyOf(rd.name));
    this.#changed();
    return [
      success("deleted", OBJ.rscDfn, {
        message: `Resource definition '${rd.name}' deleted.`,
        objRefs: { RscDfn: rd.name },
      }),
    ];
  }

  /** `POST /v1/resource-definitions/{rd}/volume-definitions`. */
  createVolumeDefinition(rdName: string, body: Body): RcInit[] {
    const s = this.#s;
    const rd = s.definition(rdName);
    const vdBody = body.volume_definition;
    if (!isObject(vdBody)) {
      throw new BadRequest(`field "volume_definition" must be an object`);
    }
    const size = optionalInteger(vdBody, "size_kib");
    if (size === undefined || size <= 0) {
      throw refusal({
        object: OBJ.vlmDfn,
        op: RC_MASK_CREATE,
        code: CODE.invalidVlmSize,
        message: `Invalid volume size: ${String(vdBody.size_kib)} KiB.`,
      });
    }
    const nr = optionalInteger(vdBody, "volume_number");
    if (nr !== undefined && rd.volumes.some((v) => v.volumeNumber === nr)) {
      throw alreadyExists(
        OBJ.vlmDfn,
        `Volume definition ${nr} of '${rd.name}' already exists.`,
      );
    }
    const minor = optionalInteger(body, "drbd_minor_number");
    s.addVolumeDefinition(rd, {
      sizeKib: size,
      props: optionalProps(vdBody, "props") ?? {},
      ...defined({ volumeNumber: nr, minor }),
    });
    this.#changed();
    return [
      success("created", OBJ.vlmDfn, {
        message: `New volume definition with number '${
          nr ?? rd.volumes.length - 1
        }' of resource definition '${rd.name}' created.`,
      }),
    ];
  }

  /** `PUT …/volume-definitions/{nr}`: props and `size_kib` (grow only). */
  modifyVolumeDefinition(rdName: string, nr: string, body: Body): RcInit[] {
    const s = this.#s;
    const rd = s.definition(rdName);
    const vd = s.volumeDefinition(rd, nr);
    const size = optionalInteger(body, "size_kib");
    if (size !== undefined) {
      if (size < vd.sizeKib) {
        throw refusal({
          object: OBJ.vlmDfn,
          op: RC_MASK_MODIFY,
          code: CODE.invalidVlmSize,
          message:
            `Volume definition ${vd.volumeNumber} of '${rd.name}' cannot shrink.`,
        });
      }
      vd.sizeKib = size;
    }
    vd.props = modifyProps(vd.props, propsChange(body));
    this.#changed();
    return [
      success("modified", OBJ.vlmDfn, {
        message:
          `Volume definition ${vd.volumeNumber} of '${rd.name}' modified.`,
      }),
    ];
  }

  /** `DELETE …/volume-definitions/{nr}`. */
  deleteVolumeDefinition(rdName: string, nr: string): RcInit[] {
    const s = this.#s;
    const rd = s.definition(rdName);
    const vd = s.volumeDefinition(rd, nr);
    rd.volumes.splice(rd.volumes.indexOf(vd), 1);
    this.#changed();
    return [
      success("deleted", OBJ.vlmDfn, {
        message: `Volume definition ${nr} of '${rd.name}' deleted.`,
      }),
    ];
  }

  // ---- placement and resources ----

  /** `POST /v1/resource-definitions/{rd}/autoplace`: the group's filter merged with the body's. */
  autoplace(rdName: string, body: Body): RcInit[] {
    const s = this.#s;
    const rd = s.definition(rdName);
    const filter = readFilter(body.select_filter);
    const dor = body.diskless_on_remaining;
    if (dor !== undefined && dor !== null && typeof dor !== "boolean") {
      throw new BadRequest(`field "diskless_on_remaining" must be a boolean`);
    }
    const group = s.group(rd.resourceGroup);
    return this.#place(
      rd,
      mergeFilter(group.selectFilter, filter),
      dor === true,
    );
  }

  /**
   * `POST …/resources` (a list) and `POST …/resources/{node}` (one item,
   * `pathNode`): every item is checked before any replica is created.
   */
  createResources(
    rdName: string,
    items: Body[],
    pathNode?: string,
  ): RcInit[] {
    const s = this.#s;
    const rd = s.definition(rdName);
    const planned: {
      node: string;
      kind: ReplicaKind;
      pool: string;
      props: Props;
      takeover: boolean;
    }[] = [];
    for (const item of items) {
      const resource = item.resource;
      if (!isObject(resource)) {
        throw new BadRequest(`field "resource" must be an object`);
      }
      const nodeName = pathNode ?? optionalString(resource, "node_name");
      if (nodeName === undefined) {
        throw new BadRequest(`field "resource.node_name" is required`);
      }
      const node = s.node(nodeName);
      const flags = (optionalStrings(resource, "flags") ?? []).map((f) =>
        f.toUpperCase()
      );
      const props = optionalProps(resource, "props") ?? {};
      const diskless = flags.includes("DISKLESS") ||
        flags.includes("DRBD_DISKLESS") ||
        flags.includes("TIE_BREAKER");
      const kind: ReplicaKind = flags.includes("TIE_BREAKER")
        ? "tie-breaker"
        : diskless
        ? "diskless"
        : "diskful";
      const existing = s.resources.get(resourceKey(rd.name, node.name));
      if (
        existing && !(existing.kind === "tie-breaker" && kind !== "tie-breaker")
      ) {
        throw alreadyExists(
          OBJ.rsc,
          `A resource with the name '${rd.name}' already exists on node '${node.name}'.`,
        );
      }
      const group = s.groups.get(keyOf(rd.resourceGroup));
      const poolName = diskless
        ? props[LINSTOR_PROP_STORAGE_POOL_NAME] ?? LINSTOR_DISKLESS_STORAGE_POOL
        : props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          rd.props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          group?.selectFilter.storage_pool ??
          group?.selectFilter.storage_pool_list?.[0] ??
          node.props[LINSTOR_PROP_STORAGE_POOL_NAME] ??
          LINSTOR_DEFAULT_STORAGE_POOL;
      const pool = s.pool(node.name, poolName);
      if (!diskless) {
        if (isDisklessPool(pool.providerKind)) {
          throw refusal({
            object: OBJ.rsc,
            op: RC_MASK_CREATE,
            code: CODE.invalidStorPoolName,
            message:
              `Storage pool '${pool.name}' on node '${node.name}' is diskless; a diskful resource needs a diskful pool.`,
          });
        }
        const free = s.freeOf(pool);
        const size = s.sizeOf(rd);
        if (!fits({ providerKind: pool.providerKind, freeKib: free }, size)) {
          throw refusal({
            object: OBJ.rsc,
            op: RC_MASK_CREATE,
            code: CODE.notEnoughFreeSpace,
            message:
              `Not enough free space in storage pool '${pool.name}' on node '${node.name}': ${free} KiB free, ${size} KiB needed.`,
          });
        }
      }
      planned.push({
        node: node.name,
        kind,
        pool: pool.name,
        props,
        takeover: existing !== undefined,
      });
    }
    const list: RcInit[] = [];
    for (const plan of planned) {
      if (plan.takeover) s.resources.delete(resourceKey(rd.name, plan.node));
      s.addResource({
        rd: rd.name,
        node: plan.node,
        kind: plan.kind,
        pool: plan.pool,
        props: plan.props,
      });
      list.push({
        severity: plan.takeover ? "info" : "success",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: plan.takeover ? CODE.infoTieBreakerTakeover : CODE.created,
        message: plan.takeover
          ? `Tie breaker resource '${rd.name}' on node '${plan.node}' taken over.`
          : `New resource '${rd.name}' on node '${plan.node}' registered.`,
        objRefs: { RscDfn: rd.name, Node: plan.node },
      });
    }
    list.push(...this.#balanceTieBreaker(rd));
    this.#changed();
    return list;
  }

  /** `PUT …/resources/{node}`: props. */
  modifyResource(rdName: string, nodeName: string, body: Body): RcInit[] {
    const r = this.#s.resource(rdName, nodeName);
    r.props = modifyProps(r.props, propsChange(body));
    return [
      success("modified", OBJ.rsc, {
        message: `Resource '${r.rd}' on node '${r.node}' modified.`,
      }),
    ];
  }

  /** `DELETE …/resources/{node}`; refused while in use; keeps the tie-breaker in line. */
  deleteResource(rdName: string, nodeName: string): RcInit[] {
    const s = this.#s;
    const r = s.resource(rdName, nodeName);
    if (r.inUse) {
      throw inUse(
        OBJ.rsc,
        `Resource '${r.rd}' on node '${r.node}' is in use and cannot be deleted.`,
      );
    }
    s.resources.delete(resourceKey(r.rd, r.node));
    const balanced = this.#balanceTieBreaker(s.definition(r.rd));
    this.#changed();
    return [
      success("deleted", OBJ.rsc, {
        message: `Resource '${r.rd}' on node '${r.node}' deleted.`,
        objRefs: { RscDfn: r.rd, Node: r.node },
      }),
      ...balanced,
    ];
  }

  /** Throws the "exists" failure when a resource definition `name` exists. */
  #checkNewDefinitionName(name: string): void {
    if (this.#s.definitions.has(keyOf(name))) {
      throw alreadyExists(
        OBJ.rscDfn,
        `A resource definition with the name '${name}' already exists.`,
      );
    }
  }

  /** Runs the autoplacer and creates its replicas; returns the ApiCallRc entries. */
  #place(
    rd: SimResourceDefinition,
    filter: AutoSelectFilter,
    disklessOnRemaining: boolean,
  ): RcInit[] {
    const s = this.#s;
    const existing = s.replicasOf(rd.name);
    const resourcesByNode = new Map<string, string[]>();
    for (const r of s.sortedResources()) {
      resourcesByNode.set(keyOf(r.node), [
        ...(resourcesByNode.get(keyOf(r.node)) ?? []),
        r.rd,
      ]);
    }
    const result = placeReplicas({
      nodes: s.sortedNodes().map((n) => ({
        name: n.name,
        eligible: n.connectionStatus === "ONLINE" &&
          (n.type === "SATELLITE" || n.type === "COMBINED"),
        props: n.props,
        pools: s.sortedPools()
          .filter((p) => keyOf(p.node) === keyOf(n.name))
          .map((p) => ({
            name: p.name,
            providerKind: p.providerKind,
            freeKib: s.freeOf(p),
          })),
        resources: resourcesByNode.get(keyOf(n.name)) ?? [],
      })),
      existing: existing.map((r) => ({ node: r.node, kind: r.kind })),
      filter,
      sizeKib: s.sizeOf(rd),
      disklessOnRemaining,
      autoTieBreaker: s.autoTieBreaker(rd),
    });
    if (!result.ok) {
      throw refusal({
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.notEnoughNodes,
        message: `Not enough available nodes`,
        details: `${result.reason} (resource definition '${rd.name}', filter ${
          stringifyJson(filter)
        })`,
        correction:
          "Add nodes or storage pools with enough free space, or relax the placement filter.",
      });
    }
    const list: RcInit[] = [];
    if (result.alreadyDeployed && result.placements.length === 0) {
      list.push({
        severity: "warn",
        object: OBJ.rsc,
        op: RC_MASK_CREATE,
        code: CODE.warnRscAlreadyDeployed,
        message: `Resource '${rd.name}' was already deployed on ${
          existing.filter((r) => r.kind === "diskful").length
        } nodes.`,
      });
    }
    for (const placement of result.placements) {
      if (placement.takeover) {
        s.resources.delete(resourceKey(rd.name, placement.node));
      }
      s.addResource({
        rd: rd.name,
        node: placement.node,
        kind: placement.kind,
        pool: placement.pool,
      });
      if (placement.kind === "tie-breaker") {
        list.push(tieBreakerCreated(rd.name, placement.node));
      } else {
        list.push(
          success("created", OBJ.rsc, {
            message:
              `Resource '${rd.name}' successfully autoplaced on node '${placement.node}'${
                placement.kind === "diskful"
                  ? ` in pool '${placement.pool}'`
                  : " as diskless"
              }.`,
            objRefs: { RscDfn: rd.name, Node: placement.node },
          }),
        );
      }
    }
    if (result.tieBreakerMissing) list.push(noTieBreakerNode(rd.name));
    if (result.placements.length > 0) {
      list.push(
        ...this.#balanceTieBreaker(rd).filter((e) =>
          e.code !== CODE.warnNotEnoughNodesForTieBreaker
        ),
      );
    }
    this.#changed();
    return list;
  }

  /**
   * Adds or removes the quorum tie-breaker after replicas changed through
   * the API, like the controller: wanted while exactly two diskful and no
   * diskless replicas exist (and `DrbdOptions/auto-add-quorum-tiebreaker`
   * is not `False`); it goes on the first eligible node by name.
   */
  #balanceTieBreaker(rd: SimResourceDefinition): RcInit[] {
    const s = this.#s;
    const replicas = s.replicasOf(rd.name);
    const diskful = replicas.filter((r) => r.kind === "diskful");
    const diskless = replicas.filter((r) => r.kind === "diskless");
    const tieBreakers = replicas.filter((r) => r.kind === "tie-breaker");
    const wanted = s.autoTieBreaker(rd) && diskful.length === 2 &&
      diskless.length === 0;
    const list: RcInit[] = [];
    if (!wanted) {
      for (const tb of tieBreakers) {
        s.resources.delete(resourceKey(tb.rd, tb.node));
        list.push({
          severity: "info",
          object: OBJ.rsc,
          op: RC_MASK_DELETE,
          code: CODE.infoTieBreakerDeleting,
          message:
            `Tie breaker resource '${rd.name}' on node '${tb.node}' deleted: no longer needed.`,
        });
      }
      return list;
    }
    if (tieBreakers.length > 0) return list;
    const used = new Set(replicas.map((r) => keyOf(r.node)));
    const node = s.sortedNodes().find((n) =>
      n.connectionStatus === "ONLINE" &&
      (n.type === "SATELLITE" || n.type === "COMBINED") &&
      !used.has(keyOf(n.name))
    );
    if (!node) {
      list.push(noTieBreakerNode(rd.name));
      return list;
    }
    s.addResource({ rd: rd.name, node: node.name, kind: "tie-breaker" });
    list.push(tieBreakerCreated(rd.name, node.name));
    return list;
  }
}

/** INFO: the quorum tie-breaker of `rd` was created on `node`. */
function tieBreakerCreated(rd: string, node: string): RcInit {
  return {
    severity: "info",
    object: OBJ.rsc,
    op: RC_MASK_CREATE,
    code: CODE.infoTieBreakerCreated,
    message: `Tie breaker resource '${rd}' created on node '${node}'.`,
  };
}

/** WARN 1013: no node left for the quorum tie-breaker of `rd`. */
function noTieBreakerNode(rd: string): RcInit {
  return {
    severity: "warn",
    object: OBJ.rsc,
    op: RC_MASK_CREATE,
    code: CODE.warnNotEnoughNodesForTieBreaker,
    message:
      `Could not find a suitable node to automatically create a tie breaking resource for '${rd}'.`,
  };
}

/** Throws the controller's "invalid name" failure unless `name` matches `pattern`. */
/** How the names of one kind of object are checked on create. */
interface NameRule {
  readonly pattern: RegExp;
  readonly object: bigint;
  readonly code: bigint;
  readonly what: string;
}

const NAME_RULES = {
  node: {
    pattern: NODE_NAME_PATTERN,
    object: OBJ.node,
    code: CODE.invalidNodeName,
    what: "node",
  },
  pool: {
    pattern: POOL_NAME_PATTERN,
    object: OBJ.storPool,
    code: CODE.invalidStorPoolName,
    what: "storage pool",
  },
  group: {
    pattern: OBJECT_NAME_PATTERN,
    object: OBJ.rscGrp,
    code: CODE.invalidRscGrpName,
    what: "resource group",
  },
  definition: {
    pattern: OBJECT_NAME_PATTERN,
    object: OBJ.rscDfn,
    code: CODE.invalidRscName,
    what: "resource",
  },
} as const satisfies Record<string, NameRule>;

function checkName(name: string, rule: NameRule): void {
  if (!rule.pattern.test(name)) {
    throw refusal({
      object: rule.object,
      op: RC_MASK_CREATE,
      code: rule.code,
      message: `Invalid ${rule.what} name '${name}'.`,
      cause: `The name must match ${rule.pattern.source}.`,
    });
  }
}

/** The values one enumerated field of a create body may take. */
interface KindRule {
  readonly allowed: readonly string[];
  readonly object: bigint;
  readonly code: bigint;
  readonly what: string;
}

const KIND_RULES = {
  nodeType: {
    allowed: NODE_TYPES,
    object: OBJ.node,
    code: CODE.invalidNodeType,
    what: "node type",
  },
  provider: {
    allowed: PROVIDER_KINDS,
    object: OBJ.storPool,
    code: CODE.invalidProvider,
    what: "provider kind",
  },
} as const satisfies Record<string, KindRule>;

/**
 * The upper-cased string `field` of a create body; refused with `rule.code`
 * unless it is one of `rule.allowed`.
 */
function readKind(body: Body, field: string, rule: KindRule): string {
  const value = (optionalString(body, field) ?? "").toUpperCase();
  if (!rule.allowed.includes(value)) {
    throw refusal({
      object: rule.object,
      op: RC_MASK_CREATE,
      code: rule.code,
      message: `Invalid ${rule.what} '${String(body[field])}'.`,
    });
  }
  return value;
}
