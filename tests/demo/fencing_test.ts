import assert from "node:assert/strict";
import { fencingDemoText } from "../../src/demo/mod.ts";
import { FakeClock } from "../_fakes/fake_clock.ts";

Deno.test("fencingDemoText() evicts on a lost peer and does nothing on a kubelet-only outage", () => {
  const text = fencingDemoText(new FakeClock());
  const [lost, kubeletOnly] = text.split(/^-- fencing: only/m);
  assert.ok(lost && kubeletOnly, text);
  assert.match(lost, /conn-name:node-a connection:NetworkFailure/);
  assert.match(lost, /^decision pvc-db\/node-a: fence \(node-ready-evict\)$/m);
  assert.match(lost, /^TaintNode node\/node-a: /m);
  assert.match(
    lost,
    /^EvictPod pod\/demo\/db-0@uid-db-0: evict pod demo\/db-0/m,
  );
  assert.match(lost, /^DeleteVolumeAttachment volumeattachment\/csi-db-0@/m);
  assert.match(kubeletOnly, /^no fencing action$/m);
  assert.doesNotMatch(kubeletOnly, /EvictPod|ForceDeletePod|TaintNode/);
});
