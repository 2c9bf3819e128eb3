/**
 * LINSTOR client options and the golinstor-compatible environment parser.
 *
 * @module
 */
import type { Registry } from "../observability/mod.ts";
import type { Clock } from "../system/clock.ts";
import {
  LINSTOR_DEFAULT_HOST,
  LINSTOR_DEFAULT_HTTP_PORT,
  LINSTOR_DEFAULT_HTTPS_PORT,
  LINSTOR_ENV,
} from "../constants.ts";
import type { RateLimit } from "./_rate_limiter.ts";

/** Credentials sent on every request. */
export type LinstorAuth =
  | {
    readonly type: "basic";
    readonly username: string;
    readonly password: string;
  }
  | { readonly type: "bearer"; readonly token: string };

/** PEM material of the HTTPS client. */
export interface LinstorTls {
  /** Extra trusted CA certificates (added to Deno's default roots). */
  readonly caCerts?: readonly string[];
  /** Client certificate chain (PEM); needs `key`. */
  readonly cert?: string;
  /** Client private key (PEM); needs `cert`. */
  readonly key?: string;
  /**
   * File `cert` was read from: re-read every `LINSTOR_TLS_RELOAD_INTERVAL_MS`
   * so a rotated certificate (cert-manager) is picked up without a restart.
   */
  readonly certFile?: string;
  /** File `key` was read from; re-read like `certFile`. */
  readonly keyFile?: string;
}

/** The `fetch` the client calls; `globalThis.fetch` fits. */
export type LinstorFetch = (
  request: Request,
  init?: { client?: Deno.HttpClient },
) => Promise<Response>;

/** Options of `LinstorClient` (also the result of `parseLinstorConfig()`). */
export interface LinstorClientOptions {
  /**
   * Controller URLs in failover order, in any `LS_CONTROLLERS` form;
   * default `http://localhost:3370` (`https://localhost:3371` with `tls`).
   */
  readonly controllers?: readonly string[];
  /** Basic or bearer credentials. */
  readonly auth?: LinstorAuth;
  /** HTTPS trust and client identity. */
  readonly tls?: LinstorTls;
  /** Transport; default `globalThis.fetch`. */
  readonly fetch?: LinstorFetch;
  /** Per-attempt timeout in ms; default `LINSTOR_DEFAULT_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  /** Mode name appended to the user agent: `linstor-suite/<version> (<mode>)`. */
  readonly mode?: string;
  /** Replaces the whole user agent. */
  readonly userAgent?: string;
  /** Token-bucket limit of request starts; default unlimited. */
  readonly rateLimit?: RateLimit;
  /** Time source for timeouts and the rate limit; default the system clock. */
  readonly clock?: Clock;
  /**
   * Gives the event loop a turn (e.g. `() => SYSTEM_CLOCK.sleep(0)`). When
   * set, list bodies over 256 KiB are parsed element by element with turns
   * in between, so a serving process (the extender) is never blocked for a
   * whole large list; without it they are parsed in one go. The client's
   * concurrent parses take their turns one after another.
   */
  readonly yieldControl?: () => Promise<void>;
  /** Reads `tls.certFile`/`tls.keyFile` on reload; default `Deno.readTextFileSync`. */
  readonly readFile?: (path: string) => string;
  /**
   * Registry for `linstor_suite_linstor_requests_total`,
   * `…_request_duration_seconds` and `…_failovers_total`.
   */
  readonly metrics?: Registry;
}

/** Options of `parseLinstorConfig()`. */
export interface ParseLinstorConfigOptions {
  /** Reads a text file (e.g. `Deno.readTextFileSync`); throws on failure. */
  readFile: (path: string) => string;
}

/** Options of `parseControllerUrl()`. */
export interface ParseControllerUrlOptions {
  /** Scheme for bare hosts and `linstor://`. */
  defaultScheme: "http" | "https";
  /** Name of the setting, for error messages; default `LS_CONTROLLERS`. */
  name?: string;
}

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s;
const BRACKETED = /^\[([^\]]*)\](?::([^:]*))?$/;
const PLAIN = /^([^:]*)(?::([^:]*))?$/;
const PEM_BLOCK_SOURCE = String
  .raw`-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\s:,-]+?)-----END \1-----`;

/**
 * Normalizes one controller entry to `scheme://host:port`.
 *
 * Accepts `http://`, `https://`, `linstor://` (default scheme),
 * `linstor+ssl://` (https), a bare host, `host:port`, `IPv4:port` and
 * `[IPv6]` with or without a port; the port defaults to 3370 (http) or 3371
 * (https). Throws a `SyntaxError` naming the setting otherwise.
 */
