/**
 * Who started this run, for the action log: the admin behind sudo when
 * there is one (SUDO_USER), else the name of the user the process runs
 * as, else its uid.
 */
import { userInfo } from "node:os";

/** A user name as it may stand in a log line: no blanks, no line breaks. */
const NAME = /^[A-Za-z0-9._][A-Za-z0-9._@-]*\$?$/;

/** The invoking user's name (`env` is the process's environment). */
export function invokingUser(env: NodeJS.ProcessEnv = process.env): string {
  const sudo = env.SUDO_USER;
  if (sudo && NAME.test(sudo)) return sudo;
  try {
    const name = userInfo().username;
    if (NAME.test(name)) return name;
  } catch {
    // A uid without a passwd entry (a container's): the number says who.
  }
  return `uid ${process.getuid?.() ?? "unknown"}`;
}
