/**
 * `deploy/all.yaml` and every per-mode manifest, created with a server-side
 * dry run and strict field validation on the real apiserver: schema, unknown
 * fields, admission (PriorityClass, RBAC escalation) all answer as they would
 * for `kubectl apply`.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  KubeRequestError,
  startControlPlane,
} from "../_harness/control_plane.ts";

const ROOT = new URL("../../", import.meta.url);
const MANIFESTS = [
  "deploy/all.yaml",
  "deploy/extender/default-scheduler.yaml",
];

// deno-lint-ignore no-explicit-any
type Json = any;

function collectionPath(object: Json): string {
  const [group, version] = object.apiVersion.includes("/")
    ? object.apiVersion.split("/")
    : ["", object.apiVersion];
  const plural = `${object.kind.toLowerCase()}s`.replace(/ys$/, "ies");
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  const namespace = object.metadata.namespace
    ? `/namespaces/${object.metadata.namespace}`
    : "";
  return `${base}${namespace}/${plural}`;
}

async function createNamespaces(cp: ControlPlane, objects: Json[]) {
  for (const object of objects.filter((o) => o.kind === "Namespace")) {
    try {
      await cp.request("POST", "/api/v1/namespaces", { body: object });
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 409)) {
        throw error;
      }
    }
  }
}

Deno.test({
  name:
    "deploy/all.yaml passes a server-side dry run with strict field validation on the real apiserver",
  ignore: ignoreWithoutControlPlane(),
  async fn() {
    await using cp = await startControlPlane({});
    for (const path of MANIFESTS) {
      const text = await Deno.readTextFile(new URL(path, ROOT));
      const objects = parseAllDocuments(text).map((d) => d.toJS()).filter(
        Boolean,
      );
      // A dry-run create of a namespaced object needs its namespace to exist.
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
            `${path} ${object.kind}/${object.metadata.name}: ${
              (error as Error).message
            }`,
          );
        }
      }
      assert.deepEqual(failures, []);
    }
  },
});
