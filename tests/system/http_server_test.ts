import assert from "node:assert/strict";
import {
  reloadTlsOnChange,
  serveHttp,
  type TlsMaterial,
} from "../../src/system/mod.ts";
import { FakeClock, flushMicrotasks } from "../_fakes/fake_clock.ts";

const TLS = new URL("../_fixtures/tls/", import.meta.url);

function fixture(name: string): string {
  return Deno.readTextFileSync(new URL(name, TLS));
}

/** Signed by the test CA. */
const FIRST: TlsMaterial = {
  cert: fixture("server.pem"),
  key: fixture("server-key.pem"),
};
/** Signed by the other test CA, so a client tells the two apart. */
const SECOND: TlsMaterial = {
  cert: fixture("wrong-server.pem"),
  key: fixture("wrong-server-key.pem"),
};

/** GETs `url` with a fresh connection trusting `caFile`; the body or `"refused: …"`. */
async function get(url: string, caFile: string): Promise<string> {
  const client = Deno.createHttpClient({ caCerts: [fixture(caFile)] });
  try {
    const response = await fetch(url, { client });
    return await response.text();
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  } finally {
    client.close();
  }
}

/** A handler whose `/slow` answers only once `release()` is called. */
function gatedHandler() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => entered = resolve);
  return {
    release,
    inside,
    async handler(request: Request): Promise<Response> {
      if (new URL(request.url).pathname === "/slow") {
        entered();
        await gate;
        return new Response("slow done");
      }
      return new Response("ok");
    },
  };
}

/** An HTTPS server on a free loopback port with the {@linkcode FIRST} certificate, ready. */
async function serveTls(
  handler: (request: Request) => Response | Promise<Response>,
) {
  const stop = new AbortController();
  const server = serveHttp(handler, {
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
    tls: FIRST,
  });
  await server.ready;
  return { stop, server, base: `https://127.0.0.1:${server.address.port}` };
}

Deno.test("serveHttp() replaceTls() serves the new certificate to new connections on the open listener while in-flight requests finish", async () => {
  const gated = gatedHandler();
  const { stop, server, base } = await serveTls(gated.handler);
  try {
    assert.equal(await get(`${base}/`, "ca.pem"), "ok");
    const slow = get(`${base}/slow`, "ca.pem");
    await gated.inside;
    await server.replaceTls!(SECOND);
    // New connections get the new certificate while /slow is still open.
    assert.equal(await get(`${base}/`, "wrong-ca.pem"), "ok");
    assert.match(await get(`${base}/`, "ca.pem"), /^refused: /);
    gated.release();
    assert.equal(await slow, "slow done");
  } finally {
    gated.release();
    stop.abort();
    await server.finished;
  }
});

Deno.test("serveHttp() replaceTls() keeps the old certificate when the new one is unusable", async () => {
  const { stop, server, base } = await serveTls(() => new Response("ok"));
  try {
    await assert.rejects(
      server.replaceTls!({ cert: "not a certificate", key: FIRST.key }),
    );
    // A valid certificate with another certificate's key.
    await assert.rejects(
      server.replaceTls!({ cert: SECOND.cert, key: FIRST.key }),
    );
    assert.equal(await get(`${base}/`, "ca.pem"), "ok");
  } finally {
    stop.abort();
    await server.finished;
  }
  await assert.rejects(server.replaceTls!(SECOND), /server has stopped/);
});

Deno.test("serveHttp() without TLS offers no replaceTls()", async () => {
  const stop = new AbortController();
  const server = serveHttp(() => new Response("ok"), {
    hostname: "127.0.0.1",
    port: 0,
    signal: stop.signal,
  });
  stop.abort();
  await server.finished;
  assert.equal(server.replaceTls, undefined);
  await assert.rejects(
    reloadTlsOnChange(server, {
      read: () => Promise.resolve(FIRST),
      serving: FIRST,
      clock: new FakeClock(),
      intervalMs: 1_000,
      signal: stop.signal,
    }),
    TypeError,
  );
});

Deno.test("reloadTlsOnChange() takes a Secret volume's new files on the next read, and only then", async () => {
  // A Secret volume: files under a timestamped directory behind `..data`.
  const dir = await Deno.makeTempDir({ prefix: "tls-reload-" });
  const publish = async (version: string, material: TlsMaterial) => {
    await Deno.mkdir(`${dir}/${version}`);
    await Deno.writeTextFile(`${dir}/${version}/tls.crt`, material.cert);
    await Deno.writeTextFile(`${dir}/${version}/tls.key`, material.key);
    await Deno.symlink(version, `${dir}/..data_tmp`);
    await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
  };
  await publish("v1", FIRST);
  await Deno.symlink("..data/tls.crt", `${dir}/tls.crt`);
  await Deno.symlink("..data/tls.key", `${dir}/tls.key`);
  const clock = new FakeClock();
  const { stop, server, base } = await serveTls(() => new Response("ok"));
  let reads = 0;
  let readDone = () => {};
  let reloaded = () => {};
  const errors: unknown[] = [];
  const nextRead = () => new Promise<void>((resolve) => readDone = resolve);
  // The loop handles a read before it sleeps again: advance only then.
  const sleeping = async () => {
    for (let i = 0; i < 100 && clock.pending === 0; i++) {
      await flushMicrotasks();
    }
    assert.equal(clock.pending, 1, "the reload loop sleeps");
  };
  const advance = async () => {
    await sleeping();
    await clock.advance(10_000);
  };
  const loop = reloadTlsOnChange(server, {
    async read() {
      try {
        return {
          cert: await Deno.readTextFile(`${dir}/tls.crt`),
          key: await Deno.readTextFile(`${dir}/tls.key`),
        };
      } finally {
        reads++;
        readDone();
      }
    },
    serving: FIRST,
    clock,
    intervalMs: 10_000,
    signal: stop.signal,
    onReload: () => reloaded(),
    onError: (error) => errors.push(error),
  });
  try {
    // Unchanged files: read, nothing replaced.
    let read = nextRead();
    await advance();
    await read;
    assert.equal(reads, 1);
    assert.equal(await get(`${base}/`, "ca.pem"), "ok");
    // The kubelet swaps ..data: served from the next read on.
    await publish("v2", SECOND);
    assert.equal(await get(`${base}/`, "ca.pem"), "ok", "not before a read");
    const swapped = new Promise<void>((resolve) => reloaded = resolve);
    await advance();
    await swapped;
    assert.equal(await get(`${base}/`, "wrong-ca.pem"), "ok");
    assert.match(await get(`${base}/`, "ca.pem"), /^refused: /);
    // Unusable files are reported once and the last good certificate stays.
    await publish("v3", { cert: "garbage", key: "garbage" });
    for (let i = 0; i < 2; i++) {
      read = nextRead();
      await advance();
      await read;
    }
    await sleeping();
    assert.equal(errors.length, 1);
    assert.equal(await get(`${base}/`, "wrong-ca.pem"), "ok");
  } finally {
    stop.abort();
    await loop;
    await server.finished;
    await Deno.remove(dir, { recursive: true });
  }
});
