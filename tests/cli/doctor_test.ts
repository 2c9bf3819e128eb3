/**
 * `linstor-suite doctor` against the LINSTOR simulator over real HTTP(S) on
 * 127.0.0.1, with one deliberate fault per case: each must show up as a
 * failed check carrying its fix, and the exit code must be 1.
 */
import assert from "node:assert/strict";
import { parse as parseYaml } from "yaml";
import {
  createDoctorCommand,
  DOCTOR_WIRING,
  type DoctorWiring,
} from "../../src/cli/doctor.ts";
import { runCli } from "../../src/cli/mod.ts";
import {
  createSimulator,
  parseScenario,
  serveSimulator,
  type ServeSimulatorOptions,
  type Simulator,
  type SimulatorServer,
} from "../../src/sim/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import { FakeKubeDiagnostics } from "../_fakes/fake_kube_diagnostics.ts";
import { FakeLvm } from "../modes/agent/_world.ts";
import { vgRow } from "../modes/agent/_fixtures.ts";

/** The real LINSTOR edge, a fake apiserver that grants everything, a fake lvm with one tagged VG. */
const SIM_WIRING: DoctorWiring = {
  ...DOCTOR_WIRING,
  createKubeDiagnostics: () => new FakeKubeDiagnostics(),
  runner: taggedLvm(),
};

function taggedLvm(): FakeLvm {
  const lvm = new FakeLvm();
  lvm.vgs = [vgRow("data", "linstor-fast")];
  return lvm;
}

const TLS_DIR = new URL("../_fixtures/tls/", import.meta.url);

function tlsFile(name: string): string {
  return new URL(name, TLS_DIR).pathname;
}

function pem(name: string): string {
  return Deno.readTextFileSync(new URL(name, TLS_DIR));
}

const V2_NODES = `
nodes:
  - { name: n1, props: { Aux/topology/kubernetes.io/hostname: n1 } }
  - { name: n2, props: { Aux/topology/kubernetes.io/hostname: n2 } }
`;

const MIXED_NODES = `
nodes:
  - { name: n1, props: { Aux/topology/kubernetes.io/hostname: n1 } }
  - { name: n2, props: { Aux/topology.kubernetes.io/zone: b } }
`;

interface Row {
  name: string;
  status: string;
  detail: string;
  fix?: string;
}

interface Run {
  code: number;
  rows: Row[];
  stderr: string;
}

/** Serves a simulator on 127.0.0.1 for the duration of `fn`. */
async function withSim(
  options: {
    scenario?: string;
    username?: string;
    password?: string;
    tls?: ServeSimulatorOptions["tls"];
    wrap?: (sim: Simulator) => Simulator;
  },
  fn: (server: SimulatorServer) => Promise<void>,
): Promise<void> {
  const sim = createSimulator({
    clock: new FakeClock(),
    scenario: parseScenario(options.scenario ?? V2_NODES, "test"),
    ...(options.username
      ? { username: options.username, password: options.password ?? "" }
      : {}),
  });
  const controller = new AbortController();
  const server = await serveSimulator(options.wrap?.(sim) ?? sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    ...(options.tls ? { tls: options.tls } : {}),
  });
  try {
    await fn(server);
  } finally {
    controller.abort();
    await server.finished;
    sim.close();
  }
}

async function doctor(
  env: Record<string, string>,
  args: string[] = [],
  wiring: DoctorWiring = SIM_WIRING,
): Promise<Run> {
  let out = "";
  let err = "";
  const code = await runCli(
    ["doctor", "--output", "json", "--linstor-timeout", "5s", ...args],
    {
      env,
      stdout: (text) => out += text,
      stderr: (text) => err += text,
      signal: new AbortController().signal,
      commands: [createDoctorCommand(wiring)],
    },
  );
  const rows = out ? (JSON.parse(out) as { checks: Row[] }).checks : [];
  return { code, rows, stderr: err };
}

/** The failed row named `name`, asserting it carries a fix matching `fix`. */
function assertFailure(run: Run, name: string | RegExp, fix: RegExp): Row {
  const row = run.rows.find((r) =>
    typeof name === "string" ? r.name === name : name.test(r.name)
  );
  assert.ok(row, `no check ${name} in ${JSON.stringify(run.rows, null, 1)}`);
  assert.equal(row.status, "fail", JSON.stringify(row));
  assert.match(row.fix ?? "", fix);
  assert.equal(run.code, 1);
  return row;
}

