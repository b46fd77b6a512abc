/**
 * The texts of the daemon-free upgrade triggers: an apt hook that runs after
 * every dpkg run apt starts, and a systemd path unit with its oneshot
 * service. Both run `repair` then `sync` (by default `sync --make`, which
 * puts the tree back in force: rebuild, reload), quietly, and neither can
 * fail the package run. Pure: the command decides where and whether to write them.
 */
import { InputError, problem } from "../errors.js";
import { childPath, serverPath } from "../paths.js";
import type { ServerPath } from "../paths.js";
import { APT_CONF_DIR, UNIT_DIR } from "../server-layout.js";

/** Which trigger a file belongs to. */
export type HookKind = "apt" | "systemd";

/** One file of a trigger. */
export interface HookFile {
  kind: HookKind;
  path: ServerPath;
  text: string;
}

/** Every file we write carries this word; `hooks --remove` touches no file without it. */
const HOOK_MARKER = "makefilecheck-hook:";

/** The systemd units, and the link `systemctl enable` would make for the path unit. */
export { UNIT_DIR };
export const PATH_UNIT = "makefilecheck-upgrade.path";
export const SERVICE_UNIT = "makefilecheck-upgrade.service";
export const ENABLE_LINK = serverPath(`${UNIT_DIR}/paths.target.wants/${PATH_UNIT}`);
/**
 * Where the Debian package ships both units. Under the package, `hooks
 * --install` writes no unit: it enables the packaged path unit and puts this
 * host's options in a drop-in for the packaged service.
 */
export const PACKAGED_UNIT_DIR = serverPath("/usr/lib/systemd/system");
export const DROP_IN_DIR = childPath(UNIT_DIR, `${SERVICE_UNIT}.d`);
export const DROP_IN = childPath(DROP_IN_DIR, "makefilecheck.conf");
/** apt reads its configuration parts in name order; 80 runs after the distribution's own hooks. */
export const APT_HOOK = childPath(APT_CONF_DIR, "80makefilecheck");

/** What to write into the files. */
export interface HookOptions {
  /** Absolute path of the makefilecheck to run. */
  bin: string;
  /** Also put the live tree back in force after syncing (`sync --make`: rebuild, reload). */
  make: boolean;
  /** The package's units are installed: write a drop-in for them instead of units of our own. */
  packaged?: boolean;
}

/**
 * Refuses a binary path that is not plain: the path is written into a shell
 * command (apt) and an ExecStart= line (systemd), where a space, a quote, a
 * `$` or a `%` would change its meaning.
 */
export function checkBin(bin: string): string {
  if (!/^\/[A-Za-z0-9._+/-]+$/.test(bin) || bin.split("/").includes("..")) {
    throw new InputError(problem(`--bin ${bin}`, "not a plain absolute path (letters, digits, . _ + - /)", "give the absolute path of the installed makefilecheck"));
  }
  return bin;
}

/**
 * How long (seconds) a trigger's run waits for the lock (`--wait`): another
 * trigger of the same upgrade may be rebuilding and testing the config
 * meanwhile, and a trigger that gives up leaves the upgrade undone.
 */
export const TRIGGER_WAIT_S = 90;

/** The two command lines every trigger runs, in order. */
function triggerCommands(o: HookOptions): [string, string] {
  const wait = `--wait ${TRIGGER_WAIT_S}`;
  return [`${o.bin} repair -q ${wait}`, `${o.bin} sync -q ${wait}${o.make ? " --make" : ""}`];
}

function header(comment: string): string {
  return `${comment} ${HOOK_MARKER} written by \`makefilecheck hooks --install\`; \`makefilecheck hooks --remove\` takes it out.\n`;
}

/** The apt hook: one shell line, guarded so apt never sees it fail. */
function aptHook(o: HookOptions): HookFile {
  const [repair, sync] = triggerCommands(o);
  // apt's parser has no escapes inside a quoted value: only single quotes in there.
  const shell =
    `if [ -x ${o.bin} ]; then ` +
    `${repair} || echo 'makefilecheck: repair needs attention, run: makefilecheck status' >&2; ` +
    `${sync} || echo 'makefilecheck: sync needs attention, run: makefilecheck status' >&2; ` +
    `fi; true`;
  const text =
    header("//") +
    "// After each dpkg run that apt starts (upgrades, unattended-upgrades): put the\n" +
    "// chosen Makefile back, then bring upstream snippet changes into sympl-local.d\n" +
    (o.make ? "// and rebuild the built config from it (config test first), reloading the daemon.\n" : "// (the built config is left to `make`).\n") +
    "// Skipped when makefilecheck is gone; a problem is printed, never fails apt.\n" +
    `DPkg::Post-Invoke { "${shell}"; };\n`;
  return { kind: "apt", path: APT_HOOK, text };
}

