/**
 * `linstor-suite version`.
 *
 * @module
 */
import { PROGRAM_NAME, VERSION } from "../constants.ts";
import type { Command } from "./command.ts";

/** Prints the program version. */
export const VERSION_COMMAND: Command = {
  name: "version",
  summary: "Print the version",
  flags: [],
  run(context) {
    context.stdout(`${PROGRAM_NAME} ${VERSION}\n`);
    return Promise.resolve(0);
  },
};