export function parseControllerUrl(
  entry: string,
  options: ParseControllerUrlOptions,
): string {
  const name = options.name ?? LINSTOR_ENV.controllers;
  const raw = entry.trim();
  const shown = raw.includes("@") ? "<redacted>" : raw;
  const fail = (state: string): never => {
    throw new SyntaxError(`Cannot parse "${name}": "${shown}" ${state}`);
  };
  if (raw === "") fail("is empty");
  let scheme: string = options.defaultScheme;
  let rest = raw;
  const schemeMatch = SCHEME.exec(raw);
  if (schemeMatch) {
    const given = (schemeMatch[1] ?? "").toLowerCase();
    rest = schemeMatch[2] ?? "";
    if (given === "http" || given === "https") scheme = given;
    else if (given === "linstor+ssl") scheme = "https";
    else if (given !== "linstor") {
      fail(
        `has an unsupported scheme "${given}" (use http, https, linstor or linstor+ssl)`,
      );
    }
  }
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const tail = end < 0 ? "" : rest.slice(end);
  if (tail !== "" && tail !== "/") {
    fail("has a path, query or fragment (give [scheme://]host[:port])");
  }
  if (authority.includes("@")) {
    fail(
      `contains user info (use ${LINSTOR_ENV.username} and ${LINSTOR_ENV.password})`,
    );
  }
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith("[")) {
    const m = BRACKETED.exec(authority);
    if (!m || !m[1]) return fail("has an invalid bracketed IPv6 address");
    host = `[${m[1]}]`;
    portText = m[2];
  } else {
    const m = PLAIN.exec(authority);
    if (!m) {
      return fail(
        "has more than one colon (write IPv6 addresses in brackets, e.g. [fe80::1]:3370)",
      );
    }
    host = m[1] ?? "";
    portText = m[2];
  }
  if (host === "") fail("has no host");
  let port = scheme === "https"
    ? LINSTOR_DEFAULT_HTTPS_PORT
    : LINSTOR_DEFAULT_HTTP_PORT;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) {
      fail(`has an invalid port "${portText}"`);
    }
    port = Number(portText);
    if (port < 1 || port > 65535) fail(`has a port out of range (${port})`);
  }
  let url: URL;
  try {
    url = new URL(`${scheme}://${host}:${port}`);
  } catch (error) {
    throw new SyntaxError(
      `Cannot parse "${name}": "${shown}" has an invalid host`,
      { cause: error },
    );
  }
  return `${url.protocol}//${url.hostname}:${port}`;
}

/**
 * Builds `LinstorClientOptions` from a golinstor-style environment map
 * (pure: files are read through `options.readFile`).
 *
 * Reads `LS_CONTROLLERS`, `LS_USERNAME`, `LS_PASSWORD`,
 * `LS_BEARER_TOKEN_FILE`, `LS_ROOT_CA`, `LS_USER_CERTIFICATE`, `LS_USER_KEY`
 * (PEM contents) and their `_FILE` forms (paths). Empty values count as
 * unset. Certificate and key files are also named in `tls.certFile` /
 * `tls.keyFile` (with `readFile` passed through) so the client re-reads them
 * on rotation, like golinstor.
 *
 * Throws a `SyntaxError` or `TypeError` naming the variable for invalid
 * input: an unparsable controller, a certificate without key (or the
 * reverse), both PEM and `_FILE` for one item, non-PEM content, a password
 * without user name, an unreadable file or an empty token.
 */
