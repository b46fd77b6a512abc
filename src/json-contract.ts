/**
 * The versioned JSON contract (README, "The JSON documents"): every
 * `--json` document names its schema, `makefilecheck/NAME/VERSION`, whose
 * JSON Schema ships as schema/NAME.json (in the package,
 * /usr/share/makefilecheck/schema/). What a version promises: the fields
 * its schema requires are there with that meaning and type. Fields may be
 * added under the same version; a field removed or renamed, or its meaning
 * or type changed, takes the next version. Imports nothing.
 */

/** Each document's schema version: one per command, one for an error, one for the watcher's lines. */
export const SCHEMA_VERSIONS = {
  status: 1,
  report: 1,
  use: 1,
  repair: 1,
  revert: 1,
  check: 1,
  drift: 1,
  diff: 1,
  sync: 1,
  install: 1,
  changes: 1,
  watch: 1,
  hooks: 1,
  doctor: 1,
  monitor: 1,
  error: 1,
} as const;

/** A document that has a schema. */
export type DocumentName = keyof typeof SCHEMA_VERSIONS;

/** The `schema` field of a document: `makefilecheck/NAME/VERSION`, also its schema's `$id`. */
export function schemaId(name: DocumentName): string {
  return `makefilecheck/${name}/${SCHEMA_VERSIONS[name]}`;
}
