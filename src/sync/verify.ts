/**
 * After a sync that changed the local tree, the daemon's own config test
 * on it, when that tree is the live one: a merge can be clean as text and
 * still break the config.
 */
import type { Context } from "../context.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import type { ConfigTestResult } from "../tree/configtest.js";
import { errorLines, runConfigTest } from "../tree/configtest.js";
import { resolveLinkTarget } from "../system/safe-path.js";
import type { Reader } from "../system/system.js";

/** The test's outcome for the report; `failed` makes sync exit 1. */
export interface Verified {
  result?: ConfigTestResult;
  lines: string[];
  failed: boolean;
}

/** True when `app`'s Makefile is a link to Makefile.local (relative or absolute). */
function buildsFromLocal(sys: Reader, app: App): boolean {
  const { makefile, makefileLocal } = appPaths(app);
  if (sys.stat(makefile)?.type !== "link") return false;
  return resolveLinkTarget(makefile, sys.readLink(makefile)) === makefileLocal;
}

/** Runs the config test of the local tree when it is live and this sync changed something. */
export async function verifyAfterSync(ctx: Context, app: App, changed: boolean): Promise<Verified> {
  if (!changed || !buildsFromLocal(ctx.sys, app)) return { lines: [], failed: false };
  if (ctx.dryRun) return { lines: [`${app}: config test not run (dry run: nothing was written)`], failed: false };
  const result = await runConfigTest(ctx.sys, app, "local");
  switch (result.status) {
    case "passed":
      return { result, lines: [`${app}: config test of sympl-local.d passed`], failed: false };
    case "skipped":
      return { result, lines: [`${app}: config test skipped: ${result.output}`], failed: false };
    case "failed":
      return {
        result,
        lines: [
          `${app}: config test of sympl-local.d FAILED — fix it before \`make\` (\`makefilecheck diff\` shows what differs from upstream):`,
          ...errorLines(result).map((l) => `  ${l}`),
        ],
        failed: true,
      };
  }
}
