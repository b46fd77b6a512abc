/** This makefilecheck's version, package.json's: the build writes it in. */
declare const MAKEFILECHECK_VERSION: string | undefined;

/** The version `--version` prints ("dev" when the sources run unbuilt, as under the tests). */
export const VERSION: string = typeof MAKEFILECHECK_VERSION === "string" ? MAKEFILECHECK_VERSION : "dev";
