import assert from "node:assert/strict";
import {
  detectPropertyNamespace,
  PropertyNamespaceLatch,
  propertyNamespaceSetting,
} from "../../src/domain/mod.ts";
import { buildSnapshot, linstorNode } from "../_builders/mod.ts";

const KEY = "Aux/topology/kubernetes.io/hostname";

function withNodes(props: Record<string, string>[]) {
  return buildSnapshot({
    linstor: {
      nodes: props.map((p, i) => linstorNode(`n${i}`, { props: p })),
    },
  });
}

Deno.test("detectPropertyNamespace() needs a non-empty Aux/topology hostname on some node", async (t) => {
  const cases: {
    name: string;
    props: Record<string, string>[];
    expect: string;
  }[] = [
    {
      name: "operator v2 layout",
      props: [{}, { [KEY]: "host-1" }],
      expect: "Aux/topology",
    },
    { name: "no node has it", props: [{ "Aux/zone": "a" }], expect: "Aux" },
    {
      name:
        "an empty value does not count (the extender's copy said Aux/topology)",
      props: [{ [KEY]: "" }],
      expect: "Aux",
    },
    {
      name: "another Aux/topology key does not count",
      props: [{ "Aux/topology/topology.kubernetes.io/zone": "a" }],
      expect: "Aux",
    },
    { name: "no nodes at all", props: [], expect: "Aux" },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      assert.equal(detectPropertyNamespace(withNodes(c.props)), c.expect);
    });
  }
  await t.step("no decision before LINSTOR was read", () => {
    const snapshot = buildSnapshot({ linstor: { observedAt: null } });
    assert.equal(detectPropertyNamespace(snapshot), undefined);
  });
});

Deno.test("propertyNamespaceSetting() reads a flag or config value", async (t) => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ["", undefined],
    ["auto", undefined],
    ["/", undefined],
    ["Aux", "Aux"],
    ["Aux/topology", "Aux/topology"],
    ["Aux/topology//", "Aux/topology"],
  ];
  for (const [value, expect] of cases) {
    await t.step(`${JSON.stringify(value)} → ${String(expect)}`, () => {
      assert.equal(propertyNamespaceSetting(value), expect);
    });
  }
});

Deno.test("PropertyNamespaceLatch decides once per process", async (t) => {
  await t.step("a setting wins and is never detected", () => {
    const seen: string[] = [];
    const latch = new PropertyNamespaceLatch("Aux/", {
      onDetected: (ns) => seen.push(ns),
    });
    assert.equal(latch.of(withNodes([{ [KEY]: "h" }])), "Aux");
    assert.deepEqual(seen, []);
  });
  await t.step(
    "detected from the first LINSTOR data, then kept (the extender re-guessed per snapshot)",
    () => {
      const seen: string[] = [];
      const latch = new PropertyNamespaceLatch("auto", {
        onDetected: (ns) => seen.push(ns),
      });
      assert.equal(
        latch.of(buildSnapshot({ linstor: { observedAt: null } })),
        undefined,
      );
      assert.equal(latch.of(withNodes([{ [KEY]: "h" }])), "Aux/topology");
      assert.equal(latch.of(withNodes([{}])), "Aux/topology");
      assert.deepEqual(seen, ["Aux/topology"]);
    },
  );
});
