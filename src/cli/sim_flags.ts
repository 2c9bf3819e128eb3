/**
 * Usage and flags of `sim` (the LINSTOR simulator), as data: usage texts
 * read them without loading the command (`sim.ts`, imported when it runs).
 *
 * @module
 */
import type { CommandInfo } from "./command.ts";
import { LOG_FLAGS } from "./common_flags.ts";

/** Name, usage and flags of `sim`. */
export const SIM_COMMAND_INFO: CommandInfo = {
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
};
