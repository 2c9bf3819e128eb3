/**
 * `deno task cluster up/down` (tools/cluster.ts) end to end: the last line of
 * `up` is a working admin kubeconfig, a second `up` is refused, `down` leaves
 * no process behind.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { ignoreWithoutControlPlane } from "./control_plane.ts";

const TOOL = fileURLToPath(new URL("../../tools/cluster.ts", import.meta.url));

async function cluster(
  dir: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", TOOL, ...args],
    env: { LINSTOR_SUITE_CLUSTER_DIR: dir, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** True while `pid` runs; a zombie (exited, not yet reaped by init) is not. */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(
      stat.lastIndexOf(")") + 2,
      stat.lastIndexOf(")") + 3,
    );
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

Deno.test({
  name: "`deno task cluster up` prints an admin kubeconfig and `down` stops it",
  ignore: ignoreWithoutControlPlane(),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "linstor-suite-cluster-" });
    let pids: number[] = [];
    try {
      const up = await cluster(
        dir,
        "up",
        "--extender-url",
        "http://127.0.0.1:9/x",
      );
      assert.equal(up.code, 0, up.stderr);
      const kubeconfigPath = up.stdout.trimEnd().split("\n").at(-1) ?? "";
      assert.match(kubeconfigPath, /admin\.kubeconfig$/);
      const state = JSON.parse(
        await Deno.readTextFile(`${dir}/state.json`),
      ) as {
        pids: Record<string, number>;
      };
      pids = Object.values(state.pids);
      assert.equal(pids.length, 4);

      const kubeconfig = JSON.parse(
        await Deno.readTextFile(kubeconfigPath),
      ) as {
        clusters: {
          cluster: { server: string; "certificate-authority-data": string };
        }[];
        users: { user: { token: string } }[];
      };
      const cluster0 = kubeconfig.clusters[0]?.cluster;
      assert.ok(cluster0);
      const client = Deno.createHttpClient({
        caCerts: [atob(cluster0["certificate-authority-data"])],
      });
      try {
        const response = await fetch(
          `${cluster0.server}/api/v1/namespaces/default`,
          {
            client,
            headers: {
              authorization: `Bearer ${kubeconfig.users[0]?.user.token}`,
            },
          },
        );
        assert.equal(response.status, 200);
        await response.body?.cancel();
      } finally {
        client.close();
      }

      const again = await cluster(dir, "up");
      assert.equal(again.code, 1);
      assert.match(again.stderr, /one is running/);
      assert.equal((await cluster(dir, "status")).code, 0);

      const down = await cluster(dir, "down");
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(pids.filter(alive), []);
      assert.equal((await cluster(dir, "status")).code, 1);
    } finally {
      for (const pid of pids.filter(alive)) {
        try {
          Deno.kill(-pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
