import assert from "node:assert/strict";
import { propertyNamespaceChecks } from "../../src/doctor/mod.ts";

const V2 = { "Aux/topology/kubernetes.io/hostname": "n" };
const AUX = { "Aux/topology.kubernetes.io/zone": "a" };

Deno.test("`propertyNamespaceChecks()` reports the namespace it detects or is given", async (t) => {
  const cases = [
    {
      name: "operator v2 layout detected",
      nodes: [{ name: "a", props: V2 }, { name: "b", props: V2 }],
      setting: undefined,
      detail: /^Aux\/topology \(detected from 2 node/,
    },
    {
      name: "Aux layout detected",
      nodes: [{ name: "a", props: AUX }],
      setting: "auto",
      detail: /^Aux \(detected/,
    },
    {
      name: "a matching setting",
      nodes: [{ name: "a", props: V2 }],
      setting: "Aux/topology/",
      detail: /^Aux\/topology \(configured/,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const checks = propertyNamespaceChecks(c.nodes, { setting: c.setting });
      assert.equal(checks.length, 1);
      assert.equal(checks[0]!.status, "ok");
      assert.match(checks[0]!.detail, c.detail);
    });
  }
});

Deno.test("`propertyNamespaceChecks()` fails with a fix on a conflict", async (t) => {
  await t.step("nodes in both layouts", () => {
    const [check] = propertyNamespaceChecks([
      { name: "a", props: V2 },
      { name: "b", props: AUX },
      { name: "c" },
    ]);
    assert.equal(check?.status, "fail");
    assert.match(check!.detail, /2 of 3 LINSTOR node\(s\) lack .* \(b, c\)/);
    assert.match(check!.fix!, /same layout/);
  });
  await t.step("a setting the nodes do not use", () => {
    const [check] = propertyNamespaceChecks([{ name: "a", props: V2 }], {
      setting: "Aux",
    });
    assert.equal(check?.status, "fail");
    assert.match(
      check!.detail,
      /"Aux" but the LINSTOR nodes use "Aux\/topology"/,
    );
    assert.match(check!.fix!, /--property-namespace=Aux\/topology/);
  });
});

Deno.test("`propertyNamespaceChecks()` warns when LINSTOR has no nodes", () => {
  const [check] = propertyNamespaceChecks([]);
  assert.equal(check?.status, "warn");
  assert.ok(check!.fix);
});
