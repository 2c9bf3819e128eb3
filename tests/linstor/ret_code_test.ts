import assert from "node:assert/strict";
import {
  parseRetCode,
  RC_MASK_CREATE,
  RC_MASK_DELETE,
  RC_MASK_ERROR,
  RC_MASK_INFO,
  RC_MASK_MODIFY,
  RC_MASK_WARN,
  type RetCode,
} from "../../src/linstor/mod.ts";

/** The signed int64 LINSTOR puts on the wire for an unsigned bit pattern. */
function signed(bits: bigint): bigint {
  return BigInt.asIntN(64, bits);
}

Deno.test("`parseRetCode()` decodes severity, operation, object and code", async (t) => {
  const cases: { name: string; rc: bigint; want: RetCode }[] = [
    {
      name: "FAIL_NOT_FOUND_RSC_DFN as sent by the server",
      rc: -4611686018427387603n,
      want: {
        severity: "error",
        operation: undefined,
        object: "resource-definition",
        code: 301,
      },
    },
    {
      name: "FAIL_EXISTS_STOR_POOL on create as sent by the server",
      rc: -4611686018409299458n,
      want: {
        severity: "error",
        operation: "create",
        object: "storage-pool",
        code: 510,
      },
    },
    {
      name: "FAIL_EXISTS_NODE with create and node bits",
      rc: signed(RC_MASK_ERROR | RC_MASK_CREATE | 0x3C0000n | 500n),
      want: {
        severity: "error",
        operation: "create",
        object: "node",
        code: 500,
      },
    },
    {
      name: "CREATED resource (success, create, rsc)",
      rc: RC_MASK_CREATE | 0x340000n | 1n,
      want: {
        severity: "success",
        operation: "create",
        object: "resource",
        code: 1,
      },
    },
    {
      name: "WARN_NOT_CONNECTED on a storage-pool modify",
      rc: signed(RC_MASK_WARN | RC_MASK_MODIFY | 0x140000n | 1002n),
      want: {
        severity: "warning",
        operation: "modify",
        object: "storage-pool",
        code: 1002,
      },
    },
    {
      name: "INFO tie-breaker deleting on a resource-group delete",
      rc: RC_MASK_INFO | RC_MASK_DELETE | 0x440000n | 10004n,
      want: {
        severity: "info",
        operation: "delete",
        object: "resource-group",
        code: 10004,
      },
    },
    {
      name: "object bits win over the code's object",
      rc: signed(RC_MASK_ERROR | 0x300000n | 300n),
      want: {
        severity: "error",
        operation: undefined,
        object: "volume-definition",
        code: 300,
      },
    },
    {
      name: "FAIL_EXISTS_RSC_GRP without object bits",
      rc: signed(RC_MASK_ERROR | 522n),
      want: {
        severity: "error",
        operation: undefined,
        object: "resource-group",
        code: 522,
      },
    },
    {
      name: "an unknown error code has no object",
      rc: signed(RC_MASK_ERROR | 998n),
      want: {
        severity: "error",
        operation: undefined,
        object: undefined,
        code: 998,
      },
    },
    {
      name: "UNKNOWN_API_CALL (all bits set) names no known object",
      rc: signed(0x0FFF_FFFF_FFFF_FFFFn | RC_MASK_ERROR),
      want: {
        severity: "error",
        operation: "delete",
        object: undefined,
        code: 0x7FFF,
      },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.deepEqual({ ...parseRetCode(c.rc) }, c.want);
    });
  }
});

Deno.test("`parseRetCode()` rejects a number with a TypeError", () => {
  assert.throws(
    () => parseRetCode(-4611686018427387000 as unknown as bigint),
    (error: unknown) =>
      error instanceof TypeError &&
      /Cannot parse "ret_code"/.test(error.message),
  );
});
