/**
 * The edges to the operating system: clock and HTTP server.
 *
 * @module
 */
export * from "./clock.ts";
export * from "./http_server.ts";
