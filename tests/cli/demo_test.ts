import assert from "node:assert/strict";
import { runCli } from "../../src/cli/mod.ts";
import { resetLogging } from "../../src/observability/mod.ts";

Deno.test("runCli() demo prints the model's view before and after each timeline change", async () => {
  const out: string[] = [];
  const err: string[] = [];
  try {
    const code = await runCli(["demo"], {
      env: {},
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
      signal: new AbortController().signal,
    });
    assert.equal(code, 0, err.join(""));
  } finally {
    await resetLogging();
  }
  const text = out.join("");
  const sections = text.split(/^== /m).slice(1);
  assert.ok(sections.length >= 3, text);
  assert.match(sections[0]!, /^t=0s: initial state/);
  assert.match(sections[0]!, /^node-b1 +ONLINE +zone-b$/m);
  const offline = sections.find((s) =>
    /set-node-status node=node-b1 status=OFFLINE/.test(s)
  );
  assert.ok(offline, "the timeline takes node-b1 offline");
  assert.match(offline!, /^node-b1 +OFFLINE +zone-b$/m);
  const moved = sections.find((s) => /move-replica resource=pvc-cache/.test(s));
  assert.ok(moved, "the timeline moves a replica");
  assert.match(
    sections[0]!,
    /^pvc-cache +pvc-cache \(demo\/cache\) +node-a2 +diskful/m,
  );
  assert.match(
    moved!,
    /^pvc-cache +pvc-cache \(demo\/cache\) +node-a1 +diskful/m,
  );
  // The fencing section: a lost peer's pod is evicted, a kubelet-only outage is left alone.
  assert.match(text, /^EvictPod pod\/demo\/db-0@uid-db-0: /m);
  assert.match(text, /only node-a's kubelet stops[^\n]*\nno fencing action$/m);
  // The extender's view of a pod with a bound volume follows the satellite.
  assert.match(sections[0]!, /^-- extender: where may pod demo\/web-0/m);
  assert.match(sections[0]!, /^node-b1 +node-b1 +pass +10 /m);
  assert.match(
    offline!,
    /^node-b1 +node-b1 +fail .*satellite: LINSTOR satellite node-b1 is OFFLINE/m,
  );
  // The affinity controller's plan follows the moved replica.
  assert.match(
    moved!,
    /^ReplacePvAffinity pv\/pvc-cache: replace PV pvc-cache with nodeAffinity \{linbit\.com\/hostname=node-a1\}$/m,
  );
  assert.doesNotMatch(sections[0]!, /pvc-cache: replace/);
  // A new WaitForFirstConsumer volume scores by room: node-b2 has no thin pool.
  assert.match(sections[0]!, /^node-b2 +node-b2 +pass +0 /m);
  // The agent section: pools from tags, a duplicate tag refused, r1..r3.
  assert.match(
    text,
    /^ {2}node-a1: create LVM_THIN pool "thindata" on thin pool "linstor_data\/thindata"/m,
  );
  assert.match(
    text,
    /^ {2}node-b1: Warning StoragePoolConflict: Cannot register storage pool "fast"/m,
  );
  assert.match(
    text,
    /^ {2}StorageClasses for "data" \(3 node\(s\)\): linstor-data-r1, linstor-data-r2, linstor-data-r3$/m,
  );
  assert.match(text, /Demo finished\./);
  assert.equal(err.join(""), "", "no log noise without -v");
});
