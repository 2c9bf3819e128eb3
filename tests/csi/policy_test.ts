import assert from "node:assert/strict";
import {
  csiParameter,
  csiParameterEntry,
  legacyVolumeParameters,
  parseRemoteAccessPolicy,
  placementPolicyOf,
  POLICY_ANYWHERE,
  POLICY_LOCAL_ONLY,
  requiresLocalReplica,
  resolveParametersPolicy,
  resolvePolicy,
} from "../../src/csi/mod.ts";
import { pv, storageClass } from "../_builders/mod.ts";

Deno.test("parseRemoteAccessPolicy() reads Go booleans and YAML rule lists", async (t) => {
  const cases: { text: string; want: unknown }[] = [
    { text: "true", want: POLICY_ANYWHERE },
    { text: "True", want: POLICY_ANYWHERE },
    { text: "1", want: POLICY_ANYWHERE },
    { text: "t", want: POLICY_ANYWHERE },
    { text: "false", want: POLICY_LOCAL_ONLY },
    { text: "FALSE", want: POLICY_LOCAL_ONLY },
    { text: "0", want: POLICY_LOCAL_ONLY },
    {
      text: "- fromSame: [topology.kubernetes.io/zone]",
      want: [{ fromSame: ["topology.kubernetes.io/zone"] }],
    },
    {
      text:
        "- fromSame:\n  - topology.kubernetes.io/zone\n  - rack\n- fromSame: [linbit.com/hostname]\n",
      want: [
        { fromSame: ["topology.kubernetes.io/zone", "rack"] },
        { fromSame: ["linbit.com/hostname"] },
      ],
    },
    { text: "- {}", want: [{ fromSame: [] }] },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.text), () => {
      assert.deepEqual(parseRemoteAccessPolicy(c.text), c.want);
    });
  }
});

Deno.test("parseRemoteAccessPolicy() rejects what linstor-csi would silently widen", async (t) => {
  const cases: { name: string; text: string; error: ErrorConstructor }[] = [
    { name: "empty text", text: "", error: SyntaxError },
    { name: "empty list", text: "[]", error: SyntaxError },
    { name: "a mapping", text: "fromSame: [a]", error: SyntaxError },
    { name: "bad YAML", text: "- [", error: SyntaxError },
    { name: "yes is no Go bool", text: "yes", error: SyntaxError },
    { name: "fromDifferent", text: "- fromDifferent: [a]", error: TypeError },
    { name: "rule not a map", text: "- a", error: TypeError },
    { name: "key not a string", text: "- fromSame: [1]", error: TypeError },
    { name: "empty key", text: "- fromSame: ['']", error: TypeError },
    { name: "fromSame not a list", text: "- fromSame: a", error: TypeError },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.throws(() => parseRemoteAccessPolicy(c.text), (error) => {
        assert.ok(error instanceof c.error, String(error));
        assert.match(
          (error as Error).message,
          /^Cannot parse remote-access policy ".*": /s,
        );
        return true;
      });
    });
  }
});

// Moved from tests/modes/extender/parsers_test.ts: the extender now uses this
// parser, so policies are rules (`{fromSame}`) instead of key lists, and a
// rule whose fromSame is not a list is a TypeError (was a SyntaxError).
Deno.test("`parseRemoteAccessPolicy()` reads the forms linstor-csi accepts", async (t) => {
  await t.step(
    "true is anywhere",
    () => assert.deepEqual(parseRemoteAccessPolicy("true"), [{ fromSame: [] }]),
  );
  await t.step(
    "false is local only",
    () =>
      assert.deepEqual(parseRemoteAccessPolicy("false"), [{
        fromSame: ["linbit.com/hostname"],
      }]),
  );
  await t.step("a fromSame list", () => {
    assert.deepEqual(
      parseRemoteAccessPolicy(
        "- fromSame: [topology.kubernetes.io/zone]\n- fromSame: [rack, row]\n",
      ),
      [{ fromSame: ["topology.kubernetes.io/zone"] }, {
        fromSame: ["rack", "row"],
      }],
    );
  });
  await t.step("garbage is a SyntaxError, a bad rule a TypeError", () => {
    assert.throws(() => parseRemoteAccessPolicy("maybe"), SyntaxError);
    assert.throws(() => parseRemoteAccessPolicy("- fromSame: 3"), TypeError);
  });
});

