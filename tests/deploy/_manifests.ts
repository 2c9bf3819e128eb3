/**
 * Checks shared by the deploy tests (plain manifests, the Helm chart, …):
 * parse YAML streams, run a linstor-suite container's args through the
 * binary's own dispatch and flag tables, check its probes against what the
 * mode serves, and create objects with a server-side dry run.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { AFFINITY_FLAGS } from "../../src/cli/affinity.ts";
import { AGENT_FLAGS } from "../../src/cli/agent.ts";
import { EXTENDER_FLAGS } from "../../src/cli/extender.ts";
import { FENCING_FLAGS } from "../../src/cli/fencing.ts";
import {
  type Command,
  type CommandContext,
  runCli,
} from "../../src/cli/mod.ts";
import type { FlagSpec } from "../../src/cli/flags.ts";
import { DEFAULT_HEALTH_ADDRESS } from "../../src/constants.ts";
import { createHealthRoutes, Registry } from "../../src/observability/mod.ts";
import { parseListenAddress } from "../../src/system/mod.ts";
import {
  type ControlPlane,
  KubeRequestError,
} from "../_harness/control_plane.ts";
import { collectionPath } from "../_harness/service_account.ts";

export { collectionPath };

/** The repository root. */
export const ROOT = new URL("../../", import.meta.url);

/** Matches the linstor-suite image of a container. */
export const IMAGE = /(^|\/)linstor-suite(:|@|$)/;

/** Each mode's flag table. */
export const FLAG_TABLES: Readonly<Record<string, readonly FlagSpec[]>> = {
  affinity: AFFINITY_FLAGS,
  agent: AGENT_FLAGS,
  extender: EXTENDER_FLAGS,
  fencing: FENCING_FLAGS,
};

// deno-lint-ignore no-explicit-any
export type Json = any;

/** A container's mode and its parsed flags. */
export interface ParsedContainer {
  mode: string;
  context: CommandContext;
}

/** Reads a file of the repository. */
export function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

/** The objects of a YAML stream; `where` names it in assertion messages. */
export function objectsOfText(text: string, where: string): Json[] {
  return parseAllDocuments(text).flatMap((document) => {
    assert.deepEqual(
      document.errors.map((e) => e.message),
      [],
      `${where} has YAML errors`,
    );
    const object = document.toJS();
    return object ? [object] : [];
  });
}

/** The objects of a YAML file of the repository. */
export function objectsOf(path: string): Json[] {
  return objectsOfText(read(path), path);
}

/** `Kind/namespace/name`. */
export function keyOf(object: Json): string {
  return `${object.kind}/${
    object.metadata?.namespace ?? ""
  }/${object.metadata?.name}`;
}

/** The pod spec of a workload, else undefined. */
export function podSpecOf(object: Json): Json | undefined {
  return ["Deployment", "DaemonSet", "StatefulSet"].includes(object.kind)
    ? object.spec.template.spec
    : undefined;
}

/** The linstor-suite containers of the workloads among `objects`. */
export function suiteContainersOf(objects: readonly Json[]): Json[] {
  return objects.flatMap((object) =>
    (podSpecOf(object)?.containers ?? []).filter((c: Json) =>
      IMAGE.test(c.image)
    )
  );
}

/** A container's environment as the process sees it (kubelet-filled values stand in). */
export function envOf(container: Json): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    // Downward-API and Secret values are filled in by the kubelet.
    env[variable.name] = variable.value ?? `${variable.name.toLowerCase()}-x`;
  }
  return env;
}

/**
 * Runs the container's command and args through the binary's dispatch and
 * the flag tables of every mode; asserts exit 0 and returns the mode run.
 */
export async function parseContainer(
  container: Json,
): Promise<ParsedContainer> {
  const seen: ParsedContainer[] = [];
  const commands: Command[] = Object.entries(FLAG_TABLES).map((
    [mode, flags],
  ) => ({
    name: mode,
    summary: mode,
    flags,
    run(context) {
      seen.push({ mode, context });
      return Promise.resolve(0);
    },
  }));
  const err: string[] = [];
  const args = [...(container.command ?? []), ...(container.args ?? [])];
  const code = await runCli(args, {
    env: envOf(container),
    stdout: () => {},
    stderr: (text) => err.push(text),
    signal: new AbortController().signal,
    commands,
  });
  assert.equal(code, 0, `${container.name}: ${err.join("")}`);
  assert.equal(seen.length, 1);
  return seen[0]!;
}

function portOf(text: string): number {
  return parseListenAddress(text).port;
}

/**
 * Asserts that each HTTP probe of a linstor-suite container hits a path the
 * mode serves (200 from the real health routes) on a port it listens on, and
 * that every declared containerPort is listened on.
 */
export async function assertProbesServed(
  container: Json,
  where: string,
): Promise<void> {
  const routes = createHealthRoutes({
    registry: new Registry(),
    checks: {
      live: () => ({ ok: true, detail: "" }),
      ready: () => ({ ok: true, detail: "" }),
    },
  });
  const { mode, context } = await parseContainer(container);
  const served = new Set([
    portOf(context.flags.string("health-address") ?? DEFAULT_HEALTH_ADDRESS),
  ]);
  if (mode === "affinity" || mode === "extender") {
    const metrics = context.flags.string("metrics-address");
    if (metrics) served.add(portOf(metrics));
  }
  const ports = new Map<string, number>(
    (container.ports ?? []).map((p: Json) => [p.name, p.containerPort]),
  );
  for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    const get = container[probe]?.httpGet;
    if (!get) continue;
    const at = `${where} ${mode} ${probe}`;
    const port = typeof get.port === "string" ? ports.get(get.port) : get.port;
    assert.ok(served.has(port), `${at}: port ${get.port} not served`);
    assert.notEqual(get.scheme, "HTTPS", at);
    const response = await routes(new Request(`http://127.0.0.1${get.path}`));
    assert.equal(response?.status, 200, `${at}: ${get.path}`);
  }
  const listen = mode === "extender"
    ? context.flags.string("listen")
    : undefined;
  for (const port of ports.values()) {
    assert.ok(
      served.has(port) || (listen && portOf(listen) === port),
      `${where} ${mode}: containerPort ${port} is not listened on`,
    );
  }
}

/** Creates (for real) every namespace the objects live in or declare. */
export async function createNamespaces(
  cp: ControlPlane,
  objects: readonly Json[],
): Promise<void> {
  const names = new Set<string>();
  for (const object of objects) {
    if (object.kind === "Namespace") names.add(object.metadata.name);
    if (object.metadata?.namespace) names.add(object.metadata.namespace);
  }
  for (const name of names) {
    try {
      await cp.request("POST", "/api/v1/namespaces", {
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      });
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 409)) {
        throw error;
      }
    }
  }
}

/**
 * Creates every object but Namespaces with `dryRun=All` and strict field
 * validation; returns one line per refusal (empty when all pass).
 */
export async function dryRunCreate(
  cp: ControlPlane,
  objects: readonly Json[],
  where: string,
): Promise<string[]> {
  await createNamespaces(cp, objects);
  const failures: string[] = [];
  for (const object of objects) {
    if (object.kind === "Namespace") continue;
    try {
      const answer = await cp.request<Json>(
        "POST",
        `${collectionPath(object)}?dryRun=All&fieldValidation=Strict`,
        { body: object },
      );
      assert.equal(answer.metadata.name, object.metadata.name);
    } catch (error) {
      failures.push(
        `${where} ${object.kind}/${object.metadata.name}: ${
          (error as Error).message
        }`,
      );
    }
  }
  return failures;
}
