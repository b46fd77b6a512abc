/**
 * A built-in module fetched on its first use rather than imported, so a
 * command that never needs it (status: node:crypto, node:os,
 * node:child_process, node:tty) does not load it at start-up
 * (docs/architecture.md, Budgets). The bundle is CommonJS, where
 * `require` is each module's own; the source run as ESM (tsx, the tests'
 * helper processes, on Node 20.16 or later) has process.getBuiltinModule
 * instead. Not node:module's createRequire: loading node:module costs
 * about 1.5 ms on Debian's Node 18, which has no code cache for its
 * built-in modules.
 */
export function builtin<T>(name: `node:${string}`): T {
  if (typeof require === "function") return require(name) as T;
  return (process as unknown as { getBuiltinModule(id: string): T }).getBuiltinModule(name);
}
