/**
 * The embedded demo scenario, parsed.
 *
 * @module
 */
import { DEMO_SCENARIO_YAML } from "../demo/mod.ts";
import { parseScenario, type Scenario } from "./_scenario.ts";

/** The demo scenario (see `src/demo/`), validated. */
export function demoScenario(): Scenario {
  return parseScenario(DEMO_SCENARIO_YAML, "demo");
}
