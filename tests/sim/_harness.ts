/**
 * Test harness of the simulator tests: a contract-checking client over the
 * simulator's handler (every request body and response is validated
 * against the LINSTOR OpenAPI description) and scenario helpers.
 *
 * @module
 */
import { AssertionError } from "node:assert/strict";
import {
  createSimulator,
  parseScenario,
  type Simulator,
  type SimulatorOptions,
} from "../../src/sim/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";
import {
  findLinstorOpenApi,
  formatViolations,
  type OpenApi,
  parseJsonExact,
  PROMOTION_EVENT_SCHEMA,
} from "../_support/openapi.ts";

const DESCRIPTION = await findLinstorOpenApi();

/**
 * The LINSTOR description, read once per test module; `undefined` on a
 * plain clone without `../shared/`, where exchanges are not validated and
 * the contract tests are ignored (`contractTest()`).
 */
export const OPENAPI: OpenApi | undefined = DESCRIPTION.openapi;

/**
 * Registers a test that needs the OpenAPI description. Without it, the
 * module reports one ignored test whose name says where the file is
 * expected, instead of one per contract test.
 */
export function contractTest(
  name: string,
  fn: (t: Deno.TestContext, openapi: OpenApi) => void | Promise<void>,
): void {
  const openapi = OPENAPI;
  if (openapi !== undefined) {
    Deno.test(name, (t) => fn(t, openapi));
    return;
  }
  if (reportedMissing) return;
  reportedMissing = true;
  Deno.test({
    name: `contract tests: ${DESCRIPTION.missing}`,
    ignore: true,
    fn() {},
  });
}

let reportedMissing = false;

/** One request/response pair. */
export interface Exchange {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** Body parsed with exact int64 integers (`undefined` when empty). */
  readonly body: unknown;
}

/** Options of `ContractClient.call()`. */
export interface CallOptions {
  headers?: Record<string, string>;
  /** Send the body without validating it (for bad-input tests). */
  unchecked?: boolean;
  /** Raw text body instead of JSON. */
  text?: string;
}

/** Calls a handler and validates every exchange against the OpenAPI description. */
export class ContractClient {
  readonly #handler: (request: Request) => Promise<Response>;
  readonly #headers: Record<string, string>;
  /** Number of validated responses. */
  validated = 0;
  /** `METHOD /path/{template}` of every validated exchange. */
  readonly covered: Set<string> = new Set();

  /** Wraps `handler`; `headers` go with every request. */
  constructor(
    handler: (request: Request) => Promise<Response>,
    headers: Record<string, string> = {},
  ) {
    this.#handler = handler;
    this.#headers = headers;
  }

  /** Sends one request; throws an `AssertionError` on any contract violation. */
  async call(
    method: string,
    pathAndQuery: string,
    body?: unknown,
    options: CallOptions = {},
  ): Promise<Exchange> {
    const url = new URL(pathAndQuery, "http://sim.test");
    const isApi = url.pathname.startsWith("/v1/");
    if (
      OPENAPI !== undefined && body !== undefined && isApi &&
      !options.unchecked
    ) {
      const violations = OPENAPI.validateRequest(
        { method, path: url.pathname, body },
        { strictProperties: true },
      );
      if (violations.length > 0) {
        throw new AssertionError({
          message: formatViolations(
            `request ${method} ${url.pathname}`,
            violations,
          ),
        });
      }
    }
    const init: RequestInit = {
      method,
      headers: { ...this.#headers, ...options.headers },
    };
    if (options.text !== undefined) init.body = options.text;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] =
        "application/json";
    }
    const response = await this.#handler(new Request(url, init));
    const text = await response.text();
    const parsed = text === "" ? undefined : parseJsonExact(text);
    if (url.pathname.startsWith("/v1/") || url.pathname === "/health") {
      this.#validate(method, url.pathname, response.status, parsed, text);
    }
    return {
      status: response.status,
      headers: response.headers,
      text,
      body: parsed,
    };
  }

  #validate(
    method: string,
    path: string,
    status: number,
    body: unknown,
    text: string,
  ): void {
    if (OPENAPI === undefined) return;
    const violations = OPENAPI.validateResponse(
      { method, path, status, body },
      { strictProperties: true, nonEmpty: true },
    );
    if (status >= 400 && !Array.isArray(body)) {
      violations.push({
        path: "$",
        message: "error bodies must be ApiCallRc lists",
      });
    }
    if (/"ret_code":\s*"/.test(text)) {
      violations.push({
        path: "$",
        message: "ret_code must be a JSON integer, not a string",
      });
    }
    if (violations.length > 0) {
      throw new AssertionError({
        message: formatViolations(
          `response ${method} ${path} ${status}`,
          violations,
        ),
      });
    }
    this.validated++;
    this.covered.add(`${method} ${OPENAPI.findPath(path) ?? path}`);
  }
}

/** Validates SSE `data:` payloads of `may-promote-change` events. */
export function checkPromotionEvent(data: unknown): void {
  if (OPENAPI === undefined) return;
  const violations = OPENAPI.validate(PROMOTION_EVENT_SCHEMA, data);
  if (violations.length > 0) {
    throw new AssertionError({
      message: formatViolations("may-promote-change data", violations),
    });
  }
}

/** A simulator on a fake clock with a contract client. */
export interface SimFixture {
  readonly sim: Simulator;
  readonly clock: FakeClock;
  readonly api: ContractClient;
}

/** Builds a simulator from scenario YAML (empty controller when absent). */
export function simFrom(
  yaml?: string,
  options: Omit<SimulatorOptions, "clock" | "scenario"> = {},
): SimFixture {
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    ...options,
    ...(yaml !== undefined ? { scenario: parseScenario(yaml, "test") } : {}),
  });
  return { sim, clock, api: new ContractClient(sim.handler) };
}

/** Reads a scenario fixture from `tests/_fixtures/scenarios/`. */
export function fixture(name: string): string {
  return Deno.readTextFileSync(
    new URL(`../_fixtures/scenarios/${name}`, import.meta.url),
  );
}

/** Unsigned 64-bit view of a ret_code. */
export function u64(retCode: unknown): bigint {
  if (typeof retCode !== "bigint" && typeof retCode !== "number") {
    throw new AssertionError({
      message: `ret_code ${String(retCode)} is not an integer`,
    });
  }
  return BigInt.asUintN(64, BigInt(retCode));
}

/** Low 15 code bits of a ret_code. */
export function codeOf(retCode: unknown): number {
  return Number(u64(retCode) & 0x7FFFn);
}

/** The entries of an ApiCallRc list body. */
export function entries(
  body: unknown,
): { ret_code: bigint; message: string }[] {
  if (!Array.isArray(body)) {
    throw new AssertionError({ message: "expected an ApiCallRc list" });
  }
  return body as { ret_code: bigint; message: string }[];
}
