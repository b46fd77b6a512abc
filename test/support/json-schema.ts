/**
 * The versioned JSON contract, checked: every --json document a test reads
 * goes through `jsonDocument`, which parses it and validates it against
 * the JSON Schema its `schema` field names (schema/NAME.json, with ajv).
 * The schemas require fields and allow others (README, "The JSON
 * documents"), so a missing or retyped field fails the test that read it.
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";

const SCHEMA_DIR = fileURLToPath(new URL("../../schema/", import.meta.url));

/** Every schema of the repository, by file name (without .json). */
export const SCHEMAS: Record<string, { $id: string } & Record<string, unknown>> = Object.fromEntries(
  readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith(".json"))
    .map((f) => [f.slice(0, -".json".length), JSON.parse(readFileSync(`${SCHEMA_DIR}${f}`, "utf8"))]),
);

const ajv = new Ajv({ allErrors: true, strict: true });
for (const schema of Object.values(SCHEMAS)) ajv.addSchema(schema);

/** What is wrong with `doc` against the schema it names; empty when it is valid. */
export function contractErrors(doc: unknown): string[] {
  const id = typeof doc === "object" && doc !== null ? (doc as { schema?: unknown }).schema : undefined;
  if (typeof id !== "string") return ["the document names no schema (no string field `schema`)"];
  const validate = ajv.getSchema(id);
  if (!validate) return [`no schema ${id} in schema/`];
  return validate(doc) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}

/** Parses one --json document and checks it against its schema; throws, naming what is wrong, when it does not hold. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read documents freely once the schema vouched for them
export function jsonDocument(text: string): any {
  const doc: unknown = JSON.parse(text);
  const errors = contractErrors(doc);
  if (errors.length) throw new Error(`--json document breaks its schema: ${errors.join("; ")}\n${text.slice(0, 2000)}`);
  return doc;
}
