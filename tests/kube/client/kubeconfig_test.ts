import assert from "node:assert/strict";
import { KubeConfig } from "../../../src/kube/client/mod.ts";

const CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n";

function yaml(users: string): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ns}
- name: other
  context: {cluster: c, user: nobody}
current-context: x
users:
${users}`;
}

Deno.test("KubeConfig.loadFromFile() resolves relative paths against the file's directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.crt`, CA);
    await Deno.writeTextFile(`${dir}/u.crt`, CERT);
    await Deno.writeTextFile(`${dir}/u.key`, "key");
    await Deno.writeTextFile(
      `${dir}/config`,
      yaml(
        "- name: u\n  user: {client-certificate: u.crt, client-key: u.key}\n",
      ),
    );
    const kc = new KubeConfig();
    kc.loadFromFile(`${dir}/config`);
    assert.equal(kc.getCurrentContext(), "x");
    assert.equal(kc.getCurrentCluster()?.caFile, `${dir}/ca.crt`);
    assert.equal(kc.getContextObject("x")?.namespace, "ns");
    assert.deepEqual(await kc.credentials(), {
      headers: {},
      ca: CA,
      cert: CERT,
      key: "key",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KubeConfig.credentials() builds the Authorization of each kind of user", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ca.crt`, CA);
    await Deno.writeTextFile(`${dir}/token`, "from-file");
    const cases: [string, string, Record<string, string>, string?][] = [
      ["bearer token", "- name: u\n  user: {token: abc}\n", {
        Authorization: "Bearer abc",
      }],
      [
        "basic auth",
        "- name: u\n  user: {username: admin, password: pw}\n",
        { Authorization: `Basic ${btoa("admin:pw")}` },
      ],
      [
        "token file provider",
        `- name: u\n  user:\n    auth-provider:\n      name: tokenFile\n      config: {tokenFile: ${dir}/token}\n`,
        { Authorization: "Bearer from-file" },
      ],
      [
        "exec plugin",
        `- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: ["-c", "echo '{\\"apiVersion\\":\\"client.authentication.k8s.io/v1\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"from-exec\\"}}'"]\n      interactiveMode: Never\n`,
        { Authorization: "Bearer from-exec" },
      ],
      [
        "impersonation",
        "- name: u\n  user: {token: abc, as: alice}\n",
        { Authorization: "Bearer abc", "Impersonate-User": "alice" },
      ],
      [
        "client certificate data",
        `- name: u\n  user: {client-certificate-data: ${
          btoa(CERT)
        }, client-key-data: ${btoa("k")}}\n`,
        {},
        CERT,
      ],
    ];
    for (const [name, users, headers, cert] of cases) {
      await t.step(name, async () => {
        const kc = new KubeConfig();
        kc.loadFromString(yaml(users), { directory: dir });
        const credentials = await kc.credentials();
        assert.deepEqual(credentials.headers, headers);
        assert.equal(credentials.ca, CA);
        assert.equal(credentials.cert, cert);
      });
    }
    await t.step(
      "a context whose user is missing sends no credentials",
      async () => {
        const kc = new KubeConfig();
        kc.loadFromString(yaml("- name: u\n  user: {token: abc}\n"), {
          directory: dir,
        });
        kc.loadFromOptions({ ...optionsOf(kc), currentContext: "other" });
        assert.deepEqual(await kc.credentials(), { headers: {}, ca: CA });
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("KubeConfig.addCluster() refuses a taken name and exportConfig() round-trips", () => {
  const kc = new KubeConfig();
  kc.loadFromString(yaml("- name: u\n  user: {token: abc}\n"));
  assert.throws(
    () =>
      kc.addCluster({ name: "c", server: "https://x", skipTLSVerify: false }),
    /Cannot add cluster "c": the name is taken/,
  );
  const copy = new KubeConfig();
  copy.loadFromString(kc.exportConfig());
  assert.deepEqual(optionsOf(copy), optionsOf(kc));
});

Deno.test("KubeConfig.loadFromString() throws on an invalid entry", () => {
  const kc = new KubeConfig();
  assert.throws(
    () => kc.loadFromString("clusters:\n- name: c\n  cluster: {}\n"),
    /server/,
  );
});

function optionsOf(kc: KubeConfig) {
  return {
    clusters: kc.clusters,
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  };
}
