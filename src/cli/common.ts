/**
 * Flags every long-running mode shares, and their interpretation.
 *
 * @module
 */
import {
  DEFAULT_HEALTH_ADDRESS,
  LINSTOR_DEFAULT_POLL_INTERVAL_MS,
  LINSTOR_DEFAULT_TIMEOUT_MS,
} from "../constants.ts";
import { configureLogging, verbosityToLevel } from "../observability/mod.ts";
import type { CommandContext } from "./command.ts";
import type { FlagSpec } from "./flags.ts";

/** `-v/--verbosity` and `--log-format`, for every subcommand. */
export const LOG_FLAGS: readonly FlagSpec[] = [
  {
    name: "verbosity",
    short: "v",
    aliases: ["v"],
    type: "int",
    description: "Log verbosity: 0 info, 1-4 debug, 5+ trace",
    env: "LINSTOR_SUITE_VERBOSITY",
    default: 0,
  },
  {
    name: "log-format",
    type: "string",
    description: "Log line format",
    env: "LINSTOR_SUITE_LOG_FORMAT",
    default: "text",
    choices: ["text", "json"],
  },
];

/** Flags of every long-running mode (logging, health, Kubernetes, LINSTOR). */
export const COMMON_FLAGS: readonly FlagSpec[] = [
  ...LOG_FLAGS,
  {
    name: "health-address",
    type: "string",
    description: "Serve /healthz, /readyz and /metrics on this address",
    env: "LINSTOR_SUITE_HEALTH_ADDRESS",
    default: DEFAULT_HEALTH_ADDRESS,
    valueName: "HOST:PORT",
  },
  {
    name: "kubeconfig",
    type: "string",
    description:
      "Path to a kubeconfig; else KUBECONFIG, else the in-cluster service account",
    env: "KUBECONFIG",
    valueName: "FILE",
  },
  {
    name: "linstor-poll-interval",
    type: "duration",
    description: "How often the state model polls LINSTOR",
    env: "LINSTOR_SUITE_LINSTOR_POLL_INTERVAL",
    default: LINSTOR_DEFAULT_POLL_INTERVAL_MS,
  },
  {
    name: "linstor-timeout",
    type: "duration",
    description: "Timeout of one LINSTOR request",
    env: "LINSTOR_SUITE_LINSTOR_TIMEOUT",
    default: LINSTOR_DEFAULT_TIMEOUT_MS,
  },
];

/**
 * Configures logging from `-v` and `--log-format`; logs go to stderr. With
 * `quiet`, only warnings and errors are written.
 */
export async function setupLogging(
  context: CommandContext,
  options: { quiet?: boolean } = {},
): Promise<void> {
  await configureLogging({
    level: options.quiet
      ? "warning"
      : verbosityToLevel(context.flags.number("verbosity") ?? 0),
    format: context.flags.string("log-format") === "json" ? "json" : "text",
    write: context.stderr,
  });
}
