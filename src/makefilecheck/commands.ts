/** Commands of the Makefile manager: status, report, use, repair, revert, check. */
import type { Args } from "../cli.js";
import type { CommandResult, Context } from "../context.js";
import { EnvironmentError } from "../errors.js";

const todo = async (_ctx: Context, _args: Args): Promise<CommandResult> => {
  throw new EnvironmentError("not built yet");
};
export const status = todo;
export const report = todo;
export const use = todo;
export const repair = todo;
export const revert = todo;
export const check = todo;