function linstorRows(run: Run): Row[] {
  return run.rows.filter((r) => r.name.startsWith("LINSTOR "));
}

Deno.test("`doctor` passes the LINSTOR checks against a healthy simulator over mutual TLS with basic auth", async () => {
  await withSim({
    username: "admin",
    password: "pw",
    tls: {
      cert: pem("server.pem"),
      key: pem("server-key.pem"),
      clientCa: pem("ca.pem"),
    },
  }, async (server) => {
    const run = await doctor({
      LS_CONTROLLERS: server.url,
      LS_ROOT_CA_FILE: tlsFile("ca.pem"),
      LS_USER_CERTIFICATE_FILE: tlsFile("client.pem"),
      LS_USER_KEY_FILE: tlsFile("client-key.pem"),
      LS_USERNAME: "admin",
      LS_PASSWORD: "pw",
    }, ["--mode", "affinity"]);
    const rows = linstorRows(run);
    assert.deepEqual(rows.map((r) => [r.name.split(" ").pop(), r.status]), [
      ["reachable", "ok"],
      ["TLS", "ok"],
      ["auth", "ok"],
      ["version", "ok"],
    ]);
    const namespace = run.rows.find((r) => r.name === "property namespace");
    assert.equal(namespace?.status, "ok");
    assert.match(namespace!.detail, /^Aux\/topology/);
    assert.equal(run.code, 0, run.stderr);
  });
});

Deno.test("`doctor` reports each injected LINSTOR fault with its fix", async (t) => {
  await t.step("LINSTOR down", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const run = await doctor({ LS_CONTROLLERS: `http://127.0.0.1:${port}` });
    const row = assertFailure(
      run,
      `LINSTOR http://127.0.0.1:${port} reachable`,
      /LS_CONTROLLERS/,
    );
    assert.match(row.detail, /refused|connect/i);
  });

  await t.step("wrong TLS: the controller's CA is not trusted", async () => {
    await withSim({
      tls: { cert: pem("server.pem"), key: pem("server-key.pem") },
    }, async (server) => {
      const run = await doctor({
        LS_CONTROLLERS: server.url,
        LS_ROOT_CA_FILE: tlsFile("wrong-ca.pem"),
      });
      assertFailure(run, `LINSTOR ${server.url} TLS`, /LS_ROOT_CA_FILE/);
    });
  });

  await t.step(
    "wrong TLS: no client certificate for a controller that requires one",
    async () => {
      await withSim({
        tls: {
          cert: pem("server.pem"),
          key: pem("server-key.pem"),
          clientCa: pem("ca.pem"),
        },
      }, async (server) => {
        const run = await doctor({
          LS_CONTROLLERS: server.url,
          LS_ROOT_CA_FILE: tlsFile("ca.pem"),
        });
        assertFailure(
          run,
          `LINSTOR ${server.url} TLS`,
          /set LS_USER_CERTIFICATE_FILE and LS_USER_KEY_FILE/,
        );
      });
    },
  );

  await t.step("wrong TLS: a client certificate from another CA", async () => {
    await withSim({
      tls: {
        cert: pem("server.pem"),
        key: pem("server-key.pem"),
        clientCa: pem("ca.pem"),
      },
    }, async (server) => {
      const run = await doctor({
        LS_CONTROLLERS: server.url,
        LS_ROOT_CA_FILE: tlsFile("ca.pem"),
        LS_USER_CERTIFICATE_FILE: tlsFile("wrong-client.pem"),
        LS_USER_KEY_FILE: tlsFile("wrong-client-key.pem"),
      });
      assertFailure(run, `LINSTOR ${server.url} TLS`, /truststore/);
    });
  });

  await t.step("bad auth: wrong password", async () => {
    await withSim({ username: "admin", password: "pw" }, async (server) => {
      const run = await doctor({
        LS_CONTROLLERS: server.url,
        LS_USERNAME: "admin",
        LS_PASSWORD: "nope",
      });
      assertFailure(run, `LINSTOR ${server.url} auth`, /LS_PASSWORD/);
    });
  });

  await t.step("bad auth: no credentials", async () => {
    await withSim({ username: "admin", password: "pw" }, async (server) => {
      const run = await doctor({ LS_CONTROLLERS: server.url });
      assertFailure(
        run,
        `LINSTOR ${server.url} auth`,
        /set LS_USERNAME and LS_PASSWORD/,
      );
    });
  });

  await t.step("old version", async () => {
    await withSim({ wrap: oldController }, async (server) => {
      const run = await doctor({ LS_CONTROLLERS: server.url });
      const row = assertFailure(
        run,
        `LINSTOR ${server.url} version`,
        /upgrade LINSTOR/,
      );
      assert.match(row.detail, /REST API 1\.15\.0/);
    });
  });

  await t.step("property namespace conflict: mixed node layouts", async () => {
    await withSim({ scenario: MIXED_NODES }, async (server) => {
      const run = await doctor({ LS_CONTROLLERS: server.url }, [
        "--mode",
        "affinity",
      ]);
      const row = assertFailure(run, "property namespace", /same layout/);
      assert.match(row.detail, /\(n2\)/);
    });
  });

  await t.step(
    "property namespace conflict: a setting the nodes do not use",
    async () => {
      await withSim({}, async (server) => {
        const run = await doctor(
          {
            LS_CONTROLLERS: server.url,
            LINSTOR_SUITE_PROPERTY_NAMESPACE: "Aux",
          },
          ["--mode", "extender"],
        );
        assertFailure(
          run,
          "property namespace",
          /--property-namespace=Aux\/topology/,
        );
      });
    },
  );

  await t.step("a bad LS_CONTROLLERS", async () => {
    const run = await doctor({ LS_CONTROLLERS: "ftp://x" });
    assertFailure(run, "LINSTOR configuration", /LS_\*/);
  });
});

