import assert from "node:assert/strict";
import {
  errorCodes,
  isAlreadyExists,
  isConnectionError,
  isNotFound,
  LinstorApiError,
} from "../../src/linstor/mod.ts";

const ERROR = 0xC000_0000_0000_0000n;
const WARN = 0x8000_0000_0000_0000n;

function apiError(
  status: number | undefined,
  codes: bigint[],
): LinstorApiError {
  return new LinstorApiError('Cannot GET "/v1/x": test', {
    method: "GET",
    path: "/v1/x",
    status,
    apiCallRcs: codes.map((bits) => ({
      ret_code: BigInt.asIntN(64, bits),
      message: "m",
    })),
  });
}

Deno.test("`isNotFound()`, `isAlreadyExists()` and `isConnectionError()` classify LinstorApiErrors", async (t) => {
  const cases: [string, unknown, boolean, boolean, boolean][] = [
    ["404 without entries", apiError(404, []), true, false, false],
    [
      "500 with not-found rsc-dfn",
      apiError(500, [ERROR | 301n]),
      true,
      false,
      false,
    ],
    [
      "warning not-found (3000) only",
      apiError(200, [WARN | 3000n]),
      false,
      false,
      false,
    ],
    [
      "warning in the 300 range",
      apiError(200, [WARN | 301n]),
      false,
      false,
      false,
    ],
    [
      "exists node",
      apiError(500, [ERROR | 0x3C0000n | 500n]),
      false,
      true,
      false,
    ],
    [
      "exists resource group (522)",
      apiError(500, [ERROR | 522n]),
      false,
      true,
      false,
    ],
    [
      "lost storage pool (521) is not exists",
      apiError(500, [ERROR | 521n]),
      false,
      false,
      false,
    ],
    ["not enough nodes", apiError(500, [ERROR | 996n]), false, false, false],
    ["no response", apiError(undefined, []), false, false, true],
    ["plain Error", new Error("x"), false, false, false],
    ["undefined", undefined, false, false, false],
  ];
  for (const [name, error, notFound, exists, connection] of cases) {
    await t.step(name, () => {
      assert.equal(isNotFound(error), notFound);
      assert.equal(isAlreadyExists(error), exists);
      assert.equal(isConnectionError(error), connection);
    });
  }
});

Deno.test("`LinstorApiError` carries its fields, a frozen entry list and the cause", () => {
  const cause = new TypeError("fetch failed");
  const error = new LinstorApiError('Cannot PUT "/v1/nodes/n": refused', {
    method: "PUT",
    path: "/v1/nodes/n",
    controller: "http://a:3370",
    cause,
  });
  assert.equal(error.name, "LinstorApiError");
  assert.equal(error.status, undefined);
  assert.equal(error.controller, "http://a:3370");
  assert.equal(error.cause, cause);
  assert.equal(error.timedOut, false);
  assert.ok(Object.isFrozen(error.apiCallRcs));
  assert.deepEqual(
    errorCodes(apiError(500, [ERROR | 501n, WARN | 1002n]).apiCallRcs),
    [501],
  );
});
