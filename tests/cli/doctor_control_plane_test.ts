/**
^ * `linstor-suite doctor` on the real control plane: the shipped RBAC with one
 * verb removed must be named with its fix, both when doctor runs as the
 * mode's ServiceAccount (SelfSubjectAccessReview) and as the admin
 * (SubjectAccessReview for that ServiceAccount); so must the scheduler
 * ConfigMap of deploy/extender/ with a dead extender URL and `ignorable: false`.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { createDoctorCommand, DOCTOR_WIRING } from "../../src/cli/doctor.ts";
import { runCli } from "../../src/cli/mod.ts";
import {
  type ControlPlane,
  ignoreWithoutControlPlane,
  KubeRequestError,
  startControlPlane,
} from "../_harness/control_plane.ts";
import { collectionPath } from "../_harness/service_account.ts";

const ROOT = new URL("../../", import.meta.url);

// deno-lint-ignore no-explicit-any
type Json = any;

interface Row {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

/** Creates every object of `path` after `edit` (409 for existing ones is fine). */
async function apply(
  cp: ControlPlane,
  path: string,
  edit: (object: Json) => void = () => {},
): Promise<void> {
  const text = await Deno.readTextFile(new URL(path, ROOT));
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS() as Json;
    if (!object) continue;
    edit(object);
    try {
      await cp.request("POST", collectionPath(object), { body: object });
    } catch (error) {
      if (!(error instanceof KubeRequestError && error.status === 409)) {
        throw error;
      }
    }
  }
}

async function doctor(
  env: Record<string, string>,
  args: string[],
): Promise<{ code: number; rows: Row[]; stderr: string }> {
  let out = "";
  let err = "";
  const code = await runCli(["doctor", "-o", "json", ...args], {
    env,
    stdout: (text) => out += text,
    stderr: (text) => err += text,
    signal: new AbortController().signal,
    commands: [createDoctorCommand(DOCTOR_WIRING)],
  });
  return {
    code,
    rows: out ? (JSON.parse(out) as { checks: Row[] }).checks : [],
    stderr: err,
  };
}

/** An address nothing listens on: the LINSTOR rows fail, the Kubernetes rows are what we look at. */
const NO_LINSTOR = {
  LS_CONTROLLERS: "http://127.0.0.1:9",
  LINSTOR_SUITE_LINSTOR_TIMEOUT: "1s",
};

Deno.test({
  name:
    "`doctor` on the real control plane names a verb missing from a mode's RBAC and a broken scheduler ConfigMap, each with its fix",
  ignore: ignoreWithoutControlPlane(),
  async fn(t) {
    const cp = await startControlPlane({});
    try {
      // affinity's ClusterRole without `patch` on PVCs; agent's as shipped.
      await apply(cp, "deploy/affinity/rbac.yaml", (object) => {
        if (object.kind !== "ClusterRole") return;
        for (const rule of object.rules) {
          if (rule.resources.includes("persistentvolumeclaims")) {
            rule.verbs = rule.verbs.filter((v: string) => v !== "patch");
          }
        }
      });
      await apply(cp, "deploy/agent/rbac.yaml");
      const missing = "permissions affinity: patch persistentvolumeclaims";

      await t.step("as the mode's ServiceAccount", async () => {
        const run = await doctor(
          { ...NO_LINSTOR, KUBECONFIG: cp.kubeconfigFor("affinity") },
          ["--mode", "affinity"],
        );
        const access = run.rows.find((r) => r.name === "Kubernetes access");
        assert.equal(access?.status, "ok", JSON.stringify(run.rows));
        assert.match(
          access!.detail,
          /as system:serviceaccount:linstor-suite:linstor-suite-affinity/,
        );
        const failed = run.rows.filter((r) =>
          r.name.startsWith("permissions affinity") && r.status === "fail"
        );
        assert.deepEqual(failed.map((r) => r.name), [missing]);
        assert.match(
          failed[0]!.fix!,
          /grant patch persistentvolumeclaims in the ClusterRole linstor-suite-affinity \(kubectl apply -f deploy\/affinity\/rbac\.yaml\)/,
        );
        assert.equal(run.code, 1);
      });

      await t.step("as the admin, for the mode's ServiceAccount", async () => {
        const run = await doctor(
          { ...NO_LINSTOR, KUBECONFIG: cp.adminKubeconfig },
          ["--mode", "affinity,agent"],
        );
        const permissionRows = run.rows.filter((r) =>
          r.name.startsWith("permissions ")
        );
        assert.deepEqual(
          permissionRows.map((r) => [r.name, r.status]),
          [[missing, "fail"], ["permissions agent", "ok"]],
        );
        assert.match(
          permissionRows[1]!.detail,
          /granted to system:serviceaccount:linstor-suite:linstor-suite-agent/,
        );
      });

      await t.step(
        "a scheduler ConfigMap with a wrong extender URL and ignorable: false",
        async () => {
          const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          const deadPort = (listener.addr as Deno.NetAddr).port;
          listener.close();
          await apply(cp, "deploy/extender/scheduler-config.yaml", (object) => {
            const key = "scheduler-config.yaml";
            object.data[key] = object.data[key]
              .replace("http://127.0.0.1:8099", `http://127.0.0.1:${deadPort}`)
              .replace("ignorable: true", "ignorable: false");
          });
          const run = await doctor(
            { ...NO_LINSTOR, KUBECONFIG: cp.adminKubeconfig },
            ["--mode", "extender"],
          );
          const name = `scheduler extender http://127.0.0.1:${deadPort}`;
          const failed = run.rows.filter((r) =>
            r.name.startsWith("scheduler ") && r.status !== "ok"
          );
          assert.deepEqual(
            failed.map((r) => [r.name, r.status]),
            [[`${name} reachable`, "fail"], [`${name} ignorable`, "fail"]],
          );
          assert.match(failed[0]!.detail, /refused|connect/i);
          assert.match(failed[0]!.fix!, /sidecar/);
          assert.match(failed[1]!.fix!, /set ignorable: true/);
          assert.equal(run.code, 1);
        },
      );

      await t.step("with a --context the kubeconfig lacks", async () => {
        const run = await doctor(
          { ...NO_LINSTOR, KUBECONFIG: cp.adminKubeconfig },
          ["--mode", "agent", "--context", "nope"],
        );
        const access = run.rows.find((r) => r.name === "Kubernetes access");
        assert.equal(access?.status, "fail");
        assert.match(access!.detail, /context "nope"/);
      });
    } finally {
      await cp.stop();
    }
  },
});