/** The simulator, answering the version probe as LINSTOR v1.20.0 does. */
function oldController(sim: Simulator): Simulator {
  return {
    ...sim,
    handler(request) {
      if (new URL(request.url).pathname === "/v1/controller/version") {
        return Promise.resolve(Response.json({
          version: "1.20.0",
          git_hash: "old",
          build_time: "2022-01-01T00:00:00+00:00",
          rest_api_version: "1.15.0",
        }));
      }
      return sim.handler(request);
    },
  };
}

Deno.test("`doctor` reviews each mode's permissions for its ServiceAccount and names a missing one", async (t) => {
  const linstorDown = { LS_CONTROLLERS: "http://127.0.0.1:9" };
  await t.step(
    "as an admin: SubjectAccessReviews for the ServiceAccount",
    async () => {
      const fake = new FakeKubeDiagnostics({
        denied: ["delete volumeattachments"],
      });
      const run = await doctor(linstorDown, ["--mode", "fencing"], {
        ...SIM_WIRING,
        createKubeDiagnostics: () => fake,
      });
      assertFailure(
        run,
        "permissions fencing: delete volumeattachments.storage.k8s.io",
        /ClusterRole linstor-suite-fencing .*deploy\/fencing\/rbac\.yaml/,
      );
      assert.ok(
        fake.reviews.every((r) =>
          r.subject ===
            "system:serviceaccount:linstor-suite:linstor-suite-fencing"
        ),
      );
      assert.ok(fake.closed);
    },
  );
  await t.step("as the ServiceAccount itself: its own reviews", async () => {
    const fake = new FakeKubeDiagnostics({
      identity: {
        username: "system:serviceaccount:ns2:linstor-suite-agent",
        groups: [],
      },
    });
    const run = await doctor(linstorDown, ["--mode", "agent", "-n", "ns2"], {
      ...SIM_WIRING,
      createKubeDiagnostics: () => fake,
    });
    const row = run.rows.find((r) => r.name === "permissions agent");
    assert.equal(row?.status, "ok");
    assert.ok(fake.reviews.every((r) => r.subject === undefined));
  });
  await t.step(
    "as a user who may not review others: its own access, with a warning",
    async () => {
      const fake = new FakeKubeDiagnostics({ forbidSubjectReviews: true });
      const run = await doctor(linstorDown, ["--mode", "extender"], {
        ...SIM_WIRING,
        createKubeDiagnostics: () => fake,
      });
      const row = run.rows.find((r) => r.name === "permissions extender");
      assert.equal(row?.status, "warn");
      assert.match(row!.detail, /to admin, not to ServiceAccount/);
    },
  );
  await t.step("without a kubeconfig", async () => {
    const run = await doctor(linstorDown, ["--mode", "agent"], DOCTOR_WIRING);
    assertFailure(run, "Kubernetes access", /--kubeconfig/);
  });
});

