/**
 * `deno task all-yaml` writes `deploy/all.yaml`, the one-file install, from
 * the per-mode manifests under `deploy/<mode>/` (the second-scheduler variant
 * of the extender). `tests/deploy/manifests_test.ts` fails when the file is
 * not what this renders, so edit the per-mode files and run the task.
 *
 * @module
 */
import { parseAllDocuments } from "yaml";

/** The per-mode manifests all.yaml is made of, in apply order. */
export const ALL_YAML_SOURCES: readonly string[] = [
  "deploy/extender/rbac.yaml",
  "deploy/extender/scheduler-config.yaml",
  "deploy/extender/second-scheduler.yaml",
  "deploy/affinity/rbac.yaml",
  "deploy/affinity/deployment.yaml",
  "deploy/agent/rbac.yaml",
  "deploy/agent/daemonset.yaml",
  "deploy/fencing/rbac.yaml",
  "deploy/fencing/daemonset.yaml",
];

const HEADER = `# linstor-suite, every mode in one file:
#   kubectl apply -f deploy/all.yaml
# The namespace, a ServiceAccount and least-privilege RBAC per mode, the
# \`linstor\` second scheduler with the extender sidecar, the affinity
# Deployment, and the agent and fencing DaemonSets. Before applying, set
# LS_CONTROLLERS (every container), the kube-scheduler image tag (your
# cluster's version) and the agent's nodeSelector.
#
# Generated from deploy/<mode>/*.yaml by \`deno task all-yaml\`; edit those.
# \`kubectl apply -k deploy/kustomize/base\` creates the same objects.
`;

const NAMESPACE = `apiVersion: v1
kind: Namespace
metadata:
  name: linstor-suite
  labels:
    # The agent and fencing DaemonSets need host access.
    pod-security.kubernetes.io/enforce: privileged
`;

/** all.yaml's text from the sources' texts (one Namespace, each file's comments kept). */
export function renderAllYaml(
  read: (path: string) => string,
  options: { sources?: readonly string[] } = {},
): string {
  const parts = [HEADER + NAMESPACE];
  for (const path of options.sources ?? ALL_YAML_SOURCES) {
    // Comments of a dropped Namespace or of a comment-only chunk go with the
    // next object.
    let pending: string[] = [];
    for (const chunk of read(path).split(/^---[ \t]*$/m)) {
      const [document] = parseAllDocuments(chunk);
      const object = document?.toJS() as { kind?: string } | null | undefined;
      if (!object || object.kind === "Namespace") {
        pending.push(...leadingComments(chunk));
        continue;
      }
      parts.push(
        [`# from ${path}`, ...pending, chunk.trim()].join("\n") + "\n",
      );
      pending = [];
    }
  }
  return parts.join("---\n");
}

function leadingComments(chunk: string): string[] {
  const lines: string[] = [];
  for (const line of chunk.trim().split("\n")) {
    if (!line.startsWith("#")) break;
    lines.push(line);
  }
  return lines;
}

if (import.meta.main) {
  const text = renderAllYaml((path) => Deno.readTextFileSync(path));
  Deno.writeTextFileSync("deploy/all.yaml", text);
}