export function parseLinstorConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: ParseLinstorConfigOptions,
): LinstorClientOptions {
  const get = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value;
  };
  const readFile = (name: string, path: string): string => {
    try {
      return options.readFile(path.trim());
    } catch (error) {
      throw new TypeError(
        `Cannot read "${name}": ${path.trim()}: ${errorText(error)}`,
        { cause: error },
      );
    }
  };
  const pem = (
    contentName: string,
    fileName: string,
  ): { value: string; name: string; path?: string } | undefined => {
    const content = get(contentName);
    const file = get(fileName);
    if (content !== undefined && file !== undefined) {
      throw new TypeError(
        `Cannot parse "${contentName}": ${fileName} is set too (give one of them)`,
      );
    }
    if (content !== undefined) return { value: content, name: contentName };
    if (file !== undefined) {
      return {
        value: readFile(fileName, file),
        name: fileName,
        path: file.trim(),
      };
    }
    return undefined;
  };

  const rootCa = pem(LINSTOR_ENV.rootCa, LINSTOR_ENV.rootCaFile);
  const cert = pem(
    LINSTOR_ENV.userCertificate,
    LINSTOR_ENV.userCertificateFile,
  );
  const key = pem(LINSTOR_ENV.userKey, LINSTOR_ENV.userKeyFile);
  if ((cert === undefined) !== (key === undefined)) {
    const [given, missing] = cert
      ? [cert.name, `${LINSTOR_ENV.userKey} or ${LINSTOR_ENV.userKeyFile}`]
      : [
        key?.name ?? LINSTOR_ENV.userKey,
        `${LINSTOR_ENV.userCertificate} or ${LINSTOR_ENV.userCertificateFile}`,
      ];
    throw new TypeError(
      `Cannot parse "${given}": ${missing} is missing (give certificate and key together)`,
    );
  }
  if (rootCa) checkPem(rootCa.name, rootCa.value, "certificate");
  if (cert) checkPem(cert.name, cert.value, "certificate");
  if (key) checkPem(key.name, key.value, "key");
  const tlsSet = [
    LINSTOR_ENV.rootCa,
    LINSTOR_ENV.rootCaFile,
    LINSTOR_ENV.userCertificate,
    LINSTOR_ENV.userCertificateFile,
    LINSTOR_ENV.userKey,
    LINSTOR_ENV.userKeyFile,
  ].some((name) => get(name) !== undefined);
  const defaultScheme = tlsSet ? "https" : "http";

  const controllersText = get(LINSTOR_ENV.controllers) ?? "";
  const entries = controllersText.split(",").map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const controllers = entries.length === 0
    ? [parseControllerUrl(LINSTOR_DEFAULT_HOST, { defaultScheme })]
    : [
      ...new Set(
        entries.map((entry) => parseControllerUrl(entry, { defaultScheme })),
      ),
    ];

  let auth: LinstorAuth | undefined;
  const username = get(LINSTOR_ENV.username);
  const password = env[LINSTOR_ENV.password] ?? "";
  if (username !== undefined) {
    if (username.includes(":")) {
      throw new TypeError(
        `Cannot parse "${LINSTOR_ENV.username}": a user name cannot contain ":"`,
      );
    }
    auth = { type: "basic", username, password };
  } else if (password !== "") {
    throw new TypeError(
      `Cannot parse "${LINSTOR_ENV.password}": ${LINSTOR_ENV.username} is not set`,
    );
  }
  const tokenFile = get(LINSTOR_ENV.bearerTokenFile);
  if (tokenFile !== undefined) {
    const token = parseBearerToken(
      readFile(LINSTOR_ENV.bearerTokenFile, tokenFile),
    );
    auth = { type: "bearer", token };
  }

  const tls: {
    caCerts?: string[];
    cert?: string;
    key?: string;
    certFile?: string;
    keyFile?: string;
  } = {};
  if (rootCa) tls.caCerts = [rootCa.value];
  if (cert && key) {
    tls.cert = cert.value;
    tls.key = key.value;
    if (cert.path !== undefined) tls.certFile = cert.path;
    if (key.path !== undefined) tls.keyFile = key.path;
  }
  const reloads = tls.certFile !== undefined || tls.keyFile !== undefined;
  return {
    controllers,
    ...(auth ? { auth } : {}),
    ...(tlsSet ? { tls } : {}),
    ...(reloads ? { readFile: options.readFile } : {}),
  };
}

function parseBearerToken(content: string): string {
  const name = LINSTOR_ENV.bearerTokenFile;
  const trimmed = content.trim();
  let token = trimmed;
  if (trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      throw new SyntaxError(
        `Cannot parse "${name}": invalid JSON (${errorText(error)})`,
        { cause: error },
      );
    }
    const value = (parsed as { token?: unknown }).token;
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot parse "${name}": the JSON has no "token" string`,
      );
    }
    token = value.trim();
  }
  if (token === "") {
    throw new TypeError(`Cannot parse "${name}": the token is empty`);
  }
  if ([...token].some((c) => c <= " " || c === "\x7f")) {
    throw new TypeError(
      `Cannot parse "${name}": the token contains whitespace or control characters`,
    );
  }
  return token;
}

function checkPem(name: string, text: string, kind: "certificate" | "key") {
  const blocks = text.matchAll(new RegExp(PEM_BLOCK_SOURCE, "g"));
  const labels = [...blocks].map((m) => m[1] ?? "");
  if (kind === "certificate") {
    if (labels.length === 0 || labels.some((l) => l !== "CERTIFICATE")) {
      throw new SyntaxError(
        `Cannot parse "${name}": not PEM certificates (expected "-----BEGIN CERTIFICATE-----" blocks)`,
      );
    }
    return;
  }
  const keys = labels.filter((l) => l.endsWith("PRIVATE KEY"));
  const others = labels.filter((l) =>
    !l.endsWith("PRIVATE KEY") && l !== "EC PARAMETERS"
  );
  if (keys.length !== 1 || others.length > 0) {
    throw new SyntaxError(
      `Cannot parse "${name}": not one PEM private key (expected a "-----BEGIN PRIVATE KEY-----" block)`,
    );
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