Deno.test("`doctor` refuses an unknown --mode", async () => {
  const run = await doctor({}, ["--mode", "nope"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /Cannot check mode "nope"/);
});

Deno.test("`doctor --mode agent` checks lvm2 and the pool tags through the command edge", async (t) => {
  const env = { LS_CONTROLLERS: "http://127.0.0.1:9" };
  await t.step("a tagged VG", async () => {
    const run = await doctor(env, ["--mode", "agent"]);
    const tags = run.rows.find((r) => r.name === "LVM tags");
    assert.equal(tags?.status, "ok");
    assert.match(tags!.detail, /fast \(VG "data"\)/);
  });
  await t.step("lvm hanging (fault)", async () => {
    const lvm = taggedLvm();
    lvm.hang = true;
    const run = await doctor(env, ["--mode", "agent"], {
      ...SIM_WIRING,
      runner: lvm,
    });
    assertFailure(run, "LVM lvm2", /lvm vgs/);
  });
  await t.step("a VG tagged with an invalid pool name (fault)", async () => {
    const lvm = new FakeLvm();
    lvm.vgs = [vgRow("data", "linstor-Bad_Name")];
    const run = await doctor(env, ["--mode", "agent"], {
      ...SIM_WIRING,
      runner: lvm,
    });
    assertFailure(run, "LVM tag linstor-Bad_Name", /--deltag linstor-Bad_Name/);
  });
  await t.step("--host-lvm runs lvm through nsenter", async () => {
    const lvm = taggedLvm();
    await doctor(env, ["--mode", "agent", "--host-lvm"], {
      ...SIM_WIRING,
      runner: lvm,
    });
    assert.equal(lvm.calls[0]?.program, "nsenter");
  });
  await t.step("not for the default --mode all", async () => {
    const lvm = taggedLvm();
    const run = await doctor(env, [], { ...SIM_WIRING, runner: lvm });
    assert.equal(lvm.calls.length, 0);
    assert.ok(!run.rows.some((r) => r.name.startsWith("LVM")));
  });
});

Deno.test("`doctor` checks the scheduler ConfigMap or --scheduler-config file", async (t) => {
  const env = { LS_CONTROLLERS: "http://127.0.0.1:9" };
  const shipped = await Deno.readTextFile(
    new URL("../../deploy/extender/scheduler-config.yaml", import.meta.url),
  );
  const probed: string[] = [];
  const wiring: DoctorWiring = {
    ...SIM_WIRING,
    probeExtender(url) {
      probed.push(url);
      return Promise.resolve({ ok: false, message: "Connection refused" });
    },
  };
  await t.step(
    "the ConfigMap of deploy/extender/ (extender down: fault)",
    async () => {
      const data = {
        "scheduler-config.yaml": String(
          parseYaml(shipped).data["scheduler-config.yaml"],
        ),
      };
      const run = await doctor(env, ["--mode", "extender"], {
        ...wiring,
        createKubeDiagnostics: () =>
          new FakeKubeDiagnostics({
            configMaps: { "linstor-suite/linstor-scheduler-config": data },
          }),
      });
      assertFailure(
        run,
        "scheduler extender http://127.0.0.1:8099 reachable",
        /sidecar/,
      );
      assert.deepEqual(probed, ["http://127.0.0.1:8099/filter"]);
      const ignorable = run.rows.find((r) => r.name.endsWith(" ignorable"));
      assert.equal(ignorable?.status, "ok");
    },
  );
  await t.step(
    "no ConfigMap: a warning naming --scheduler-config",
    async () => {
      const run = await doctor(env, ["--mode", "extender"], wiring);
      const row = run.rows.find((r) => r.name === "scheduler configuration");
      assert.equal(row?.status, "warn");
      assert.match(row!.fix!, /--scheduler-config/);
    },
  );
  await t.step("a file with ignorable: false (fault)", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/config.yaml`;
      await Deno.writeTextFile(
        file,
        shipped.replace("ignorable: true", "ignorable: false"),
      );
      const run = await doctor(env, [
        "--mode",
        "extender",
        "--scheduler-config",
        file,
      ], wiring);
      assertFailure(
        run,
        "scheduler extender http://127.0.0.1:8099 ignorable",
        /set ignorable: true/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
