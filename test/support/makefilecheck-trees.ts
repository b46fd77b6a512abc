/** Trees the Makefile-manager tests start from, built on the shared fixtures. */
import { symlinkSync, unlinkSync } from "node:fs";
import type { App } from "../../src/server-layout.js";
import { APPS, LINKED_SNIPPETS, appPaths } from "../../src/server-layout.js";
import { use } from "../../src/makefilecheck/commands.js";
import { copyTree } from "../fixtures/paths.js";
import { inRoot, writeSymplTree } from "../fixtures/sympl.js";
import { testContext } from "./context.js";

/** A vanilla tree plus sympl-local.d copied from sympl.d (dovecot's 60-sni a relative link). */
export function caninstallTree(root: string, apps: App[] = [...APPS]): void {
  writeSymplTree(root, { apps });
  for (const app of apps) {
    const p = appPaths(app);
    copyTree(inRoot(root, p.upstream), inRoot(root, p.local));
    for (const rel of LINKED_SNIPPETS[app]) {
      unlinkSync(inRoot(root, `${p.local}/${rel}`));
      symlinkSync(`../../sympl.d/${rel}`, inRoot(root, `${p.local}/${rel}`));
    }
  }
}

/** A tree switched to `mode` by our own `use` (no config test): the state every damage starts from. */
export async function managedTree(root: string, apps: App[] = [...APPS], mode: "local" | "sympl" = "local"): Promise<void> {
  caninstallTree(root, apps);
  await use(testContext(root, { apps }), { _: [], mode, check: false });
}
