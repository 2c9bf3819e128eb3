/**
 * The edges to the operating system: clock, child processes, HTTP server and
 * the process's own statistics.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./http_client.ts";
export * from "./http_server.ts";
export * from "./command.ts";
export * from "./process_stats.ts";
