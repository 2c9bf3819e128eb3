import assert from "node:assert/strict";
import {
  type Check,
  linstorChecks,
  type LinstorEndpointProbe,
} from "../../src/doctor/mod.ts";

const HTTP = "http://ctl:3370";
const HTTPS = "https://ctl:3371";
const GOOD = {
  ok: true as const,
  version: { version: "1.34.0", rest_api_version: "1.28.0" },
};

function probe(
  url: string,
  result: LinstorEndpointProbe["result"],
  extra: Partial<LinstorEndpointProbe> = {},
): LinstorEndpointProbe {
  return { url, clientCertificate: false, auth: undefined, result, ...extra };
}

function verdicts(checks: readonly Check[]): string[] {
  return checks.map((c) => `${c.status} ${c.name}`);
}

function failed(checks: readonly Check[]): Check {
  const found = checks.find((c) => c.status === "fail");
  assert.ok(found, `no failure in ${JSON.stringify(checks)}`);
  assert.ok(found.fix, "a failure carries its fix");
  return found;
}

Deno.test("`linstorChecks()` says ok for each step when the controller answers", () => {
  const checks = linstorChecks([
    probe(HTTPS, GOOD, { clientCertificate: true, auth: "basic" }),
  ]);
  assert.deepEqual(verdicts(checks), [
    `ok LINSTOR ${HTTPS} reachable`,
    `ok LINSTOR ${HTTPS} TLS`,
    `ok LINSTOR ${HTTPS} auth`,
    `ok LINSTOR ${HTTPS} version`,
  ]);
  assert.match(checks[1]!.detail, /client certificate accepted/);
  assert.match(checks[2]!.detail, /basic credentials accepted/);
  assert.equal(checks[3]!.detail, "LINSTOR 1.34.0, REST API 1.28.0");
});

Deno.test("`linstorChecks()` names the failing step and its fix", async (t) => {
  const cases: {
    name: string;
    probe: LinstorEndpointProbe;
    check: string;
    fix: RegExp;
  }[] = [
    {
      name: "connection refused",
      probe: probe(HTTP, {
        ok: false,
        message: "Connection refused (os error 111)",
      }),
      check: `LINSTOR ${HTTP} reachable`,
      fix: /LS_CONTROLLERS/,
    },
    {
      name: "untrusted server certificate",
      probe: probe(HTTPS, {
        ok: false,
        message:
          "client error (Connect): invalid peer certificate: UnknownIssuer",
      }),
      check: `LINSTOR ${HTTPS} TLS`,
      fix: /LS_ROOT_CA_FILE/,
    },
    {
      name: "certificate for another name",
      probe: probe(HTTPS, {
        ok: false,
        message: "invalid peer certificate: NotValidForName",
      }),
      check: `LINSTOR ${HTTPS} TLS`,
      fix: /subjectAltName/,
    },
    {
      name: "client certificate required but none configured",
      probe: probe(HTTPS, {
        ok: false,
        message: "received fatal alert: CertificateRequired",
      }),
      check: `LINSTOR ${HTTPS} TLS`,
      fix: /set LS_USER_CERTIFICATE_FILE and LS_USER_KEY_FILE/,
    },
    {
      name: "client certificate rejected",
      probe: probe(HTTPS, {
        ok: false,
        message: "peer closed connection without sending TLS close_notify",
      }, { clientCertificate: true }),
      check: `LINSTOR ${HTTPS} TLS`,
      fix: /truststore/,
    },
    {
      name: "plain HTTP to the HTTPS port",
      probe: probe(HTTP, {
        ok: false,
        message: "client error (SendRequest): invalid HTTP version parsed",
      }),
      check: `LINSTOR ${HTTP} TLS`,
      fix: /use https:\/\//,
    },
    {
      name: "no credentials",
      probe: probe(HTTP, { ok: false, status: 401, message: "Login required" }),
      check: `LINSTOR ${HTTP} auth`,
      fix: /set LS_USERNAME and LS_PASSWORD/,
    },
    {
      name: "wrong credentials",
      probe: probe(
        HTTP,
        { ok: false, status: 403, message: "Sign-in failed" },
        {
          auth: "basic",
        },
      ),
      check: `LINSTOR ${HTTP} auth`,
      fix: /correct LS_USERNAME\/LS_PASSWORD/,
    },
    {
      name: "an error status",
      probe: probe(HTTP, { ok: false, status: 500, message: "boom" }),
      check: `LINSTOR ${HTTP} version`,
      fix: /controller's log/,
    },
    {
      name: "REST API older than the minimum",
      probe: probe(HTTP, {
        ok: true,
        version: { version: "1.20.0", rest_api_version: "1.15.0" },
      }),
      check: `LINSTOR ${HTTP} version`,
      fix: /upgrade LINSTOR to v1\.28\.0/,
    },
    {
      name: "no rest_api_version",
      probe: probe(HTTP, { ok: true, version: {} }),
      check: `LINSTOR ${HTTP} version`,
      fix: /upgrade LINSTOR/,
    },
    {
      name: "bearer token on a controller without token support",
      probe: probe(HTTP, {
        ok: true,
        version: { version: "1.33.1", rest_api_version: "1.27.0" },
      }, { auth: "bearer" }),
      check: `LINSTOR ${HTTP} version`,
      fix: /LS_USERNAME\/LS_PASSWORD/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const bad = failed(linstorChecks([c.probe]));
      assert.equal(bad.name, c.check);
      assert.match(bad.fix!, c.fix);
    });
  }
});

Deno.test("`linstorChecks()` only warns about an unreachable controller when another answers", () => {
  const standby = "http://standby:3370";
  const checks = linstorChecks([
    probe(HTTP, GOOD),
    probe(standby, { ok: false, message: "Connection refused" }),
  ]);
  const row = checks.find((c) => c.name === `LINSTOR ${standby} reachable`);
  assert.equal(row?.status, "warn");
  assert.match(row!.detail, /standby/);
  assert.ok(checks.every((c) => c.status !== "fail"));
});

Deno.test("`linstorChecks()` fails every controller when none answers", () => {
  const checks = linstorChecks([
    probe(HTTP, { ok: false, message: "Connection refused" }),
    probe("http://other:3370", { ok: false, message: "Connection refused" }),
  ]);
  assert.deepEqual(checks.map((c) => c.status), ["fail", "fail"]);
});
