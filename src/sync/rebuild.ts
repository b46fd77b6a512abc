/**
 * `sync --make`: after the sync's own steps, put the live tree in force.
 * When the built config (what the daemon reads) is not what the live tree
 * builds to, the tree is config-tested as the sync leaves it, a built file
 * edited by hand is saved, `make APP.conf` rebuilds it, and a running
 * daemon is told to reload. A tree the daemon rejects is never built: the
 * previous built file stays and the run says so loudly (exit 1).
 */
import type { Context } from "../context.js";
import type { Op } from "../plan.js";
import { plannedContents } from "../plan.js";
import type { App, Mode } from "../server-layout.js";
import { appPaths, reloadCommand } from "../server-layout.js";
import { PlannedView } from "../system/overlay.js";
import { followLinks, resolveLinkTarget } from "../system/safe-path.js";
import type { Reader } from "../system/system.js";
import { EnvironmentError, problem } from "../errors.js";
import { classifyDaemon, readBuilt, readDaemon } from "../built/read.js";
import type { BuiltState } from "../built/classify.js";
import type { ConfigTestResult } from "../tree/configtest.js";
import { refusalWords, runConfigTest } from "../tree/configtest.js";
import { childPath, serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";

/** How a rebuild's line words the state it found (never "current": that is not rebuilt). */
const BUILT_WAS: Record<Exclude<BuiltState, "current">, string> = {
  stale: "was stale",
  missing: "was missing",
  differs: "differed from the tree",
};

/** What `--make` planned for one app. */
export interface Rebuild {
  /** The built config's state once the sync's steps are applied, before any rebuild. */
  before: BuiltState | null;
  ops: Op[];
  /** What the rebuild did or would do, each without the app's name, for the sync's report to word (sync-report.ts). */
  said: string[];
  /** One line each for the admin even under -q. */
  problems: string[];
  /** The config test run on the tree as the sync leaves it, when a rebuild was wanted. */
  test?: ConfigTestResult;
}

/**
 * The tree `app`'s live Makefile builds from: the link to one of our two
 * variants, when that variant still reads its own tree (an upgrade may have
 * written upstream's text over Makefile.local); else null.
 */
export function liveTree(sys: Reader, app: App): Mode | null {
  const { makefile, makefileLocal, makefileSympl } = appPaths(app);
  if (sys.stat(makefile)?.type !== "link") return null;
  const to = resolveLinkTarget(makefile, sys.readLink(makefile));
  const mode: Mode | null = to === makefileLocal ? "local" : to === makefileSympl ? "sympl" : null;
  if (!mode || sys.stat(to)?.type !== "file") return null;
  const dir = /^snippets_dir\s*:=\s*(\S+)\s*$/m.exec(sys.readFile(to).toString("utf8"))?.[1];
  return dir === (mode === "local" ? "sympl-local.d" : "sympl.d") ? mode : null;
}

/**
 * The step that rebuilds APP.conf with the live Makefile. The Makefile is
 * named with -f, resolved inside --root: the old tooling's absolute link
 * would otherwise lead make to the host's own /etc.
 */
export function makeOp(sys: Reader, app: App): Op {
  const path = appPaths(app).makefile;
  const live = followLinks(sys, path, () => new EnvironmentError(problem(path, "symlink loop", "run `makefilecheck repair` (or point it at Makefile.local), then sync again; nothing was changed")));
  return { op: "run", cmd: "make", args: ["-f", sys.hostPath(live), `${app}.conf`], cwd: appPaths(app).dir, why: "rebuild the built config from the live tree (make APP.conf tests it first)" };
}

/** The step that has a running daemon read its config again: an action, never a probe. */
function reloadOp(app: App): Op {
  const [cmd, ...args] = reloadCommand(app).split(" ");
  return { op: "run", cmd: cmd!, args, cwd: serverPath("/"), why: `have the running ${app} read the rebuilt config` };
}

/**
 * Plans `--make` for `app` after `syncOps`. `savedDir` is where this run
 * keeps previous versions (a hand-edited built file goes there too);
 * `tested` is the live tree's config test on the same planned view, when
 * the sync already ran it.
 */
export async function planRebuild(ctx: Context, app: App, syncOps: Op[], savedDir: ServerPath, tested?: ConfigTestResult): Promise<Rebuild> {
  const p = appPaths(app);
  const mode = liveTree(ctx.sys, app);
  if (!mode) {
    const said = `${p.conf} not rebuilt: ${p.makefile} is not makefilecheck's link to a Makefile.local or Makefile.sympl that reads its own tree — run \`makefilecheck repair\`, then \`makefilecheck sync --make\``;
    return { before: null, ops: [], said: [said], problems: [`${app}: ${said}`] };
  }
  const onDisk = readBuilt(ctx.sys, app, mode);
  const view = new PlannedView(ctx.sys, plannedContents(syncOps));
  const after = readBuilt(view, app, mode).verdict.state;
  const daemon = classifyDaemon(readDaemon(ctx.sys, app, onDisk.builtMs));
  const out: Rebuild = { before: after, ops: [], said: [], problems: [] };
  if (after !== "current") {
    const test = tested ?? (await runConfigTest(view, app, mode));
    out.test = test;
    if (test.status === "failed") {
      const said = `config test FAILED: ${p.conf} was NOT rebuilt and stays as it was, so the tree's changes are not in force — ${refusalWords(test)}`;
      out.said.push(said);
      out.problems.push(`${app}: ${said}`);
      return out;
    }
    out.said.push(`${p.conf} ${BUILT_WAS[after]}: ${ctx.dryRun ? "would be rebuilt" : "rebuilt"} from ${mode === "local" ? p.local : p.upstream}`);
    if (onDisk.verdict.state === "differs" && onDisk.text !== null) {
      const saved = childPath(savedDir, `${app}.conf`);
      out.ops.push({ op: "mkdir", path: savedDir, mode: 0o700, why: "keep previous versions" }, { op: "write", path: saved, data: Buffer.from(onDisk.text), mode: 0o600, why: "the built config as edited by hand" });
      out.said.push(`the copy edited by hand ${ctx.dryRun ? "would be" : "is"} kept in ${saved}`);
    }
    out.ops.push(makeOp(ctx.sys, app));
  }
  if (daemon.daemon !== "running" || (after === "current" && daemon.reload !== "needed")) return out;
  if (ctx.sys.root !== "/") {
    out.said.push(`not reloaded: under --root ${ctx.sys.root} no daemon of that root runs here`);
  } else {
    out.ops.push(reloadOp(app));
    out.said.push(`${ctx.dryRun ? "would run" : "ran"} \`${reloadCommand(app)}\``);
  }
  return out;
}
