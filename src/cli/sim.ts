/**
 * `linstor-suite sim`: the LINSTOR controller simulator as a server.
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { LOG_CATEGORY } from "../constants.ts";
import {
  createSimulator,
  demoScenario,
  parseScenario,
  runTimeline,
  type Scenario,
  serveSimulator,
} from "../sim/mod.ts";
import { parseListenAddress, SYSTEM_CLOCK } from "../system/mod.ts";
import { SIM_COMMAND_INFO } from "./sim_flags.ts";
import type { Command, CommandContext } from "./command.ts";
import { setupLogging, untilAborted } from "./common.ts";
import { UsageError } from "./flags.ts";

/** Serves the simulator until SIGTERM/SIGINT. */
export const SIM_COMMAND: Command = {
  ...SIM_COMMAND_INFO,
  run: runSim,
};

async function runSim(context: CommandContext): Promise<number> {
  await setupLogging(context);
  const logger = getLogger([LOG_CATEGORY, "sim"]);
  const { flags } = context;
  let address;
  try {
    address = parseListenAddress(flags.string("listen")!);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const scenarioFile = flags.string("scenario");
  if (scenarioFile !== undefined && flags.boolean("demo")) {
    throw new UsageError('Cannot use "--scenario" together with "--demo"');
  }
  const tlsCert = flags.string("tls-cert");
  const tlsKey = flags.string("tls-key");
  const clientCa = flags.string("client-ca");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new UsageError(
      'Cannot serve HTTPS: "--tls-cert" and "--tls-key" go together',
    );
  }
  if (clientCa !== undefined && tlsCert === undefined) {
    throw new UsageError(
      'Cannot require client certificates: "--client-ca" needs "--tls-cert" and "--tls-key"',
    );
  }
  const username = flags.string("username");
  const password = flags.string("password");
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError(
      'Cannot enable basic auth: "--username" and "--password" go together',
    );
  }
  let scenario: Scenario | undefined;
  if (scenarioFile !== undefined) {
    scenario = parseScenario(
      await context.readTextFile(scenarioFile),
      scenarioFile,
    );
  } else if (flags.boolean("demo")) {
    scenario = demoScenario();
  }
  const tls = tlsCert === undefined ? undefined : {
    cert: await context.readTextFile(tlsCert),
    key: await context.readTextFile(tlsKey!),
    ...(clientCa === undefined
      ? {}
      : { clientCa: await context.readTextFile(clientCa) }),
  };
  const simulator = createSimulator({
    clock: SYSTEM_CLOCK,
    ...(scenario ? { scenario } : {}),
    ...(username !== undefined ? { username, password: password! } : {}),
    logger,
  });
  const server = await serveSimulator(simulator, {
    ...address,
    signal: context.signal,
    ...(tls ? { tls } : {}),
  });
  logger.info("LINSTOR simulator listening on {url}", { url: server.url });
  context.stdout(`${server.url}\n`);
  const timeline = runTimeline(simulator, {
    clock: SYSTEM_CLOCK,
    signal: context.signal,
  });
  await untilAborted(context.signal);
  simulator.close();
  await Promise.all([server.finished, timeline]);
  logger.info("LINSTOR simulator stopped");
  return 0;
}
