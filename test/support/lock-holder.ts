/**
 * A process of its own that takes the run lock under ROOT the way every
 * makefilecheck run does (RealSystem.lock), prints `locked`, then keeps it
 * for HOLD_MS (or until it is killed), writes ROOT/holder-done and lets go. Started by the lock tests
 * with `node --import tsx`.
 */
import { writeFileSync } from "node:fs";
import { RealSystem } from "../../src/system/real.js";
import { serverPath } from "../../src/paths.js";

const [root, holdMs] = process.argv.slice(2);
const release = await new RealSystem(root!).lock(serverPath("/var/lib/makefilecheck/lock"), 0);
process.stdout.write("locked\n");
await new Promise((r) => setTimeout(r, Number(holdMs)));
writeFileSync(`${root}/holder-done`, "");
await release();
