/** Commands of the sync engine: drift, diff, sync. */
import type { Args } from "../cli.js";
import type { CommandResult, Context } from "../context.js";
import { EnvironmentError } from "../errors.js";

const todo = async (_ctx: Context, _args: Args): Promise<CommandResult> => {
  throw new EnvironmentError("not built yet");
};
export const drift = todo;
export const diff = todo;
export const sync = todo;
