/**
 * HTTPS with client certificates. `Deno.serve` (and `Deno.listenTls`) cannot
 * require a client certificate, so the controller here is a `node:https`
 * server with `requestCert` and `rejectUnauthorized`, which Deno supports.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { LINSTOR_TLS_RELOAD_INTERVAL_MS } from "../../src/constants.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import {
  isConnectionError,
  LinstorApiError,
  LinstorClient,
  parseLinstorConfig,
} from "../../src/linstor/mod.ts";

const TLS_DIR = new URL("../_fixtures/tls/", import.meta.url);
function pem(name: string): string {
  return Deno.readTextFileSync(new URL(name, TLS_DIR));
}
const CA = pem("ca.pem");
const CLIENT = { cert: pem("client.pem"), key: pem("client-key.pem") };
const WRONG = {
  cert: pem("wrong-client.pem"),
  key: pem("wrong-client-key.pem"),
};

interface MtlsServer extends AsyncDisposable {
  port: number;
  /** Resolves when a gated request has arrived. */
  held: Promise<void>;
  /** Common names of the client certificates of answered requests. */
  clients: string[];
}

/**
 * An HTTPS controller on 127.0.0.1 that requires a client cert from `CA`.
 * Requests to `/v1/nodes` wait for `gate` (when given) before answering.
 */
async function serveMtls(gate?: Promise<void>): Promise<MtlsServer> {
  const clients: string[] = [];
  let arrived!: () => void;
  const held = new Promise<void>((resolve) => arrived = resolve);
  const server: Server = createServer({
    cert: pem("server.pem"),
    key: pem("server-key.pem"),
    ca: CA,
    requestCert: true,
    rejectUnauthorized: true,
  }, (request, response) => {
    const peer = (request.socket as TLSSocket).getPeerCertificate();
    clients.push(String(peer.subject?.CN ?? ""));
    if (gate && request.url === "/v1/nodes") {
      arrived();
      gate.then(() => {
        response.setHeader("Content-Type", "application/json");
        response.end("[]");
      });
      return;
    }
    response.setHeader("Content-Type", "application/json");
    response.end('{"version":"1.34.0","rest_api_version":"1.28.0"}');
  });
  await new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve())
  );
  const { port } = server.address() as { port: number };
  return {
    port,
    held,
    clients,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

Deno.test("`LinstorClient` talks HTTPS with a client certificate the server requires", async (t) => {
  await using server = await serveMtls();
  const url = `https://127.0.0.1:${server.port}`;

  await t.step("the right client certificate is accepted", async () => {
    using client = new LinstorClient({
      controllers: [url],
      tls: { caCerts: [CA], ...CLIENT },
    });
    const version = await client.controller.version();
    assert.equal(version.rest_api_version, "1.28.0");
    assert.deepEqual(server.clients, ["linstor-suite-client"]);
  });

  await t.step("localhost matches the DNS SAN", async () => {
    using client = new LinstorClient({
      controllers: [`https://localhost:${server.port}`],
      tls: { caCerts: [CA], ...CLIENT },
    });
    assert.equal((await client.controller.version()).version, "1.34.0");
  });

  const failing = [
    { name: "a missing client certificate", tls: { caCerts: [CA] } },
    {
      name: "a client certificate from another CA",
      tls: { caCerts: [CA], ...WRONG },
    },
    { name: "an untrusted server certificate", tls: { ...CLIENT } },
  ];
  for (const c of failing) {
    await t.step(`${c.name} fails as a connection error`, async () => {
      using client = new LinstorClient({ controllers: [url], tls: c.tls });
      await assert.rejects(client.controller.version(), (error: unknown) => {
        assert.ok(error instanceof LinstorApiError);
        assert.equal(isConnectionError(error), true);
        return true;
      });
    });
  }
  assert.deepEqual(server.clients, [
    "linstor-suite-client",
    "linstor-suite-client",
  ]);
});

Deno.test("`parseLinstorConfig()` output drives an mTLS client end to end", async () => {
  await using server = await serveMtls();
  const files: Record<string, string> = {
    "/tls/tls.crt": CLIENT.cert,
    "/tls/tls.key": CLIENT.key,
  };
  const options = parseLinstorConfig({
    LS_CONTROLLERS: `127.0.0.1:${server.port}`,
    LS_ROOT_CA: CA,
    LS_USER_CERTIFICATE_FILE: "/tls/tls.crt",
    LS_USER_KEY_FILE: "/tls/tls.key",
  }, { readFile: (path) => files[path] ?? "" });
  assert.deepEqual(options.controllers, [`https://127.0.0.1:${server.port}`]);
  using client = new LinstorClient(options);
  assert.equal((await client.controller.version()).version, "1.34.0");
});

Deno.test("`LinstorClient` re-reads rotated certificate files and keeps the old identity on bad content", async () => {
  await using server = await serveMtls();
  const files = new Map([["/tls/tls.crt", CLIENT.cert], [
    "/tls/tls.key",
    CLIENT.key,
  ]]);
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [`https://127.0.0.1:${server.port}`],
    tls: {
      caCerts: [CA],
      ...CLIENT,
      certFile: "/tls/tls.crt",
      keyFile: "/tls/tls.key",
    },
    readFile: (path) => {
      const content = files.get(path);
      if (content === undefined) throw new Deno.errors.NotFound(path);
      return content;
    },
    clock,
  });
  const works = async () => {
    try {
      await client.controller.version();
      return true;
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      return false;
    }
  };
  assert.equal(await works(), true);

  files.set("/tls/tls.crt", WRONG.cert);
  files.set("/tls/tls.key", WRONG.key);
  await clock.advance(LINSTOR_TLS_RELOAD_INTERVAL_MS - 1);
  assert.equal(await works(), true, "not re-read before the interval");
  await clock.advance(1);
  assert.equal(await works(), false, "the rotated (wrong) pair is used");

  files.set("/tls/tls.crt", CLIENT.cert);
  files.set("/tls/tls.key", CLIENT.key);
  await clock.advance(LINSTOR_TLS_RELOAD_INTERVAL_MS);
  assert.equal(await works(), true, "rotated back");

  files.set("/tls/tls.crt", "garbage");
  await clock.advance(LINSTOR_TLS_RELOAD_INTERVAL_MS);
  assert.equal(await works(), true, "unloadable content keeps the old pair");

  files.delete("/tls/tls.crt");
  await clock.advance(LINSTOR_TLS_RELOAD_INTERVAL_MS);
  assert.equal(await works(), true, "a missing file keeps the old pair");
  assert.equal(server.clients.length, 5);
});

Deno.test("`LinstorClient` closes a rotated-out HTTPS client only after its request finished", async () => {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => open = resolve);
  await using server = await serveMtls(gate);
  const files = new Map([["/c", CLIENT.cert], ["/k", CLIENT.key]]);
  const clock = new FakeClock();
  using client = new LinstorClient({
    controllers: [`https://127.0.0.1:${server.port}`],
    tls: { caCerts: [CA], ...CLIENT, certFile: "/c", keyFile: "/k" },
    readFile: (path) => files.get(path) ?? "",
    clock,
    timeoutMs: 2 * LINSTOR_TLS_RELOAD_INTERVAL_MS,
  });
  const slow = client.nodes.list();
  await server.held;
  // Same identity, new PEM text (a re-issued certificate would look alike).
  files.set("/c", CLIENT.cert + "\n");
  await clock.advance(LINSTOR_TLS_RELOAD_INTERVAL_MS);
  assert.equal((await client.controller.version()).version, "1.34.0");
  open();
  assert.deepEqual(await slow, []);
  assert.equal(server.clients.length, 2);
});
