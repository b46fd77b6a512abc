/**
 * The versioned JSON contract itself (README, "The JSON documents"):
 * every document has a schema in schema/ whose id and `schema` constant
 * are the one the code writes, and the schemas are strict where it
 * matters (a required field missing, a field of the wrong type, an
 * unknown schema) and tolerant where the promise allows (a field added).
 * Every test that reads a --json document validates it (support/json-schema.ts).
 */
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../src/args.js";
import { SCHEMA_VERSIONS, schemaId } from "../src/json-contract.js";
import type { DocumentName } from "../src/json-contract.js";
import { contractErrors, SCHEMAS } from "./support/json-schema.js";

const STATUS = {
  schema: "makefilecheck/status/1",
  apps: [{ app: "exim4", profile: "local", recorded: "local", live: "local", damage: null, legacy: false, problem: null, drift: { counts: { "local-added": 2 }, actionNeeded: false }, built: { state: "current", daemon: "running", reload: "no" }, next: null }],
};

describe("the schemas", () => {
  it("cover every command, errors and the watcher's lines, each with the id the code writes", () => {
    expect(Object.keys(SCHEMA_VERSIONS).sort()).toEqual([...Object.keys(COMMANDS), "error"].sort());
    for (const name of Object.keys(SCHEMA_VERSIONS) as DocumentName[]) {
      const schema = SCHEMAS[name] as { $id: string; properties: { schema: { const: string } } };
      expect(schema, `schema/${name}.json`).toBeDefined();
      expect(schema.$id).toBe(schemaId(name));
      expect(schema.properties.schema.const).toBe(schemaId(name));
    }
  });

  it("accept a document as it is, and one with fields added (additions keep the version)", () => {
    expect(contractErrors(STATUS)).toEqual([]);
    expect(contractErrors({ ...STATUS, later: 1, apps: [{ ...STATUS.apps[0], later: "x" }] })).toEqual([]);
  });

  it("refuse a document missing a required field, with a field of another type, or naming no known schema", () => {
    const { profile: _gone, ...noProfile } = STATUS.apps[0]!;
    expect(contractErrors({ ...STATUS, apps: [noProfile] })).toEqual(["/apps/0 must have required property 'profile'"]);
    const retyped = contractErrors({ ...STATUS, apps: [{ ...STATUS.apps[0], drift: { counts: { "local-added": "2" }, actionNeeded: false } }] });
    expect(retyped).toContain("/apps/0/drift/counts/local-added must be integer");
    expect(contractErrors({ ...STATUS, schema: "makefilecheck/status/2" })).toEqual(["no schema makefilecheck/status/2 in schema/"]);
    expect(contractErrors({ apps: [] })).toEqual(["the document names no schema (no string field `schema`)"]);
  });

  it("say that a writing command's document has changed", () => {
    expect(contractErrors({ schema: "makefilecheck/use/1", apps: [{ app: "exim4", mode: "local", changed: true }] })).toEqual(["/ must have required property 'changed'"]);
    expect(contractErrors({ schema: "makefilecheck/use/1", changed: true, apps: [{ app: "exim4", mode: "local" }] })).toEqual(["/apps/0 must have required property 'changed'"]);
  });
});
