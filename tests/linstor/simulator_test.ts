/**
 * The LINSTOR client against the LINSTOR simulator (`src/sim/`) over real
 * HTTP and HTTPS on 127.0.0.1.
 */
import assert from "node:assert/strict";
import {
  isAlreadyExists,
  isConnectionError,
  isNotFound,
  LinstorApiError,
  LinstorClient,
  parseLinstorConfig,
  parseRetCode,
  sameEnum,
} from "../../src/linstor/mod.ts";
import {
  createSimulator,
  serveSimulator,
  type ServeSimulatorOptions,
  type SimulatorOptions,
} from "../../src/sim/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";

const TLS_DIR = new URL("../_fixtures/tls/", import.meta.url);
function pem(name: string): string {
  return Deno.readTextFileSync(new URL(name, TLS_DIR));
}

/** Serves a new simulator on 127.0.0.1; `close()` stops it and waits. */
async function serve(
  options: Omit<SimulatorOptions, "clock"> = {},
  tls?: ServeSimulatorOptions["tls"],
) {
  const sim = createSimulator({ clock: new FakeClock(), ...options });
  const stop = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    ...(tls ? { tls } : {}),
    signal: stop.signal,
  });
  const close = async () => {
    stop.abort();
    sim.close();
    await server.finished;
  };
  return { sim, server, close };
}

Deno.test("`LinstorClient` builds and reads a cluster on the simulator over HTTP", async () => {
  const { server, close } = await serve({ username: "admin", password: "pw" });
  using client = new LinstorClient({
    controllers: [server.url],
    auth: { type: "basic", username: "admin", password: "pw" },
    mode: "test",
  });
  try {
    for (const [name, address] of [["n1", "10.0.0.1"], ["n2", "10.0.0.2"]]) {
      await client.nodes.create({
        name: name!,
        type: "Satellite",
        net_interfaces: [{ name: "default", address: address! }],
      });
      await client.storagePools.create(name!, {
        storage_pool_name: "thin",
        provider_kind: "LVM_THIN",
        props: { "StorDriver/StorPoolName": "vg/thin" },
      });
    }
    await client.nodes.modify("n1", {
      override_props: { "Aux/topology/topology.kubernetes.io/zone": "a" },
    });
    const nodes = await client.nodes.list({ nodes: ["n1"] });
    assert.deepEqual(nodes.map((n) => n.name), ["n1"]);
    assert.ok(sameEnum(nodes[0]?.type, "SATELLITE"));
    assert.equal(
      nodes[0]?.props?.["Aux/topology/topology.kubernetes.io/zone"],
      "a",
    );
    const pools = await client.storagePools.view({
      cached: true,
      storagePools: ["thin"],
    });
    assert.deepEqual(pools.map((p) => p.node_name).sort(), ["n1", "n2"]);

    await client.resourceGroups.create({
      name: "rg",
      select_filter: { place_count: 2, storage_pool: "thin" },
    });
    await client.resourceGroups.spawn("rg", {
      resource_definition_name: "pvc-1",
      volume_sizes: [1024 * 1024],
    });
    const resources = await client.resources.view({ resources: ["pvc-1"] });
    assert.deepEqual(resources.map((r) => r.node_name).sort(), ["n1", "n2"]);
    const definitions = await client.resourceDefinitions.list({
      withVolumeDefinitions: true,
    });
    assert.equal(definitions[0]?.resource_group_name, "rg");
    assert.equal(
      definitions[0]?.volume_definitions?.[0]?.size_kib,
      1024 * 1024,
    );

    await client.volumeDefinitions.modify("pvc-1", 0, {
      override_props: { "Aux/note": "x" },
    });
    const volumes = await client.volumeDefinitions.list("pvc-1");
    assert.equal(volumes[0]?.props?.["Aux/note"], "x");

    await assert.rejects(
      client.resourceDefinitions.get("pvc-missing"),
      (error: unknown) => {
        assert.ok(isNotFound(error));
        return true;
      },
    );
    await assert.rejects(
      client.resourceDefinitions.create({
        resource_definition: { name: "pvc-1" },
      }),
      (error: unknown) => {
        assert.ok(error instanceof LinstorApiError);
        assert.ok(isAlreadyExists(error), error.message);
        const decoded = parseRetCode(error.apiCallRcs[0]!.ret_code);
        assert.equal(decoded.severity, "error");
        assert.equal(decoded.code, 501);
        return true;
      },
    );

    using anonymous = new LinstorClient({ controllers: [server.url] });
    await anonymous.controller.health();
    await assert.rejects(anonymous.nodes.list(), (error: unknown) => {
      assert.ok(error instanceof LinstorApiError);
      assert.equal(error.status, 401);
      assert.match(error.message, /LS_USERNAME/);
      return true;
    });
    using wrong = new LinstorClient({
      controllers: [server.url],
      auth: { type: "basic", username: "admin", password: "nope" },
      mode: "test",
    });
    await assert.rejects(wrong.nodes.list(), (error: unknown) => {
      assert.ok(error instanceof LinstorApiError);
      assert.equal(error.status, 403, "the controller's FAIL_SIGN_IN status");
      assert.match(error.message, /Sign-in failed.*LS_USERNAME/);
      return true;
    });
  } finally {
    client.close();
    await close();
  }
});

