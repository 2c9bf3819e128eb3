/**
 * The YAML of configuration texts (kubeconfig, the extender's config file,
 * remote-access policies, scenarios): YAML 1.2's core schema, one document.
 *
 * Parsed with js-yaml's ES module build. The `yaml` package's `node` export is
 * CommonJS, and the first CommonJS package a process loads brings Deno's
 * `require` machinery: 4–6 MiB of a mode's process before any data
 * (docs/benchmarks.md, "YAML without CommonJS"). Tests and tools, which write
 * YAML too, keep `yaml`.
 *
 * @module
 */
import { CORE_SCHEMA, load } from "js-yaml";

/**
 * Parses one YAML 1.2 document (core schema: no timestamps, no merge keys);
 * an empty text is `null`. Throws on a syntax error, several documents or a
 * duplicate key.
 */
export function parseYaml(text: string): unknown {
  return load(text, { schema: CORE_SCHEMA }) ?? null;
}