/** The header of a unit the package ships: no marker, dpkg owns it. */
const SHIPPED = "# Shipped by the makefilecheck package, not enabled by it: `makefilecheck hooks --install` enables it.\n";

/** The path unit: fires on dpkg's status database, for the reasons in its comment. */
function pathUnit(dir: ServerPath, head: string): HookFile {
  const text =
    head +
    "#\n" +
    "# Why /var/lib/dpkg/status and not sympl.d: a .path unit watches only the\n" +
    "# paths it names, not what lies below them, and dpkg installs a conffile by\n" +
    "# renaming the new file over the old one inside the subdirectories of\n" +
    "# sympl.d (00-main/, 10-acl/...). A unit naming sympl.d would never fire;\n" +
    "# naming every subdirectory would miss the ones a new Sympl adds. dpkg\n" +
    "# rewrites its status database during a run and when the run ends, after\n" +
    "# the last postinst, so every package run fires this unit whatever it\n" +
    "# touched, runs of dpkg that apt did not start included. A change that\n" +
    "# comes while the service is still running may not start a second run;\n" +
    "# the apt hook, or the next package run, catches up.\n" +
    "[Unit]\n" +
    "Description=Watch dpkg runs to keep the chosen Sympl snippet tree after upgrades\n" +
    "\n" +
    "[Path]\n" +
    "PathChanged=/var/lib/dpkg/status\n" +
    `Unit=${SERVICE_UNIT}\n` +
    "\n" +
    "[Install]\n" +
    "WantedBy=paths.target\n";
  return { kind: "systemd", path: childPath(dir, PATH_UNIT), text };
}

/** The oneshot service the path unit starts. */
function serviceUnit(o: HookOptions, dir: ServerPath, head: string): HookFile {
  const [repair, sync] = triggerCommands(o);
  const text =
    head +
    "[Unit]\n" +
    "Description=Restore the chosen Sympl Makefile and sync sympl-local.d after a package run\n" +
    `ConditionPathExists=${o.bin}\n` +
    "\n" +
    "[Service]\n" +
    "Type=oneshot\n" +
    "# repair first, so sync works with the Makefile the admin chose; a failed\n" +
    "# repair (\"-\") must not keep sync from bringing upstream changes in. A sync\n" +
    "# conflict fails the unit, so it shows in `systemctl --failed`.\n" +
    `ExecStart=-${repair}\n` +
    `ExecStart=${sync}\n`;
  return { kind: "systemd", path: childPath(dir, SERVICE_UNIT), text };
}

/** This host's options for the packaged service: its commands replaced by ours. */
function dropIn(o: HookOptions): HookFile {
  const [repair, sync] = triggerCommands(o);
  const text =
    header("#") +
    `# This host's options for ${PACKAGED_UNIT_DIR}/${SERVICE_UNIT}.\n` +
    "[Unit]\n" +
    "ConditionPathExists=\n" +
    `ConditionPathExists=${o.bin}\n` +
    "\n" +
    "[Service]\n" +
    "ExecStart=\n" +
    `ExecStart=-${repair}\n` +
    `ExecStart=${sync}\n`;
  return { kind: "systemd", path: DROP_IN, text };
}

/** Every file of the triggers `only` selects (both when unset). */
export function hookFiles(o: HookOptions, only?: HookKind): HookFile[] {
  const systemd = o.packaged ? [dropIn(o)] : [pathUnit(UNIT_DIR, header("#")), serviceUnit(o, UNIT_DIR, header("#"))];
  return [aptHook(o), ...systemd].filter((f) => !only || f.kind === only);
}

/** The two units the Debian package ships, running `bin` with the triggers' default options. */
export function packagedUnits(bin: string): HookFile[] {
  return [pathUnit(PACKAGED_UNIT_DIR, SHIPPED), serviceUnit({ bin, make: true }, PACKAGED_UNIT_DIR, SHIPPED)];
}

/** True when a file's text is one we wrote. */
export function isOurs(text: string): boolean {
  return text.includes(HOOK_MARKER);
}
