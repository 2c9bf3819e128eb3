/**
 * `deploy/all.yaml` and every per-mode manifest, created with a server-side
 * dry run and strict field validation on the real apiserver: schema, unknown
 * fields, admission (PriorityClass, RBAC escalation) all answer as they would
 * for `kubectl apply`.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import {
  ignoreWithoutControlPlane,
  startControlPlane,
} from "../_harness/control_plane.ts";
import { dryRunCreate, ROOT } from "./_manifests.ts";

const MANIFESTS = [
  "deploy/all.yaml",
  "deploy/extender/default-scheduler.yaml",
];

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
      const failures = await dryRunCreate(cp, objects, path);
      assert.deepEqual(failures, []);
    }
  },
});
