import assert from "node:assert/strict";
import { serveSimulator } from "../../src/sim/mod.ts";
import { ContractClient, fixture, simFrom } from "./_harness.ts";

const SCENARIO = fixture("two_zones.yaml");

function pem(name: string): string {
  return Deno.readTextFileSync(
    new URL(`../_fixtures/tls/${name}`, import.meta.url),
  );
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
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
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
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
  });
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
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
  await server.finished;
});

Deno.test("`serveSimulator()` serves HTTPS", async () => {
  const { sim } = simFrom(SCENARIO);
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    tls: { cert: pem("server.pem"), key: pem("server-key.pem") },
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
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    tls: {
      cert: pem("server.pem"),
      key: pem("server-key.pem"),
      clientCa: pem("ca.pem"),
    },
  });
  try {
    await t.step(
      "trusted client certificate and auth → contract-valid answers",
      async () => {
        const client = Deno.createHttpClient({
          caCerts: [pem("ca.pem")],
          cert: pem("client.pem"),
          key: pem("client-key.pem"),
        });
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
      const client = Deno.createHttpClient({
        caCerts: [pem("ca.pem")],
        cert: pem("client.pem"),
        key: pem("client-key.pem"),
      });
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
  const controller = new AbortController();
  const server = await serveSimulator(sim, {
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    tls: {
      cert: pem("server.pem"),
      key: pem("server-key.pem"),
      clientCa: pem("ca.pem"),
    },
  });
  const client = Deno.createHttpClient({
    caCerts: [pem("ca.pem")],
    cert: pem("client.pem"),
    key: pem("client-key.pem"),
  });
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
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
    }
    await server.finished;
  } finally {
    client.close();
    controller.abort();
  }
});