Deno.test("requiresLocalReplica() is true only when every rule pins the hostname", async (t) => {
  const cases: { text: string; want: boolean }[] = [
    { text: "false", want: true },
    { text: "true", want: false },
    { text: "- fromSame: [linbit.com/hostname, zone]", want: true },
    {
      text: "- fromSame: [linbit.com/hostname]\n- fromSame: [zone]",
      want: false,
    },
    { text: "- fromSame: [zone]", want: false },
  ];
  for (const c of cases) {
    await t.step(JSON.stringify(c.text), () => {
      assert.equal(
        requiresLocalReplica(parseRemoteAccessPolicy(c.text)),
        c.want,
      );
    });
  }
});

Deno.test("csiParameter() finds bare and namespaced keys in any case", async (t) => {
  await t.step("bare key, other case", () => {
    assert.equal(csiParameter({ StoragePool: "a" }, "storagePool"), "a");
  });
  await t.step("namespaced key wins over the bare one", () => {
    const parameters = {
      storagePool: "bare",
      "linstor.csi.linbit.com/storagePool": "namespaced",
    };
    assert.deepEqual(csiParameterEntry(parameters, "storagepool"), {
      key: "linstor.csi.linbit.com/storagePool",
      value: "namespaced",
    });
  });
  await t.step("other namespaces and absent parameters are undefined", () => {
    assert.equal(
      csiParameter({ "example.com/storagePool": "a" }, "storagePool"),
      undefined,
    );
    assert.equal(csiParameter(undefined, "storagePool"), undefined);
  });
});

Deno.test("resolvePolicy() takes the first source in linstor-affinity-controller's order", async (t) => {
  const context = {
    "linstor.csi.linbit.com/uses-volume-context": "true",
    "linstor.csi.linbit.com/remote-access-policy": "- fromSame: [zone]",
  };
  const withContext = pv("pv1");
  withContext.spec!.storageClassName = "sc";
  withContext.spec!.csi!.volumeAttributes = context;
  const annotated = pv("pv1", {
    annotations: {
      "override.piraeus.io/zz": "true",
      "override.piraeus.io/allow-remote-access": "false",
    },
  });
  annotated.spec!.csi!.volumeAttributes = context;
  const plain = pv("pv1");
  plain.spec!.storageClassName = "sc";
  const noMarker = pv("pv1");
  noMarker.spec!.storageClassName = "sc";
  noMarker.spec!.csi!.volumeAttributes = {
    "linstor.csi.linbit.com/remote-access-policy": "- fromSame: [zone]",
  };
  const cases = [
    {
      name: "PV override annotation wins (first by sorted key)",
      pv: annotated,
      sc: storageClass("sc", {
        parameters: { allowRemoteVolumeAccess: "true" },
      }),
      want: { policy: POLICY_LOCAL_ONLY, source: "pv-annotation" },
    },
    {
      name: "volume context before StorageClass",
      pv: withContext,
      sc: storageClass("sc", {
        parameters: { allowRemoteVolumeAccess: "true" },
      }),
      want: { policy: [{ fromSame: ["zone"] }], source: "volume-context" },
    },
    {
      name: "volume context ignored without its marker",
      pv: noMarker,
      sc: storageClass("sc", {
        parameters: { allowRemoteVolumeAccess: "false" },
      }),
      want: { policy: POLICY_LOCAL_ONLY, source: "storage-class" },
    },
    {
      name: "StorageClass parameter, namespaced and any case",
      pv: plain,
      sc: storageClass("sc", {
        parameters: {
          "linstor.csi.linbit.com/AllowRemoteVolumeAccess": "false",
        },
      }),
      want: { policy: POLICY_LOCAL_ONLY, source: "storage-class" },
    },
    {
      name: "foreign parameter namespace ignored, default applies",
      pv: plain,
      sc: storageClass("sc", {
        parameters: { "example.com/allowRemoteVolumeAccess": "false" },
      }),
      want: { policy: POLICY_ANYWHERE, source: "storage-class-default" },
    },
    {
      name: "default without DRBD in the layer list is local only",
      pv: plain,
      sc: storageClass("sc", { parameters: { layerList: "storage" } }),
      want: { policy: POLICY_LOCAL_ONLY, source: "storage-class-default" },
    },
    {
      name: "default with DRBD in the layer list is anywhere",
      pv: plain,
      sc: storageClass("sc", { parameters: { layerList: "DRBD STORAGE" } }),
      want: { policy: POLICY_ANYWHERE, source: "storage-class-default" },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const got = resolvePolicy(c.pv, c.sc);
      assert.ok("policy" in got, JSON.stringify(got));
      assert.deepEqual(got.policy, c.want.policy);
      assert.equal(got.source, c.want.source);
    });
  }
});

