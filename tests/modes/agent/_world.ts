/**
 * A small world for agent tests: a fake `lvm` (a `CommandRunner` answering
 * `vgs`/`lvs` from rows the test edits), the LINSTOR simulator behind the
 * real `LinstorClient`, the faithful `FakeKube` and a fake clock.
 *
 * @module
 */
import { LinstorClient } from "../../../src/linstor/mod.ts";
import {
  NodeAgent,
  type NodeAgentOptions,
  nodeEventsFrom,
} from "../../../src/modes/agent/mod.ts";
import {
  createSimulator,
  parseScenario,
  type Simulator,
} from "../../../src/sim/mod.ts";
import {
  CommandError,
  type CommandOutput,
  type CommandRunner,
  type CommandSpec,
  type CommandStream,
} from "../../../src/system/mod.ts";
import { FakeClock } from "../../_fakes/fake_clock.ts";
import { FakeKube } from "../../_fakes/fake_kube.ts";
import { lvsJson, vgsJson } from "./_fixtures.ts";

/** A fake `lvm`: `vgs`/`lvs` answer from `vgs`/`lvs` rows; `hang` makes them time out. */
export class FakeLvm implements CommandRunner {
  vgs: Record<string, string>[] = [];
  lvs: Record<string, string>[] = [];
  /** When set, every call fails like a killed, hanging lvm. */
  hang = false;
  /** Exit code of every call (non-zero: lvm complained about some VG). */
  code = 0;
  /** Every spec run, in order. */
  readonly calls: CommandSpec[] = [];

  /** Answers `vgs`/`lvs`. */
  run(spec: CommandSpec): Promise<CommandOutput> {
    this.calls.push(spec);
    const args = spec.args ?? [];
    if (this.hang) {
      return Promise.reject(
        new CommandError({
          program: spec.program,
          args,
          reason: "timeout",
          code: null,
          stdout: "",
          stderr: "",
        }),
      );
    }
    const sub = args.find((a) => a === "vgs" || a === "lvs");
    const stdout = sub === "vgs" ? vgsJson(this.vgs) : lvsJson(this.lvs);
    return Promise.resolve({ code: this.code, stdout, stderr: "" });
  }

  /** Not used by the agent. */
  stream(): CommandStream {
    throw new Error("Cannot stream: the fake lvm only runs");
  }
}

/** A request the simulator saw. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
}

/** The world. */
export interface World {
  clock: FakeClock;
  sim: Simulator;
  client: LinstorClient;
  kube: FakeKube;
  lvm: FakeLvm;
  /** Every LINSTOR request, in order. */
  requests: SeenRequest[];
  /** When set, answers `POST …/storage-pools` after the simulator committed it (a refusing satellite). */
  afterCreate?: ((response: Response) => Response) | undefined;
  /** An agent of node `n1` (a fresh process each call). */
  agent(options?: Partial<NodeAgentOptions>): NodeAgent;
  /** Storage pools of `node` in the simulator. */
  pools(
    node?: string,
  ): { name: string; kind: string; props: Record<string, string> }[];
  close(): void;
}

/** Default scenario: nodes n1 (ONLINE) and n2, no pools. */
export const SCENARIO = `nodes:
  - name: n1
  - name: n2
`;

/** Builds the world over scenario `yaml`. */
export function createWorld(yaml: string = SCENARIO): World {
  const clock = new FakeClock();
  const sim = createSimulator({
    clock,
    scenario: parseScenario(yaml, "agent-test"),
  });
  const requests: SeenRequest[] = [];
  const world: World = {
    clock,
    sim,
    requests,
    kube: new FakeKube({ clock }),
    lvm: new FakeLvm(),
    client: undefined as unknown as LinstorClient,
    agent(options = {}) {
      return new NodeAgent({
        runner: world.lvm,
        linstor: world.client,
        events: nodeEventsFrom(world.kube),
        clock,
      }, { node: "n1", removalGraceMs: 60_000, ...options });
    },
    pools(node = "n1") {
      return sim.state().storagePools
        .filter((p) => p.node_name === node && p.provider_kind !== "DISKLESS")
        .map((p) => ({
          name: p.storage_pool_name ?? "",
          kind: p.provider_kind ?? "",
          props: { ...p.props },
        }));
    },
    close() {
      world.client.close();
    },
  };
  world.client = new LinstorClient({
    controllers: ["http://sim.invalid:3370"],
    fetch: async (request) => {
      const url = new URL(request.url);
      requests.push({ method: request.method, path: url.pathname });
      const response = await sim.handler(request);
      if (
        world.afterCreate && request.method === "POST" &&
        url.pathname.endsWith("/storage-pools")
      ) {
        return world.afterCreate(response);
      }
      return response;
    },
    clock,
  });
  return world;
}

/** Writes (non-GET requests) among `requests`. */
export function writes(requests: readonly SeenRequest[]): string[] {
  return requests.filter((r) => r.method !== "GET").map((r) =>
    `${r.method} ${r.path}`
  );
}
