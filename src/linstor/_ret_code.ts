/**
 * Decoding of LINSTOR's `ret_code`: an int64 bit mask of severity (bits
 * 62–63), operation (bits 24–25), object (bits 18–22) and code (bits 0–14).
 *
 * The mask values are LINSTOR wire-protocol definitions (golinstor
 * `apiconsts.go`), kept next to the wire types rather than in
 * `src/constants.ts`.
 *
 * @module
 */

/** Severity bits of a ret_code. */
export const RC_MASK_SEVERITY = 0xC000_0000_0000_0000n;
/** Severity bits of an error. */
export const RC_MASK_ERROR = 0xC000_0000_0000_0000n;
/** Severity bits of a warning. */
export const RC_MASK_WARN = 0x8000_0000_0000_0000n;
/** Severity bits of an informational entry. */
export const RC_MASK_INFO = 0x4000_0000_0000_0000n;
/** Operation bits of a ret_code. */
export const RC_MASK_OPERATION = 0x0300_0000n;
/** Operation bits of a create. */
export const RC_MASK_CREATE = 0x0100_0000n;
/** Operation bits of a modify. */
export const RC_MASK_MODIFY = 0x0200_0000n;
/** Operation bits of a delete. */
export const RC_MASK_DELETE = 0x0300_0000n;
/** Object bits of a ret_code. */
export const RC_MASK_OBJECT = 0x007C_0000n;
/** Code bits of a ret_code. */
export const RC_MASK_CODE = 0x7FFFn;

/** Code bits of `FAIL_SIGN_IN` (wrong credentials; HTTP 403). */
export const RC_CODE_SIGN_IN = 10000;

/** Object kinds a ret_code can name. */
export type RetCodeObject =
  | "node"
  | "resource-definition"
  | "resource"
  | "volume-definition"
  | "volume"
  | "storage-pool"
  | "storage-pool-definition"
  | "resource-group"
  | "volume-group"
  | "node-connection"
  | "resource-connection"
  | "volume-connection"
  | "net-interface"
  | "controller-config"
  | "key-value-store"
  | "physical-device"
  | "external-file"
  | "schedule"
  | "snapshot"
  | "backup"
  | "remote";

/**
 * Object bits (`ret_code & RC_MASK_OBJECT`, as a `0x…` hex string) → object
 * kind.
 */
export const RC_OBJECTS: Readonly<Record<string, RetCodeObject>> = Object
  .freeze({
    "0x540000": "schedule",
    "0x500000": "external-file",
    "0x4c0000": "physical-device",
    "0x480000": "volume-group",
    "0x440000": "resource-group",
    "0x400000": "key-value-store",
    "0x3c0000": "node",
    "0x380000": "resource-definition",
    "0x340000": "resource",
    "0x300000": "volume-definition",
    "0x2c0000": "volume",
    "0x280000": "node-connection",
    "0x240000": "resource-connection",
    "0x200000": "volume-connection",
    "0x1c0000": "net-interface",
    "0x180000": "storage-pool-definition",
    "0x140000": "storage-pool",
    "0x100000": "controller-config",
    "0xc0000": "snapshot",
    "0x80000": "backup",
    "0x40000": "remote",
  });

/** First code of the "not found" failures (300–399). */
export const RC_CODE_NOT_FOUND_FIRST = 300;
/** Last code of the "not found" failures. */
export const RC_CODE_NOT_FOUND_LAST = 399;
/** First code of the "already exists" failures (500–599). */
export const RC_CODE_EXISTS_FIRST = 500;
/** Last code of the "already exists" failures. */
export const RC_CODE_EXISTS_LAST = 599;
/** `FAIL_LOST_STOR_POOL`: inside the 5xx range but not an "exists" failure. */
export const RC_CODE_LOST_STORAGE_POOL = 521;

