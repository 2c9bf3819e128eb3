/**
 * The LINSTOR simulator (`linstor-suite sim`): a faithful in-memory LINSTOR
 * controller behind a `(Request) → Response` handler, scenario files with a
 * timeline, simulator-only controls under `/sim/v1/`, and a thin server
 * adapter (HTTP, HTTPS, HTTPS with required client certificates).
 *
 * @module
 */
export {
  createSimulator,
  runTimeline,
  SimActionError,
  type Simulator,
  type SimulatorOptions,
  type SimulatorState,
  type TimelineStatus,
} from "./simulator.ts";
export {
  parseActions,
  parseDurationMs,
  parseScenario,
  parseSizeKib,
  type Scenario,
  ScenarioError,
  type ScenarioIssue,
  type SimAction,
} from "./_scenario.ts";
export {
  serveSimulator,
  type ServeSimulatorOptions,
  type SimulatorServer,
} from "./_serve.ts";
export { demoScenario } from "./_demo.ts";
