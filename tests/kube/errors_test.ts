import assert from "node:assert/strict";
import {
  isAlreadyExists,
  isConflict,
  isGone,
  isInvalid,
  isNotFound,
  isTooManyRequests,
  KubeApiError,
} from "../../src/kube/mod.ts";

function error(status: number, reason: string, name = "ns/a"): KubeApiError {
  return new KubeApiError({
    status,
    reason,
    message: "apiserver says so",
    verb: "delete",
    kind: "pods",
    name,
  });
}

Deno.test("KubeApiError predicates match exactly one condition each", async (t) => {
  const predicates = {
    isNotFound,
    isConflict,
    isAlreadyExists,
    isGone,
    isInvalid,
    isTooManyRequests,
  };
  const cases: [string, unknown, keyof typeof predicates | undefined][] = [
    ["404", error(404, "NotFound"), "isNotFound"],
    ["409 Conflict", error(409, "Conflict"), "isConflict"],
    ["409 AlreadyExists", error(409, "AlreadyExists"), "isAlreadyExists"],
    ["410", error(410, "Expired"), "isGone"],
    ["422", error(422, "Invalid"), "isInvalid"],
    ["429", error(429, "TooManyRequests"), "isTooManyRequests"],
    ["500", error(500, "InternalError"), undefined],
    ["network", error(0, "NetworkError"), undefined],
    ["plain Error", new Error("404"), undefined],
    ["a Status-like object", { status: 404 }, undefined],
    ["undefined", undefined, undefined],
  ];
  for (const [name, value, want] of cases) {
    await t.step(name, () => {
      for (const [predicate, fn] of Object.entries(predicates)) {
        assert.equal(fn(value), predicate === want, predicate);
      }
    });
  }
});

Deno.test('KubeApiError carries its fields and reads `Cannot <verb> <kind> "<name>"`', () => {
  const cause = { kind: "Status", code: 409 };
  const e = new KubeApiError({
    status: 409,
    reason: "Conflict",
    message: "the object has been modified",
    verb: "replace",
    kind: "persistentvolumes",
    name: "pv-1",
    cause,
  });
  assert.equal(e.name, "KubeApiError");
  assert.equal(e.objectName, "pv-1");
  assert.equal(e.apiMessage, "the object has been modified");
  assert.equal(e.cause, cause);
  assert.equal(
    e.message,
    'Cannot replace persistentvolumes "pv-1": the object has been modified (HTTP 409 Conflict)',
  );
  assert.equal(
    error(500, "InternalError", "").message,
    "Cannot delete pods: apiserver says so (HTTP 500 InternalError)",
  );
});
