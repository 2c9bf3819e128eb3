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
import type { Command, CommandContext } from "./command.ts";
import { LOG_FLAGS, setupLogging, untilAborted } from "./common.ts";
import { UsageError } from "./flags.ts";

/** Serves the simulator until SIGTERM/SIGINT. */
export const SIM_COMMAND: Command = {
  name: "sim",
  summary: "Serve a LINSTOR controller simulator (REST API v1 subset)",
  description:
    "Serves the LINSTOR REST API v1 subset linstor-suite uses, faithful to the real controller, " +
    "seeded from a scenario file (or the embedded demo with --demo) whose timeline plays in real " +
    "time. Simulator-only controls live under /sim/v1/ (docs/simulator.md).",
  flags: [
    ...LOG_FLAGS,
    {
      name: "listen",
      type: "string",
      description: "Address to serve on",
      default: "127.0.0.1:3370",
      valueName: "HOST:PORT",
    },
    {
      name: "scenario",
      type: "string",
      description: "Scenario YAML file to seed the controller with",
      valueName: "FILE",
    },
    {
      name: "demo",
      type: "boolean",
      description: "Seed the controller with the embedded demo scenario",
    },
    {
      name: "tls-cert",
      type: "string",
      description: "PEM certificate chain: serve HTTPS",
      valueName: "FILE",
    },
    {
      name: "tls-key",
      type: "string",
      description: "PEM private key of --tls-cert",
      valueName: "FILE",
    },
    {
      name: "client-ca",
      type: "string",
      description: "PEM CA: require client certificates signed by it",
      valueName: "FILE",
    },
    {
      name: "username",
      type: "string",
      description: "Require HTTP basic auth with this user",
      env: "SIM_USERNAME",
    },
    {
      name: "password",
      type: "string",
      description: "Password of --username",
      env: "SIM_PASSWORD",
    },
  ],
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
