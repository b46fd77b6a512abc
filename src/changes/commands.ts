/** Commands of the change catalogue: install, changes. */
import type { Args } from "../cli.js";
import type { CommandResult, Context } from "../context.js";
import { EnvironmentError } from "../errors.js";

const todo = async (_ctx: Context, _args: Args): Promise<CommandResult> => {
  throw new EnvironmentError("not built yet");
};
export const install = todo;
export const changes = todo;
