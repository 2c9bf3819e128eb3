import assert from "node:assert/strict";
import { isCi } from "../_harness/control_plane.ts";
import { answeringServer, buildSchedulerClient } from "./extender_bench.ts";

// The benchmark's Go client, built as `extender_bench.ts` builds it. Outside
// CI, without Go on the PATH, these tests are ignored with the reason; in CI
// (which builds the control plane with Go) they run and fail loudly.
const client = await buildSchedulerClient();
const ignore = typeof client === "string" && !isCi();
if (ignore) {
  Deno.stderr.writeSync(
    new TextEncoder().encode(`\nSkipping scheduler_client tests: ${client}\n`),
  );
}

interface Seen {
  verb: string;
  contentType: string | null;
  body: string;
}

/** A fake extender on loopback answering `answers[verb]`, recording what it got. */
function fakeExtender(
  answers: Record<string, { body: string; status?: number }>,
): { base: string; seen: Seen[]; stop: () => Promise<void> } {
  const seen: Seen[] = [];
  const server = answeringServer(
    new Map(Object.entries(answers).map(([verb, a]) => [`/${verb}`, a])),
    async (request) =>
      seen.push({
        verb: new URL(request.url).pathname.slice(1),
        contentType: request.headers.get("content-type"),
        body: await request.text(),
      }),
  );
  return { ...server, seen };
}

/** Runs the client against `base`: its "warm" line, then "go", then its result line. */
async function runClient(
  base: string,
  options: { body: string; runs: number },
): Promise<{ lines: string[]; code: number; stderr: string }> {
  if (typeof client === "string") throw new Error(client);
  const file = await Deno.makeTempFile({ prefix: "scheduler-client-test-" });
  try {
    await Deno.writeTextFile(file, options.body);
    const child = new Deno.Command(client.command, {
      args: [`-base=${base}`, `-body=${file}`, `-runs=${options.runs}`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    const output = await child.output();
    return {
      lines: new TextDecoder().decode(output.stdout).trim().split("\n"),
      code: output.code,
      stderr: new TextDecoder().decode(output.stderr),
    };
  } finally {
    await Deno.remove(file);
  }
}

Deno.test({
  name:
    "scheduler_client posts each pair as kube-scheduler does and reports per-call latencies",
  ignore,
  async fn(t) {
    const body = '{"Pod":{"metadata":{"name":"p"}},"NodeNames":["a","b"]}';
    const cases = [
      {
        name: "names: the filter answer's NodeNames pass",
        filter: '{"NodeNames":["a","b"],"FailedNodes":{},"Error":""}',
        passed: 2,
      },
      {
        name: "Node objects: the filter answer's items pass",
        filter:
          '{"Nodes":{"metadata":{},"items":[{},{},{}]},"NodeNames":null,"Error":""}',
        passed: 3,
      },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const fake = fakeExtender({
          filter: { body: c.filter },
          prioritize: { body: "[]" },
        });
        try {
          const runs = 7;
          const { lines, code, stderr } = await runClient(fake.base, {
            body,
            runs,
          });
          assert.equal(code, 0, stderr);
          assert.equal(lines[0], "warm");
          const result = JSON.parse(lines[1]!);
          assert.equal(result.passed, c.passed);
          for (const series of ["filter", "prioritize", "pairs"]) {
            const values = result[series] as number[];
            assert.equal(values.length, runs, series);
            assert.deepEqual(values, [...values].sort((a, b) => a - b));
            assert.ok(values.every((v) => v > 0), series);
          }
          assert.ok(result.cpuMsPerPair >= 0 && result.elapsedS > 0);
          // One check call, 50 warm-up pairs, then the measured ones: each
          // the body as given, as JSON.
          assert.equal(fake.seen.length, 1 + 2 * 50 + 2 * runs);
          assert.deepEqual(
            fake.seen.slice(0, 3).map((s) => s.verb),
            ["filter", "filter", "prioritize"],
          );
          assert.ok(fake.seen.every((s) => s.body === body));
          assert.ok(
            fake.seen.every((s) => s.contentType === "application/json"),
          );
        } finally {
          await fake.stop();
        }
      });
    }
  },
});

Deno.test({
  name: "scheduler_client fails with the reason when the extender refuses",
  ignore,
  async fn() {
    const fake = fakeExtender({
      filter: { body: "no", status: 500 },
      prioritize: { body: "[]" },
    });
    try {
      const { code, stderr } = await runClient(fake.base, {
        body: "{}",
        runs: 1,
      });
      assert.equal(code, 1);
      assert.match(stderr, /cannot filter: HTTP 500/);
    } finally {
      await fake.stop();
    }
  },
});