Deno.test("`LinstorClient` reaches the simulator over HTTPS only with the right client certificate", async (t) => {
  const { server, close } = await serve({}, {
    cert: pem("server.pem"),
    key: pem("server-key.pem"),
    clientCa: pem("ca.pem"),
  });
  try {
    const cases = [
      { name: "right certificate", cert: "client", ok: true },
      { name: "wrong CA's certificate", cert: "wrong-client", ok: false },
      { name: "no certificate", cert: undefined, ok: false },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        using client = new LinstorClient({
          controllers: [server.url],
          tls: {
            caCerts: [pem("ca.pem")],
            ...(c.cert
              ? { cert: pem(`${c.cert}.pem`), key: pem(`${c.cert}-key.pem`) }
              : {}),
          },
        });
        if (c.ok) {
          const version = await client.controller.version();
          assert.ok(version.rest_api_version);
        } else {
          await assert.rejects(
            client.controller.version(),
            (error: unknown) => {
              assert.ok(isConnectionError(error), String(error));
              return true;
            },
          );
        }
      });
    }
  } finally {
    await close();
  }
});

Deno.test("`LinstorClient` streams DRBD promotion events from the simulator", async () => {
  const { sim, server, close } = await serve();
  using client = new LinstorClient({ controllers: [server.url] });
  const cancel = new AbortController();
  try {
    for (const name of ["n1", "n2"]) {
      await client.nodes.create({
        name,
        type: "Satellite",
        net_interfaces: [{ name: "default", address: "10.0.0.1" }],
      });
      await client.storagePools.create(name, {
        storage_pool_name: "thin",
        provider_kind: "LVM_THIN",
      });
    }
    await client.resourceGroups.create({
      name: "rg",
      select_filter: { place_count: 2, storage_pool: "thin" },
    });
    await client.resourceGroups.spawn("rg", {
      resource_definition_name: "pvc-1",
      volume_sizes: [1024],
    });
    const stream = client.events.drbdPromotion({ signal: cancel.signal });
    const next = async () => (await stream.next()).value;
    const replayed = [await next(), await next()];
    assert.deepEqual(
      replayed.map((e) => [e?.resource_name, e?.node_name, e?.may_promote])
        .sort(),
      [["pvc-1", "n1", true], ["pvc-1", "n2", true]],
    );
    sim.apply({
      action: "set-in-use",
      resource: "pvc-1",
      node: "n1",
      in_use: true,
    });
    const changed = [await next(), await next()];
    assert.deepEqual(
      changed.map((e) => [e?.node_name, e?.may_promote]).sort(),
      [["n1", false], ["n2", false]],
    );
    const reason = new Error("stop watching");
    const pending = stream.next();
    cancel.abort(reason);
    await assert.rejects(pending, (error) => error === reason);
  } finally {
    cancel.abort();
    client.close();
    await close();
  }
});

Deno.test("`LinstorClient` trusts an HTTPS simulator only through `caCerts`", async (t) => {
  const { server, close } = await serve({}, {
    cert: pem("server.pem"),
    key: pem("server-key.pem"),
  });
  try {
    await t.step("with the test CA", async () => {
      const options = parseLinstorConfig({
        LS_CONTROLLERS: `127.0.0.1:${server.address.port}`,
        LS_ROOT_CA: pem("ca.pem"),
      }, { readFile: () => "" });
      using client = new LinstorClient(options);
      assert.ok((await client.controller.version()).version);
    });
    await t.step("with the wrong CA", async () => {
      using client = new LinstorClient({
        controllers: [server.url],
        tls: { caCerts: [pem("wrong-ca.pem")] },
      });
      await assert.rejects(client.controller.version(), (error: unknown) => {
        assert.ok(isConnectionError(error), String(error));
        return true;
      });
    });
  } finally {
    await close();
  }
});
