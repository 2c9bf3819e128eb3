/**
 * LINSTOR checks over what one probe of each controller found: reachable,
 * TLS (server certificate, client certificate), authentication and version.
 *
 * @module
 */
import {
  LINSTOR_BEARER_REST_API_VERSION,
  LINSTOR_ENV,
  LINSTOR_MIN_REST_API_VERSION,
  LINSTOR_MIN_VERSION,
} from "../constants.ts";
import type { ControllerVersion } from "../linstor/mod.ts";
import { type Check, fail, ok, warn } from "./check.ts";

/** What asking one controller for `GET /v1/controller/version` gave. */
export interface LinstorEndpointProbe {
  /** Controller URL (`scheme://host:port`). */
  readonly url: string;
  /** A client certificate (`LS_USER_CERTIFICATE*`) is configured. */
  readonly clientCertificate: boolean;
  /** Credentials configured (`LS_USERNAME`/`LS_PASSWORD` or `LS_BEARER_TOKEN_FILE`). */
  readonly auth: "basic" | "bearer" | undefined;
  /** The answer, or the error (HTTP `status` when one arrived). */
  readonly result:
    | { readonly ok: true; readonly version: ControllerVersion }
    | {
      readonly ok: false;
      readonly status?: number | undefined;
      readonly message: string;
    };
}

const UNTRUSTED_SERVER =
  /invalid peer certificate|UnknownIssuer|certificate verify failed|self[- ]signed/i;
const WRONG_NAME = /NotValidForName|not valid for name|hostname mismatch/i;
const CLIENT_CERT_REJECTED =
  /CertificateRequired|certificate required|close_notify|handshake|BadCertificate|UnknownCA|alert/i;
const PLAIN_TO_TLS = /invalid HTTP version|wrong version number|HTTP\/0\.9/i;
const TLS_TO_PLAIN =
  /InvalidContentType|corrupt message|packet length too long/i;

/**
 * The checks of every probed controller. A controller that cannot be reached
 * while another one answers fully is a warning (a standby controller of
 * LINSTOR HA is not running), not a failure.
 */
export function linstorChecks(
  probes: readonly LinstorEndpointProbe[],
): Check[] {
  const perEndpoint = probes.map(endpointChecks);
  const anyHealthy = perEndpoint.some((checks) =>
    checks.every((c) => c.status === "ok")
  );
  return perEndpoint.flatMap((checks) =>
    checks.map((c) =>
      anyHealthy && c.status === "fail" && c.name.endsWith(" reachable")
        ? warn(
          c.name,
          `${c.detail}; another controller answers (a LINSTOR HA standby does not run)`,
          c.fix ?? "",
        )
        : c
    )
  );
}

function endpointChecks(probe: LinstorEndpointProbe): Check[] {
  const name = `LINSTOR ${probe.url}`;
  const https = probe.url.startsWith("https:");
  const result = probe.result;
  if (!result.ok && result.status === undefined) {
    return connectionChecks(name, probe, result.message);
  }
  const checks: Check[] = [ok(`${name} reachable`, "answered")];
  if (https) {
    checks.push(
      ok(
        `${name} TLS`,
        probe.clientCertificate
          ? "server certificate trusted, client certificate accepted"
          : "server certificate trusted",
      ),
    );
  }
  if (!result.ok) {
    if (result.status === 401) {
      checks.push(fail(
        `${name} auth`,
        `the controller asks for credentials: ${result.message}`,
        `set ${LINSTOR_ENV.username} and ${LINSTOR_ENV.password} (or ${LINSTOR_ENV.bearerTokenFile}) from the controller's user`,
      ));
    } else if (result.status === 403) {
      checks.push(fail(
        `${name} auth`,
        `the controller refused the credentials: ${result.message}`,
        `correct ${LINSTOR_ENV.username}/${LINSTOR_ENV.password} (or the token in ${LINSTOR_ENV.bearerTokenFile}); the controller's log names the failed sign-in`,
      ));
    } else {
      checks.push(fail(
        `${name} version`,
        `GET /v1/controller/version answered HTTP ${result.status}: ${result.message}`,
        "check the controller's log and `linstor controller version` on the controller",
      ));
    }
    return checks;
  }
  checks.push(ok(
    `${name} auth`,
    probe.auth ? `${probe.auth} credentials accepted` : "no credentials needed",
  ));
  checks.push(versionCheck(`${name} version`, probe, result.version));
  return checks;
}

