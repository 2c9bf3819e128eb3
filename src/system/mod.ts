/**
 * The edges to the operating system: clock, child processes and HTTP server.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./http_client.ts";
export * from "./http_server.ts";
export * from "./command.ts";
