import assert from "node:assert/strict";
import {
  claimResourceName,
  formatVolumeHandle,
  parseVolumeHandle,
  tryParseVolumeHandle,
  type VolumeHandle,
} from "../../src/domain/mod.ts";

Deno.test("parseVolumeHandle() reads handles as linstor-csi's ParseVolumeId does", async (t) => {
  const cases: { handle: string; expect: VolumeHandle; note?: string }[] = [
    { handle: "pvc-123", expect: { resource: "pvc-123", volume: 0 } },
    { handle: "pvc-123/0", expect: { resource: "pvc-123", volume: 0 } },
    { handle: "cg-abc/7", expect: { resource: "cg-abc", volume: 7 } },
    { handle: "r/65535", expect: { resource: "r", volume: 65535 } },
    { handle: "ns-data_1", expect: { resource: "ns-data_1", volume: 0 } },
    {
      handle: "pvc-1/007",
      expect: { resource: "pvc-1", volume: 7 },
      note: "was refused by the affinity copy; Atoi allows leading zeros",
    },
    {
      handle: "pvc 1",
      expect: { resource: "pvc 1", volume: 0 },
      note:
        "was refused by the state copy; linstor-csi does not check the name",
    },
    { handle: "pvc-1/+7", expect: { resource: "pvc-1", volume: 7 } },
    { handle: "pvc-1/-0", expect: { resource: "pvc-1", volume: 0 } },
  ];
  for (const c of cases) {
    await t.step(`${JSON.stringify(c.handle)} ${c.note ?? ""}`, () => {
      const parsed = parseVolumeHandle(c.handle);
      assert.deepEqual(parsed, c.expect);
      assert.ok(Object.is(parsed.volume, c.expect.volume));
      assert.ok(Object.isFrozen(parsed));
    });
  }
});

Deno.test("parseVolumeHandle() rejects what linstor-csi rejects", async (t) => {
  const cases: { handle: string; error: ErrorConstructor; message: RegExp }[] =
    [
      { handle: "", error: SyntaxError, message: /: it is empty$/ },
      {
        handle: "/1",
        error: SyntaxError,
        message: /: the resource name is empty$/,
      },
      {
        handle: "a/b/c",
        error: SyntaxError,
        message: /the volume number "b\/c" is not a decimal integer$/,
      },
      {
        handle: "a/1/2",
        error: SyntaxError,
        message: /the volume number "1\/2" is not a decimal integer$/,
      },
      {
        handle: "a/",
        error: SyntaxError,
        message: /the volume number "" is not a decimal integer$/,
      },
      { handle: "a/1.5", error: SyntaxError, message: /"1.5" is not a/ },
      { handle: "a/0x1", error: SyntaxError, message: /"0x1" is not a/ },
      { handle: "a/1_0", error: SyntaxError, message: /"1_0" is not a/ },
      { handle: "a/ 7", error: SyntaxError, message: /" 7" is not a/ },
      { handle: "a/7 ", error: SyntaxError, message: /"7 " is not a/ },
      { handle: "a/x", error: SyntaxError, message: /"x" is not a/ },
      {
        handle: "a/-1",
        error: RangeError,
        message: /the volume number -1 is not in \[0, 65536\)$/,
      },
      { handle: "a/65536", error: RangeError, message: /65536 is not in/ },
      { handle: "a/123456", error: RangeError, message: /123456 is not in/ },
    ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.handle), () => {
      assert.throws(() => parseVolumeHandle(c.handle), (e) => {
        assert.ok(e instanceof c.error, String(e));
        assert.match(
          (e as Error).message,
          /^Cannot parse volume handle "/,
        );
        assert.match((e as Error).message, c.message);
        return true;
      });
    });
  }
});

Deno.test("tryParseVolumeHandle() gives undefined instead of an error", () => {
  assert.equal(tryParseVolumeHandle(undefined), undefined);
  assert.equal(tryParseVolumeHandle("a/x"), undefined);
  assert.deepEqual(tryParseVolumeHandle("a/2"), { resource: "a", volume: 2 });
});

Deno.test("formatVolumeHandle() writes the canonical handle", async (t) => {
  const cases: [string, string][] = [
    ["pvc-1", "pvc-1"],
    ["pvc-1/0", "pvc-1"],
    ["pvc-1/007", "pvc-1/7"],
    ["cg-a/3", "cg-a/3"],
  ];
  for (const [handle, canonical] of cases) {
    await t.step(`${handle} → ${canonical}`, () => {
      assert.equal(formatVolumeHandle(parseVolumeHandle(handle)), canonical);
    });
  }
});

Deno.test("claimResourceName() names the resource pvc-<uid> when the claim has a UID", async (t) => {
  const cases: {
    name: string;
    uid: string | undefined;
    expect: string | undefined;
  }[] = [
    {
      name: "a UID",
      uid: "0b3f6b0e-8a4c-4f5e-9d3a-1c2b3d4e5f60",
      expect: "pvc-0b3f6b0e-8a4c-4f5e-9d3a-1c2b3d4e5f60",
    },
    {
      name: "no UID yet (was pvc-undefined)",
      uid: undefined,
      expect: undefined,
    },
    { name: "an empty UID", uid: "", expect: undefined },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const metadata = c.uid === undefined ? {} : { uid: c.uid };
      assert.equal(claimResourceName({ metadata }), c.expect);
    });
  }
  assert.equal(claimResourceName(undefined), undefined);
});
