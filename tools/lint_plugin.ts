/**
 * Project lint rules that keep the architecture honest:
 *
 * - `edge-io`: `Deno.*`, `fetch()`, `Date.now()` and timers only in the edge
 *   files that own that I/O (DEVELOPERS.md "I/O only at the edges").
 * - `max-params`: exported functions take at most 2 arguments plus an
 *   options object.
 * - `no-ts-private`: `#private` fields, not the `private` keyword.
 * - `no-top-level-arrow`: top-level functions use the `function` keyword.
 *
 * @module
 */

/** Files (path suffixes under src/) allowed to touch each kind of I/O. */
const EDGES: Record<string, readonly string[]> = {
  deno: [
    "src/cli/",
    "src/system/",
    "src/linstor/_request.ts",
    "src/kube/",
    "src/sim/_serve.ts",
  ],
  fetch: ["src/linstor/_request.ts", "src/kube/", "src/system/http_client.ts"],
  time: ["src/system/clock.ts"],
};

function allowed(kind: string, filename: string): boolean {
  const path = filename.replaceAll("\\", "/");
  const inSrc = path.lastIndexOf("/src/");
  if (inSrc < 0) return true; // tests, tools and main.ts may do I/O
  const relative = path.slice(inSrc + 1);
  return EDGES[kind]!.some((edge) => relative.startsWith(edge));
}

const plugin: Deno.lint.Plugin = {
  name: "linstor-suite",
  rules: {
    "edge-io": {
      create(context) {
        return {
          'MemberExpression[object.type="Identifier"][object.name="Deno"]'(
            node: Deno.lint.MemberExpression,
          ) {
            if (!allowed("deno", context.filename)) {
              context.report({
                node,
                message:
                  "Deno APIs belong in an edge file (src/system, src/cli, …); inject the capability instead",
              });
            }
          },
          'CallExpression[callee.type="Identifier"][callee.name="fetch"]'(
            node: Deno.lint.CallExpression,
          ) {
            if (!allowed("fetch", context.filename)) {
              context.report({
                node,
                message:
                  "fetch() belongs in the LINSTOR or Kubernetes transport",
              });
            }
          },
          'CallExpression[callee.type="MemberExpression"][callee.object.name="Date"][callee.property.name="now"]'(
            node: Deno.lint.CallExpression,
          ) {
            if (!allowed("time", context.filename)) {
              context.report({
                node,
                message:
                  "Date.now() belongs in src/system/clock.ts; inject a Clock",
              });
            }
          },
          'CallExpression[callee.type="Identifier"][callee.name=/^set(Timeout|Interval)$/]'(
            node: Deno.lint.CallExpression,
          ) {
            if (!allowed("time", context.filename)) {
              context.report({
                node,
                message:
                  "Timers belong in src/system/clock.ts; use Clock.sleep()",
              });
            }
          },
        };
      },
    },
    "max-params": {
      create(context) {
        return {
          "ExportNamedDeclaration > FunctionDeclaration"(
            node: Deno.lint.FunctionDeclaration,
          ) {
            if (node.params.length > 3) {
              context.report({
                node,
                message:
                  "Exported functions take at most 2 arguments plus an options object",
              });
            }
          },
        };
      },
    },
    "no-ts-private": {
      create(context) {
        return {
          'PropertyDefinition[accessibility="private"], MethodDefinition[accessibility="private"]'(
            node: Deno.lint.Node,
          ) {
            context.report({
              node,
              message: "Use #private fields instead of the private keyword",
            });
          },
        };
      },
    },
    "no-top-level-arrow": {
      create(context) {
        return {
          "Program > ExportNamedDeclaration > VariableDeclaration > VariableDeclarator > ArrowFunctionExpression"(
            node: Deno.lint.ArrowFunctionExpression,
          ) {
            context.report({
              node,
              message: "Top-level functions use the function keyword",
            });
          },
        };
      },
    },
  },
};

// Deno lint plugins must be default exports (the one exception to the rule).
export default plugin;
