/**
 * A small OpenAPI 3.0 / JSON-schema validator for contract tests, with the
 * LINSTOR description's known deviations handled explicitly
 * (`LINSTOR_DEVIATIONS`). Used for the simulator's responses and for request
 * bodies of any LINSTOR client.
 *
 * Supported schema keywords: `$ref`, `type`, `properties`, `required`,
 * `additionalProperties`, `items`, `enum`, `allOf`, `oneOf`/`anyOf` (both
 * as "at least one matches"), `format` (`int32`, `int64`, `date-time`),
 * `minimum`, `maximum`, `nullable`.
 *
 * @module
 */
import { parse as parseYaml } from "yaml";

/** A JSON schema object as found in the description. */
export type Schema = Record<string, unknown>;

/** One problem found by the validator. */
export interface Violation {
  /** JSON path of the value, e.g. `$[0].layer_object.drbd.node_id`. */
  readonly path: string;
  readonly message: string;
}

/** Options of the validators. */
export interface ValidateOptions {
  /** Reject properties a schema does not declare (catches misspelt fields). */
  strictProperties?: boolean;
  /**
   * Reject `null`, `""`, `[]` and empty maps (the controller serializes with
   * Jackson `NON_EMPTY`, so they never appear in its responses).
   */
  nonEmpty?: boolean;
}

/**
 * Deviations between the LINSTOR OpenAPI description and the real
 * controller, and how the validator handles each.
 */
export const LINSTOR_DEVIATIONS: readonly string[] = Object.freeze([
  "Node.type: the controller sends the enum name upper-case (SATELLITE); enums of Node.type are compared case-insensitively",
  "ret_code: int64 bit masks beyond 2^53; bodies are parsed with exact BigInt integers (JSON.parse source text access) and int64 bounds are checked on the BigInt",
  "omitted fields: the controller omits null/empty values (Jackson NON_EMPTY); optional fields may be absent, and with nonEmpty no null/empty value may be present",
  "undescribed single-object GETs (GET /v1/nodes/{node}, /v1/nodes/{node}/storage-pools/{storagepool}, /v1/resource-groups/{resource_group}, /v1/resource-definitions/{resource}, …/volume-definitions/{volume_number}, …/resources/{node}): validated against the item schema of the list endpoint",
  "undescribed error statuses (e.g. 404 on PUT, 401 with auth, 405 for a wrong method): validated as ApiCallRcList",
  "responses/OperationFailed is described as one ApiCallRc but the controller sends a list: an ApiCallRcList is accepted",
  "GET /health is not described: 200 with an empty body",
  "unknown paths: the controller answers with a Grizzly HTML 404, the simulator with an ApiCallRcList, which is validated as such",
  "GET /v1/events/drbd/promotion is text/event-stream: each event's data is validated against the PromotionEvent schema of the reference",
  "oneOf alternatives overlap (VolumeLayer.data): oneOf is checked as anyOf",
]);

/** Schema of the `may-promote-change` SSE data (not in the description). */
export const PROMOTION_EVENT_SCHEMA: Schema = Object.freeze({
  type: "object",
  required: ["resource_name", "node_name", "may_promote"],
  properties: {
    resource_name: { type: "string" },
    node_name: { type: "string" },
    may_promote: { type: "boolean" },
  },
  additionalProperties: false,
});

const SINGLE_OBJECT_GETS: Readonly<Record<string, string>> = Object.freeze({
  "/v1/nodes/{node}": "/v1/nodes",
  "/v1/nodes/{node}/storage-pools/{storagepool}":
    "/v1/nodes/{node}/storage-pools",
  "/v1/resource-groups/{resource_group}": "/v1/resource-groups",
  "/v1/resource-definitions/{resource}": "/v1/resource-definitions",
  "/v1/resource-definitions/{resource}/volume-definitions/{volume_number}":
    "/v1/resource-definitions/{resource}/volume-definitions",
  "/v1/resource-definitions/{resource}/resources/{node}":
    "/v1/resource-definitions/{resource}/resources",
});

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DATE_TIME =
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * `JSON.parse` that keeps integers outside the safe range exact as `bigint`
 * (needed for `ret_code`).
 */