// The object a well-known failure code is about, for ret_codes whose object
// bits are zero (the server often sends only severity | code, e.g.
// FAIL_NOT_FOUND_RSC_DFN = 301 | MASK_ERROR). Index = code - range start.
// LINSTOR numbers the not-found (300…), exists (500…) and UUID-mismatch
// (700…) codes of these objects alike, from code + 0 to code + 10.
const COMMON_OBJECTS: readonly RetCodeObject[] = [
  "node",
  "resource-definition",
  "resource",
  "volume-definition",
  "volume",
  "net-interface",
  "node-connection",
  "resource-connection",
  "volume-connection",
  "storage-pool-definition",
  "storage-pool",
];
const NOT_FOUND_OBJECTS: readonly (RetCodeObject | undefined)[] = Object.freeze(
  [
    ...COMMON_OBJECTS, // 300–310
    "storage-pool", // default storage pool
    undefined, // crypt key
    "snapshot", // snapshot definition
    "snapshot", // snapshot volume definition
    "snapshot",
    "key-value-store",
    "resource-group",
    "volume-group",
    undefined, // exos enclosure
    "external-file", // 320
    "remote",
    "backup",
    "schedule",
  ],
);
const ACCESS_DENIED_OBJECTS: readonly (RetCodeObject | undefined)[] = Object
  .freeze([
    "node", // 400
    "resource-definition",
    "resource",
    "volume-definition",
    "volume",
    "storage-pool-definition",
    "storage-pool",
    "node-connection",
    "resource-connection",
    "volume-connection",
    undefined, // 410 satellite connection
    "controller-config",
    undefined, // command
    undefined, // watch
    "snapshot",
    "snapshot",
    "snapshot",
    undefined, // free space manager
    "key-value-store",
    "resource-group",
    "volume-group", // 420
    "snapshot",
    "external-file",
    "remote",
    "schedule",
  ]);
const EXISTS_OBJECTS: readonly (RetCodeObject | undefined)[] = Object.freeze([
  ...COMMON_OBJECTS, // 500–510
  undefined, // satellite connection
  undefined, // crypt passphrase
  undefined, // watch
  "snapshot",
  undefined,
  "snapshot",
  "resource-definition", // external name
  "resource-definition", // nvme target per rsc-dfn
  "resource-definition", // nvme initiator per rsc-dfn
  undefined, // 520
  "storage-pool", // lost storage pool
  "resource-group",
  "volume-group",
  "resource-definition", // openflex target per rsc-dfn
  "snapshot", // snapshot shipping
  undefined, // exos enclosure
  "remote",
  "schedule",
]);
const UUID_OBJECTS: readonly (RetCodeObject | undefined)[] = Object.freeze([
  ...COMMON_OBJECTS, // 700–710
  "key-value-store",
]);

/** A decoded ret_code. */
export interface RetCode {
  /** From the severity bits. */
  readonly severity: "error" | "warning" | "info" | "success";
  /** From the operation bits; `undefined` when they are zero. */
  readonly operation: "create" | "modify" | "delete" | undefined;
  /**
   * From the object bits; when they are zero, the object a well-known
   * failure code names (300–399 not found, 400–499 access denied, 500–599
   * exists, 700–799 UUID mismatch); else `undefined`.
   */
  readonly object: RetCodeObject | undefined;
  /** The code bits (0–32767), e.g. 301 for "resource definition not found". */
  readonly code: number;
}

const SEVERITIES: Readonly<Record<string, RetCode["severity"]>> = Object.freeze(
  {
    [hex(RC_MASK_ERROR)]: "error",
    [hex(RC_MASK_WARN)]: "warning",
    [hex(RC_MASK_INFO)]: "info",
  },
);
const OPERATIONS: Readonly<Record<string, RetCode["operation"]>> = Object
  .freeze({
    [hex(RC_MASK_CREATE)]: "create",
    [hex(RC_MASK_MODIFY)]: "modify",
    [hex(RC_MASK_DELETE)]: "delete",
  });

/** The key of masked bits in the tables above and in `RC_OBJECTS` (`0x440000`). */
function hex(bits: bigint): string {
  return `0x${bits.toString(16)}`;
}

/** Decodes an exact int64 `ret_code` (as parsed by `parseLinstorJson()`). */
export function parseRetCode(rc: bigint): RetCode {
  if (typeof rc !== "bigint") {
    throw new TypeError(
      `Cannot parse "ret_code": expected a bigint, got ${typeof rc}`,
    );
  }
  const bits = BigInt.asUintN(64, rc);
  const severity = SEVERITIES[hex(bits & RC_MASK_SEVERITY)] ?? "success";
  const operation = OPERATIONS[hex(bits & RC_MASK_OPERATION)];
  const code = Number(bits & RC_MASK_CODE);
  const object = RC_OBJECTS[hex(bits & RC_MASK_OBJECT)] ??
    (severity === "error" ? objectOfCode(code) : undefined);
  return Object.freeze({ severity, operation, object, code });
}

function objectOfCode(code: number): RetCodeObject | undefined {
  const table = code >= 300 && code < 400
    ? NOT_FOUND_OBJECTS
    : code >= 400 && code < 500
    ? ACCESS_DENIED_OBJECTS
    : code >= 500 && code < 600
    ? EXISTS_OBJECTS
    : code >= 700 && code < 800
    ? UUID_OBJECTS
    : undefined;
  return table?.[code % 100];
}
