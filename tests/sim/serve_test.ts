import assert from "node:assert/strict";
import {
  serveSimulator,
  type ServeSimulatorOptions,
  type Simulator,
  type SimulatorServer,
} from "../../src/sim/mod.ts";
import { ContractClient, fixture, simFrom } from "./_harness.ts";

const SCENARIO = fixture("two_zones.yaml");

function pem(name: string): string {
  return Deno.readTextFileSync(
    new URL(`../_fixtures/tls/${name}`, import.meta.url),
  );
}

/** Serves `sim` on a free port of 127.0.0.1 until `controller` aborts. */
async function start(
  sim: Simulator,
  tls?: ServeSimulatorOptions["tls"],
): Promise<{ server: SimulatorServer; controller: AbortController }> {
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    ...(tls ? { tls } : {}),
  });
  return { server, controller };
}

/** Server certificate and key, and the CA every client must be signed by. */
function mutualTls(): ServeSimulatorOptions["tls"] {
  return {
    cert: pem("server.pem"),
    key: pem("server-key.pem"),
    clientCa: pem("ca.pem"),
  };
}

/** An HTTPS client that trusts the test CA and presents a certificate it signed. */
function trustedClient(): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: [pem("ca.pem")],
    cert: pem("client.pem"),
    key: pem("client-key.pem"),
  });
}

/** Reads `reader` to its end. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>) {
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
}

function fetcher(
  base: string,
  client?: Deno.HttpClient,
): (request: Request) => Promise<Response> {
  return (request) => {
    const url = new URL(request.url);
    return fetch(
      new Request(`${base}${url.pathname}${url.search}`, request),
      client ? { client } : {},
    );
  };
}

Deno.test("`serveSimulator()` serves the API over HTTP on 127.0.0.1", async () => {
  const { sim } = simFrom(SCENARIO);
  const { server, controller } = await start(sim);
  try {
    assert.ok(server.address.port > 0);
    assert.equal(server.url, `http://127.0.0.1:${server.address.port}`);
    const api = new ContractClient(fetcher(server.url));
    const nodes = await api.call("GET", "/v1/nodes?nodes=a1");
    assert.equal(nodes.status, 200);
    assert.deepEqual((nodes.body as { name: string }[]).map((n) => n.name), [
      "a1",
    ]);
    const created = await api.call("POST", "/v1/nodes", {
      name: "n7",
      type: "SATELLITE",
      net_interfaces: [],
    });
    assert.equal(created.status, 201);
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("`serveSimulator()` closes open event streams when it stops", async () => {
  const { sim } = simFrom(SCENARIO);
  const { server, controller } = await start(sim);
  const res = await fetch(`${server.url}/v1/events/drbd/promotion`, {
    headers: { "last-event-id": "current" },
  });
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  assert.match(
    new TextDecoder().decode(first.value),
    /event: may-promote-change/,
  );
  controller.abort();
  await drain(reader);
  await server.finished;
});

Deno.test("`serveSimulator()` serves HTTPS", async () => {
  const { sim } = simFrom(SCENARIO);
  const { server, controller } = await start(sim, {
    cert: pem("server.pem"),
    key: pem("server-key.pem"),
  });
  const client = Deno.createHttpClient({ caCerts: [pem("ca.pem")] });
  try {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const api = new ContractClient(fetcher(server.url, client));
    assert.equal((await api.call("GET", "/v1/controller/version")).status, 200);
  } finally {
    client.close();
    controller.abort();
    await server.finished;
  }
});

Deno.test("`serveSimulator()` requires a client certificate signed by `clientCa`", async (t) => {
  const { sim } = simFrom(SCENARIO, { username: "admin", password: "pw" });
  const { server, controller } = await start(sim, mutualTls());
  try {
    await t.step(
      "trusted client certificate and auth → contract-valid answers",
      async () => {
        const client = trustedClient();
        try {
          const api = new ContractClient(fetcher(server.url, client), {
            authorization: `Basic ${btoa("admin:pw")}`,
          });
          const view = await api.call(
            "GET",
            "/v1/view/resources?resources=pvc-1",
          );
          assert.equal(view.status, 200);
          assert.equal((view.body as unknown[]).length, 3);
          const spawn = await api.call(
            "POST",
            "/v1/resource-groups/rg-thin/spawn",
            {
              resource_definition_name: "pvc-tls",
              volume_sizes: [1024],
            },
          );
          assert.equal(spawn.status, 201, spawn.text);
          const events = await fetch(`${server.url}/v1/events/drbd/promotion`, {
            client,
            headers: {
              "last-event-id": "current",
              authorization: `Basic ${btoa("admin:pw")}`,
            },
          });
          const reader = (events.body as ReadableStream<Uint8Array>)
            .getReader();
          assert.match(
            new TextDecoder().decode((await reader.read()).value),
            /may-promote-change/,
          );
          await reader.cancel();
        } finally {
          client.close();
        }
      },
    );
    await t.step("trusted certificate without auth → 401", async () => {
      const client = trustedClient();
      try {
        const res = await fetch(`${server.url}/v1/nodes`, { client });
        assert.equal(res.status, 401);
        assert.equal(
          res.headers.get("www-authenticate"),
          'Basic realm="Linstor"',
        );
        await res.body?.cancel();
      } finally {
        client.close();
      }
    });
    const refused: [
      string,
      Deno.CreateHttpClientOptions & Partial<Deno.TlsCertifiedKeyPem>,
    ][] = [
      ["no client certificate", { caCerts: [pem("ca.pem")] }],
      [
        "certificate of another CA",
        {
          caCerts: [pem("ca.pem")],
          cert: pem("wrong-client.pem"),
          key: pem("wrong-client-key.pem"),
        },
      ],
    ];
    for (const [name, options] of refused) {
      await t.step(`${name} → handshake refused`, async () => {
        const client = Deno.createHttpClient(
          options as Deno.CreateHttpClientOptions,
        );
        try {
          await assert.rejects(fetch(`${server.url}/health`, { client }));
        } finally {
          client.close();
        }
      });
    }
  } finally {
    controller.abort();
    await server.finished;
  }
});

Deno.test("`serveSimulator()` with `clientCa` ends event streams when it stops", async () => {
  const { sim } = simFrom(SCENARIO);
  const { server, controller } = await start(sim, mutualTls());
  const client = trustedClient();
  try {
    const res = await fetch(`${server.url}/v1/events/drbd/promotion`, {
      client,
      headers: { "last-event-id": "current" },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assert.match(
      new TextDecoder().decode((await reader.read()).value),
      /may-promote-change/,
    );
    controller.abort();
    await drain(reader);
    await server.finished;
  } finally {
    client.close();
    controller.abort();
  }
});