export function parseJsonExact(text: string): unknown {
  type Context = { source?: string };
  const reviver = (_key: string, value: unknown, context?: Context) => {
    if (
      typeof value === "number" && !Number.isSafeInteger(value) &&
      context?.source !== undefined && /^-?\d+$/.test(context.source)
    ) {
      return BigInt(context.source);
    }
    return value;
  };
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

/** Environment variable that points the contract tests at another copy of the description. */
export const LINSTOR_OPENAPI_ENV = "LINSTOR_SUITE_OPENAPI";

/** Path of the LINSTOR description relative to this repository (`../shared/linstor/`). */
export const LINSTOR_OPENAPI_URL = new URL(
  "../../../shared/linstor/rest_v1_openapi.yaml",
  import.meta.url,
);

/** Where the description is expected: `$LINSTOR_SUITE_OPENAPI` when set, else `../shared/linstor/`. */
export function linstorOpenApiUrl(): URL {
  const path = Deno.env.get(LINSTOR_OPENAPI_ENV);
  if (path === undefined || path === "") return LINSTOR_OPENAPI_URL;
  return new URL(path, `file://${Deno.cwd()}/`);
}

/** Reads and parses the LINSTOR OpenAPI description; fails clearly when absent. */
export async function loadLinstorOpenApi(
  url: URL = linstorOpenApiUrl(),
): Promise<OpenApi> {
  let text: string;
  try {
    text = await Deno.readTextFile(url);
  } catch (error) {
    throw new Error(
      `Cannot read the LINSTOR OpenAPI description "${url.pathname}": ${
        (error as Error).message
      } (expected next to the repository in ../shared/linstor/, or set ${LINSTOR_OPENAPI_ENV})`,
      { cause: error },
    );
  }
  return new OpenApi(parseYaml(text) as Schema);
}

/** The description, or why it is absent (a plain clone has no `../shared/`). */
export type LinstorOpenApi =
  | { readonly openapi: OpenApi; readonly missing?: undefined }
  | { readonly openapi?: undefined; readonly missing: string };

/**
 * Loads the description when the file exists; when it does not, says where
 * it is expected instead of failing (other read or parse errors still throw).
 */
export async function findLinstorOpenApi(
  url: URL = linstorOpenApiUrl(),
): Promise<LinstorOpenApi> {
  try {
    await Deno.stat(url);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return {
      missing:
        `LINSTOR OpenAPI description not found at ${url.pathname} (set ${LINSTOR_OPENAPI_ENV} to use another file)`,
    };
  }
  return { openapi: await loadLinstorOpenApi(url) };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "bigint") return "integer(bigint)";
  return typeof value;
}

/** An OpenAPI document with operation lookup and validation. */
export class OpenApi {
  readonly #doc: Schema;
  readonly #paths: { template: string; pattern: RegExp }[];