function connectionChecks(
  name: string,
  probe: LinstorEndpointProbe,
  message: string,
): Check[] {
  const https = probe.url.startsWith("https:");
  const reachable = ok(`${name} reachable`, "connection accepted");
  if (!https && PLAIN_TO_TLS.test(message)) {
    return [
      reachable,
      fail(
        `${name} TLS`,
        `the controller speaks HTTPS on this port: ${message}`,
        `use https:// for this controller in ${LINSTOR_ENV.controllers} and set ${LINSTOR_ENV.rootCaFile}`,
      ),
    ];
  }
  if (https) {
    if (TLS_TO_PLAIN.test(message)) {
      return [
        reachable,
        fail(
          `${name} TLS`,
          `the controller speaks plain HTTP on this port: ${message}`,
          `use http:// (port 3370) for this controller in ${LINSTOR_ENV.controllers}, or enable HTTPS on the controller`,
        ),
      ];
    }
    if (WRONG_NAME.test(message)) {
      return [
        reachable,
        fail(
          `${name} TLS`,
          `the controller's certificate is not issued for this host: ${message}`,
          `name the controller in ${LINSTOR_ENV.controllers} as its certificate does (a DNS name or IP in its subjectAltName)`,
        ),
      ];
    }
    if (UNTRUSTED_SERVER.test(message)) {
      return [
        reachable,
        fail(
          `${name} TLS`,
          `the controller's certificate is not trusted: ${message}`,
          `set ${LINSTOR_ENV.rootCaFile} (or ${LINSTOR_ENV.rootCa}) to the CA that signed the controller's certificate`,
        ),
      ];
    }
    if (CLIENT_CERT_REJECTED.test(message)) {
      return [
        reachable,
        probe.clientCertificate
          ? fail(
            `${name} TLS`,
            `the controller rejected the client certificate: ${message}`,
            `issue ${LINSTOR_ENV.userCertificateFile} from a CA in the controller's truststore (and ${LINSTOR_ENV.userKeyFile} with it)`,
          )
          : fail(
            `${name} TLS`,
            `the controller requires a client certificate: ${message}`,
            `set ${LINSTOR_ENV.userCertificateFile} and ${LINSTOR_ENV.userKeyFile} to a certificate the controller trusts`,
          ),
      ];
    }
  }
  return [
    fail(
      `${name} reachable`,
      message,
      `check ${LINSTOR_ENV.controllers} and that the LINSTOR controller runs and listens there (kubectl get pods -A -l app.kubernetes.io/component=linstor-controller)`,
    ),
  ];
}

function versionCheck(
  name: string,
  probe: LinstorEndpointProbe,
  version: ControllerVersion,
): Check {
  const shown = `LINSTOR ${version.version ?? "?"}, REST API ${
    version.rest_api_version ?? "?"
  }`;
  const rest = parseVersion(version.rest_api_version);
  if (!rest) {
    return fail(
      name,
      `${shown}: no readable rest_api_version`,
      `upgrade LINSTOR to v${LINSTOR_MIN_VERSION} or newer`,
    );
  }
  if (compareVersions(rest, parseVersion(LINSTOR_MIN_REST_API_VERSION)!) < 0) {
    return fail(
      name,
      `${shown}: older than REST API ${LINSTOR_MIN_REST_API_VERSION} (LINSTOR v${LINSTOR_MIN_VERSION})`,
      `upgrade LINSTOR to v${LINSTOR_MIN_VERSION} or newer`,
    );
  }
  if (
    probe.auth === "bearer" &&
    compareVersions(rest, parseVersion(LINSTOR_BEARER_REST_API_VERSION)!) < 0
  ) {
    return fail(
      name,
      `${shown}: bearer tokens need REST API ${LINSTOR_BEARER_REST_API_VERSION}`,
      `upgrade LINSTOR to v1.34.0 or newer, or use ${LINSTOR_ENV.username}/${LINSTOR_ENV.password}`,
    );
  }
  return ok(name, shown);
}

/** `1.2.3` (a `-rc.1` tail ignored) as numbers, or `undefined`. */
function parseVersion(text: string | undefined): number[] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text ?? "");
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
