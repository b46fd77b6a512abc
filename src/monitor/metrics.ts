/**
 * The metrics for Prometheus' node exporter, in the text format its
 * textfile collector reads from `*.prom` files: one prefix
 * (`makefilecheck_`), base units, gauges. Pure: the same facts as the
 * plugin's verdict (health.ts); command.ts writes the file.
 */
import { CHANGE_STATES } from "../changes/state.js";
import { STATES } from "../sync/classify.js";
import type { Facts } from "./health.js";
import { conflicts, health, inForce, PLUGIN_STATES } from "./health.js";

/** The file's name in the textfile directory. */
export const PROM_FILE = "makefilecheck.prom";

/** A label value, escaped as the text format asks. */
function label(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** One metric: its help and type lines, then one sample per label set. */
function metric(name: string, help: string, samples: Array<[Record<string, string>, number]>): string {
  const lines = [`# HELP makefilecheck_${name} ${help}`, `# TYPE makefilecheck_${name} gauge`];
  for (const [labels, value] of samples) {
    const set = Object.entries(labels).map(([k, v]) => `${k}=${label(v)}`);
    lines.push(`makefilecheck_${name}${set.length ? `{${set.join(",")}}` : ""} ${value}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The text of makefilecheck.prom for `facts`, made by makefilecheck `version`. */
export function metricsText(facts: Facts, version: string): string {
  const per = <T>(f: (a: Facts["apps"][number]) => T) => facts.apps.map((a) => [a.status.app, f(a)] as const);
  const driftStates = [...STATES.filter((s) => s !== "clean"), "waiting"];
  const out = [
    metric("info", "makefilecheck's version", [[{ version }, 1]]),
    metric("in_force", "1 when the app builds from the chosen tree and the running daemon has read the built config", per((a) => (inForce(a.status) ? 1 : 0)).map(([app, v]) => [{ app }, v])),
    metric(
      "changes",
      "email changes by state",
      facts.apps.flatMap((a) => Object.keys(CHANGE_STATES).map((state): [Record<string, string>, number] => [{ app: a.status.app, state }, a.changes.filter((c) => c.state === state).length])),
    ),
    metric(
      "drift_files",
      "snippets of sympl-local.d by drift state (waiting: .sympl-new files)",
      facts.apps.flatMap((a) => driftStates.map((state): [Record<string, string>, number] => [{ app: a.status.app, state }, a.status.drift?.counts[state] ?? 0])),
    ),
    metric("conflicts", "files a sync could not settle (conflict, diverged, .sympl-new)", per(conflicts).map(([app, v]) => [{ app }, v])),
  ];
  const built = facts.apps.filter((a) => a.builtAgeS !== null);
  if (built.length) out.push(metric("built_config_age_seconds", "seconds since the built config was written", built.map((a) => [{ app: a.status.app }, a.builtAgeS ?? 0])));
  const state = health(facts).state;
  out.push(metric("monitor_state", `the monitoring-plugin state: ${PLUGIN_STATES.map((s, i) => `${i} ${s}`).join(", ")}`, [[{}, PLUGIN_STATES.indexOf(state)]]));
  const run = facts.lastRun;
  if (run) {
    out.push(metric("last_run_timestamp_seconds", "when the last mutating run (a trigger's or one by hand) ended", [[{ command: run.command }, Math.floor(Date.parse(run.time) / 1000)]]));
    out.push(metric("last_run_success", "1 when the last mutating run exited 0, 0 when it failed or left something for a person (a refused config test, a conflict)", [[{ command: run.command }, run.exit === 0 ? 1 : 0]]));
  }
  return out.join("");
}