  /** Wraps a parsed OpenAPI 3 document. */
  constructor(doc: Schema) {
    this.#doc = doc;
    const paths = Object.keys((doc.paths ?? {}) as Schema);
    this.#paths = paths.map((template) => ({
      template,
      pattern: new RegExp(
        `^${
          template.split("/").map((part) =>
            /^\{.+\}$/.test(part)
              ? "[^/]+"
              : part.replace(/[.*+?^$()|[\]\\]/g, "\\$&")
          ).join("/")
        }$`,
      ),
    }));
  }

  /** The path template matching a concrete path (literal segments win). */
  findPath(path: string): string | undefined {
    const matches = this.#paths.filter((p) => p.pattern.test(path));
    matches.sort((a, b) => braces(a.template) - braces(b.template));
    return matches[0]?.template;
  }

  #operation(template: string, method: string): Schema | undefined {
    const item = (this.#doc.paths as Schema)[template] as Schema | undefined;
    return item?.[method.toLowerCase()] as Schema | undefined;
  }

  /** Resolves a `$ref` (local refs only). */
  resolve(schema: Schema): Schema {
    let current = schema;
    for (let depth = 0; typeof current.$ref === "string"; depth++) {
      if (depth > 20) {
        throw new Error(`Cannot resolve "${current.$ref}": too deep`);
      }
      const ref = current.$ref as string;
      if (!ref.startsWith("#/")) {
        throw new Error(`Cannot resolve "${ref}": not local`);
      }
      let target: unknown = this.#doc;
      for (const part of ref.slice(2).split("/")) {
        target = (target as Schema | undefined)
          ?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
      }
      if (target === undefined) {
        throw new Error(`Cannot resolve "${ref}": not found`);
      }
      current = target as Schema;
    }
    return current;
  }

  /** A named component schema. */
  component(name: string): Schema {
    return this.resolve({ $ref: `#/components/schemas/${name}` });
  }

  /**
   * The response schema for `method path status` with the deviations
   * applied; `null` for "no JSON body expected"; throws when the
   * operation is not described at all.
   */
  responseSchema(
    exchange: { method: string; path: string; status: number },
  ): Schema | null {
    const { method, path, status } = exchange;
    const template = this.findPath(path);
    const rcList = this.component("ApiCallRcList");
    if (path === "/health" && method === "GET") return null;
    if (!template && status === 404) return rcList;
    if (!template) {
      throw new Error(
        `Cannot find "${method} ${path}" in the OpenAPI description`,
      );
    }
    const described = this.#operation(template, method);
    const listTemplate = SINGLE_OBJECT_GETS[template];
    if (!described && method === "GET" && listTemplate) {
      if (status !== 200) return rcList;
      const listSchema = this.responseSchema({
        method: "GET",
        path: listTemplate,
        status: 200,
      });
      const resolved = listSchema ? this.resolve(listSchema) : undefined;
      if (!resolved?.items) {
        throw new Error(`Cannot derive item schema of "${listTemplate}"`);
      }
      return resolved.items as Schema;
    }
    if (!described && status >= 400) return rcList;
    if (!described) {
      throw new Error(
        `Cannot find "${method} ${template}" in the OpenAPI description`,
      );
    }
    const responses = (described.responses ?? {}) as Schema;
    const response = responses[String(status)] as Schema | undefined;
    if (!response) {
      if (status >= 400) return rcList;
      throw new Error(
        `Cannot validate "${method} ${template}" status ${status}: not described (described: ${
          Object.keys(responses).join(", ")
        })`,
      );
    }
    const resolved = this.resolve(response);
    if (response.$ref === "#/components/responses/OperationFailed") {
      return { anyOf: [rcList, this.component("ApiCallRc")] };
    }
    const content = resolved.content as Schema | undefined;
    const json = content?.["application/json"] as Schema | undefined;
    return (json?.schema as Schema | undefined) ?? null;
  }

  /** The request-body schema of `method path`. */
  requestSchema(method: string, path: string): Schema | undefined {
    const template = this.findPath(path);
    if (!template) {
      throw new Error(
        `Cannot find "${method} ${path}" in the OpenAPI description`,
      );
    }
    const op = this.#operation(template, method);
    if (!op) {
      throw new Error(
        `Cannot find "${method} ${template}" in the OpenAPI description`,
      );
    }
    const body = op.requestBody
      ? this.resolve(op.requestBody as Schema)
      : undefined;
    const content = body?.content as Schema | undefined;
    return (content?.["application/json"] as Schema | undefined)?.schema as
      | Schema
      | undefined;
  }

  /** Validates a response body (already parsed with `parseJsonExact`). */
  validateResponse(
    exchange: { method: string; path: string; status: number; body: unknown },
    options: ValidateOptions = {},
  ): Violation[] {
    const { body } = exchange;
    const schema = this.responseSchema(exchange);
    if (schema === null) {
      return body === undefined || body === ""
        ? []
        : [{ path: "$", message: "expected no JSON body" }];
    }
    return this.validate(schema, body, options);
  }

  /** Validates a request body against the operation's request schema. */
  validateRequest(
    exchange: { method: string; path: string; body: unknown },
    options: ValidateOptions = {},
  ): Violation[] {
    const { method, path, body } = exchange;
    const schema = this.requestSchema(method, path);
    if (!schema) {
      return [{
        path: "$",
        message: `no request body is described for ${method} ${path}`,
      }];
    }
    return this.validate(schema, body, options);
  }

  /** Validates `value` against `schema`. */
  validate(
    schema: Schema,
    value: unknown,
    options: ValidateOptions = {},
  ): Violation[] {
    const out: Violation[] = [];
    this.#check(schema, value, "$", options, out);
    return out;
  }

  #check(
    raw: Schema,
    value: unknown,
    path: string,
    options: ValidateOptions,
    out: Violation[],
  ): void {
    const schema = this.resolve(raw);
    const ref = typeof raw.$ref === "string" ? raw.$ref : undefined;
    if (value === null) {
      if (!schema.nullable || options.nonEmpty) {
        out.push({ path, message: "is null" });
      }
      return;
    }
    if (Array.isArray(schema.allOf)) {
      for (const part of schema.allOf as Schema[]) {
        this.#check(
          part,
          value,
          path,
          { ...options, strictProperties: false },
          out,
        );
      }
      if (options.strictProperties && isPlainObject(value)) {
        const known = new Set(this.#declared(schema));
        for (const key of Object.keys(value)) {
          if (!known.has(key)) {
            out.push({ path: `${path}.${key}`, message: "is not declared" });
          }
        }
      }
    }
    for (const keyword of ["oneOf", "anyOf"] as const) {
      const alternatives = schema[keyword] as Schema[] | undefined;
      if (!Array.isArray(alternatives)) continue;
      const results = alternatives.map((alt) => {
        const found: Violation[] = [];
        this.#check(alt, value, path, options, found);
        return found;
      });
      if (!results.some((r) => r.length === 0)) {
        const best = results.sort((a, b) => a.length - b.length)[0] ?? [];
        out.push({
          path,
          message: `matches none of the ${keyword} alternatives`,
        }, ...best);
      }
    }
    const type = schema.type as string | undefined;
    if (type === undefined) return;
    switch (type) {
      case "object": {
        if (!isPlainObject(value)) {
          out.push({
            path,
            message: `expected object, got ${describe(value)}`,
          });
          return;
        }
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        for (const name of (schema.required ?? []) as string[]) {
          if (!(name in value)) {
            out.push({ path: `${path}.${name}`, message: "is required" });
          }
        }
        const extra = schema.additionalProperties;
        const isMap = schema.properties === undefined && extra !== undefined &&
          extra !== false;
        if (options.nonEmpty && isMap && Object.keys(value).length === 0) {
          out.push({ path, message: "is an empty map (NON_EMPTY omits it)" });
        }
        for (const [key, item] of Object.entries(value)) {
          const child = `${path}.${key}`;
          if (properties[key]) {
            this.#check(properties[key], item, child, options, out);
          } else if (extra && typeof extra === "object") {
            this.#check(extra as Schema, item, child, options, out);
          } else if (
            extra === false || (options.strictProperties && extra === undefined)
          ) {
            out.push({
              path: child,
              message: `is not declared${ref ? ` in ${ref}` : ""}`,
            });
          }
        }
        return;
      }
      case "array": {
        if (!Array.isArray(value)) {
          out.push({ path, message: `expected array, got ${describe(value)}` });
          return;
        }
        if (options.nonEmpty && value.length === 0 && path !== "$") {
          out.push({ path, message: "is an empty array (NON_EMPTY omits it)" });
        }
        value.forEach((item, i) => {
          if (schema.items) {
            this.#check(
              schema.items as Schema,
              item,
              `${path}[${i}]`,
              options,
              out,
            );
          }
        });
        return;
      }
      case "string": {
        if (typeof value !== "string") {
          out.push({
            path,
            message: `expected string, got ${describe(value)}`,
          });
          return;
        }
        if (options.nonEmpty && value === "") {
          out.push({ path, message: "is an empty string" });
        }
        if (Array.isArray(schema.enum)) {
          const allowed = schema.enum as string[];
          const caseInsensitive = ref === undefined && path.endsWith(".type") &&
            allowed.includes("Satellite");
          const ok = caseInsensitive
            ? allowed.some((e) => e.toUpperCase() === value.toUpperCase())
            : allowed.includes(value);
          if (!ok) {
            out.push({
              path,
              message: `"${value}" is not one of ${allowed.join(", ")}`,
            });
          }
        }
        if (schema.format === "date-time" && !DATE_TIME.test(value)) {
          out.push({
            path,
            message: `"${value}" is not an RFC 3339 date-time`,
          });
        }
        return;
      }
      case "integer": {
        const isInt = (typeof value === "number" && Number.isInteger(value)) ||
          typeof value === "bigint";
        if (!isInt) {
          out.push({
            path,
            message: `expected integer, got ${describe(value)}`,
          });
          return;
        }
        const big = BigInt(value as number | bigint);
        if (
          schema.format === "int32" &&
          (big < BigInt(INT32_MIN) || big > BigInt(INT32_MAX))
        ) {
          out.push({ path, message: `${big} is outside int32` });
        }
        if (big < INT64_MIN || big > INT64_MAX) {
          out.push({ path, message: `${big} is outside int64` });
        }
        if (typeof value === "number" && !Number.isSafeInteger(value)) {
          out.push({
            path,
            message: `${value} lost precision (parse with parseJsonExact)`,
          });
        }
        if (
          typeof schema.minimum === "number" && big < BigInt(schema.minimum)
        ) {
          out.push({
            path,
            message: `${big} is below the minimum ${schema.minimum}`,
          });
        }
        if (
          typeof schema.maximum === "number" && big > BigInt(schema.maximum)
        ) {
          out.push({
            path,
            message: `${big} is above the maximum ${schema.maximum}`,
          });
        }
        return;
      }
      case "number":
        if (typeof value !== "number") {
          out.push({
            path,
            message: `expected number, got ${describe(value)}`,
          });
        }
        return;
      case "boolean":
        if (typeof value !== "boolean") {
          out.push({
            path,
            message: `expected boolean, got ${describe(value)}`,
          });
        }
        return;
    }
  }

  #declared(schema: Schema): string[] {
    const names = Object.keys((schema.properties ?? {}) as Schema);
    for (const part of (schema.allOf ?? []) as Schema[]) {
      names.push(...this.#declared(this.resolve(part)));
    }
    return names;
  }
}

function braces(template: string): number {
  return (template.match(/\{/g) ?? []).length;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Formats violations for an assertion message. */
export function formatViolations(
  label: string,
  violations: readonly Violation[],
): string {
  return `${label}: ${violations.length} contract violation(s):\n${
    violations.map((v) => `  ${v.path}: ${v.message}`).join("\n")
  }`;
}