Deno.test("resolvePolicy() reports a missing StorageClass and an invalid policy", async (t) => {
  await t.step("StorageClass missing", () => {
    const p = pv("pv1");
    p.spec!.storageClassName = "gone";
    const got = resolvePolicy(p, undefined);
    assert.equal("reason" in got && got.reason, "StorageClassMissing");
    assert.match("reason" in got ? got.detail : "", /"gone" does not exist/);
  });
  await t.step("invalid override annotation", () => {
    const p = pv("pv1", {
      annotations: { "override.piraeus.io/x": "- fromDifferent: [zone]" },
    });
    const got = resolvePolicy(p, storageClass("sc"));
    assert.equal("reason" in got && got.reason, "InvalidPolicy");
  });
  await t.step("driver default policy honoured", () => {
    const p = pv("pv1");
    p.spec!.storageClassName = "sc";
    const got = resolvePolicy(p, storageClass("sc"), {
      defaultPolicy: POLICY_LOCAL_ONLY,
    });
    assert.ok("policy" in got);
    assert.deepEqual(got.policy, POLICY_LOCAL_ONLY);
  });
});

Deno.test("placementPolicyOf() picks linstor-csi's volume scheduler from volume parameters", async (t) => {
  const cases: [string, Record<string, string> | undefined, string][] = [
    ["no parameters: AutoPlaceTopology", undefined, "AutoPlaceTopology"],
    [
      "unset: AutoPlaceTopology",
      { layerList: "drbd storage" },
      "AutoPlaceTopology",
    ],
    ["Balanced", { placementPolicy: "Balanced" }, "Balanced"],
    [
      "any case (enumer's lower-case lookup)",
      { placementPolicy: "bALANCED" },
      "Balanced",
    ],
    ["namespaced key", {
      "linstor.csi.linbit.com/placementPolicy": "FollowTopology",
    }, "FollowTopology"],
    ["nodeList makes it Manual", {
      placementPolicy: "Balanced",
      nodeList: "a b",
    }, "Manual"],
    ["clientList makes it Manual", {
      placementPolicy: "Balanced",
      clientList: "c",
    }, "Manual"],
    ["another namespace is ignored", {
      "example.com/placementPolicy": "Balanced",
    }, "AutoPlaceTopology"],
    [
      "an unknown scheduler is invalid",
      { placementPolicy: "Random" },
      "InvalidPolicy",
    ],
  ];
  for (const [name, parameters, want] of cases) {
    await t.step(name, () => {
      const got = placementPolicyOf(parameters);
      assert.equal(typeof got === "string" ? got : got.reason, want);
    });
  }
});

Deno.test("legacyVolumeParameters() reads Aux/csi-volume-annotations of old volumes", async (t) => {
  const key = "Aux/csi-volume-annotations";
  await t.step("absent: undefined", () => {
    assert.equal(legacyVolumeParameters({}), undefined);
  });
  await t.step("the parameters map", () => {
    assert.deepEqual(
      legacyVolumeParameters({
        [key]: JSON.stringify({
          name: "pvc-1",
          parameters: { allowRemoteVolumeAccess: "false", autoPlace: "2" },
        }),
      }),
      { parameters: { allowRemoteVolumeAccess: "false", autoPlace: "2" } },
    );
  });
  await t.step("no parameters: an empty map (linstor-csi's defaults)", () => {
    assert.deepEqual(legacyVolumeParameters({ [key]: "{}" }), {
      parameters: {},
    });
  });
  for (
    const [name, raw] of [
      ["not JSON", "{oops"],
      ["parameters not a map", '{"parameters": ["a"]}'],
      ["a value not a string", '{"parameters": {"placementCount": 2}}'],
    ]
  ) {
    await t.step(`${name}: InvalidPolicy`, () => {
      const got = legacyVolumeParameters({ [key]: raw! });
      assert.ok(got !== undefined && "reason" in got);
      assert.equal(got.reason, "InvalidPolicy");
    });
  }
  await t.step("its policy resolves like a StorageClass's", () => {
    const got = resolveParametersPolicy({ allowRemoteVolumeAccess: "false" }, {
      source: "legacy-parameters",
    });
    assert.ok("policy" in got);
    assert.deepEqual(got.policy, POLICY_LOCAL_ONLY);
    assert.equal(got.source, "legacy-parameters");
    const defaulted = resolveParametersPolicy({ layerList: "storage" }, {
      source: "legacy-parameters",
    });
    assert.ok("policy" in defaulted);
    assert.deepEqual(defaulted.policy, POLICY_LOCAL_ONLY);
  });
});
