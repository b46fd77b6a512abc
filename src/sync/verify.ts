/**
 * Before a sync writes anything to a live local tree, the daemon's own
 * config test on the tree as the plan would leave it (the planned view):
 * a merge can be clean as text and still break the config, and the
 * package's next `make` must never fail on what sync wrote.
 */
import type { Context } from "../context.js";
import type { App } from "../server-layout.js";
import { appPaths } from "../server-layout.js";
import type { Op } from "../plan.js";
import { plannedContents } from "../plan.js";
import type { ConfigTestResult } from "../tree/configtest.js";
import { refusalWords, runConfigTest } from "../tree/configtest.js";
import { PlannedView } from "../system/overlay.js";
import { resolveLinkTarget } from "../system/safe-path.js";
import type { Reader } from "../system/system.js";

/** The test's outcome for the report; `failed` means the plan must not be applied. */
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

/**
 * Runs the config test of `app`'s local tree as `ops` would leave it,
 * when that tree is live and the plan changes something; writes nothing.
 */
export async function verifyBeforeSync(ctx: Context, app: App, ops: Op[], changed: boolean): Promise<Verified> {
  if (!changed || !buildsFromLocal(ctx.sys, app)) return { lines: [], failed: false };
  const result = await runConfigTest(new PlannedView(ctx.sys, plannedContents(ops)), app, "local");
  switch (result.status) {
    case "passed":
      return { result, lines: [`${app}: config test of the synced sympl-local.d passed`], failed: false };
    case "skipped":
      return { result, lines: [`${app}: config test skipped: ${result.output}`], failed: false };
    case "failed":
      return {
        result,
        lines: [
          `${app}: config test FAILED: ${refusalWords(result, 6)} — ${app} rejects sympl-local.d as this sync would leave it: nothing was written; the upstream changes stay pending (\`makefilecheck drift\`, \`makefilecheck diff\`)`,
        ],
        failed: true,
      };
  }
}
