/**
 * `npm run package`: makefilecheck_VERSION_all.deb, built with dpkg-deb from
 * the bundle `npm run build` made (no network). The man page's command and
 * option sections and the bash completion are worded from the command
 * table (src/args.ts), the systemd units from the trigger texts
 * (src/upgrade/hook-files.ts), so neither can drift from the program.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { COMMANDS, GLOBAL_OPTIONS } from "../src/args.js";
import type { CommandSpec, OptionSpec } from "../src/args.js";
import { packagedUnits } from "../src/upgrade/hook-files.js";

const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { version: string; license: string };
const VERSION = pkg.version;
const BIN = "/usr/bin/makefilecheck";
const SHARE = "/usr/share/makefilecheck";
const DOC = "/usr/share/doc/makefilecheck";
const STAGE = "build/deb";
const OUT = `makefilecheck_${VERSION}_all.deb`;

/** Fails the build with one line. */
function fail(message: string): never {
  process.stderr.write(`package: ${message}\n`);
  process.exit(1);
}

// ---- the man page -------------------------------------------------------

/** Text as roff: escapes, dashes, and `code` in bold. */
function roff(text: string): string {
  return text
    .replace(/\\/g, "\\e")
    .replace(/-/g, "\\-")
    .replace(/–/g, "\\(en")
    .replace(/—/g, "\\(em")
    .replace(/`([^`]+)`/g, "\\fB$1\\fR")
    .replace(/^([.'])/gm, "\\&$1");
}

/** An option as the man page names it: `\fB\-a\fR, \fB\-\-app\fR \fIAPP\fR`. */
function optionTag(name: string, o: OptionSpec): string {
  const long = o.type === "flag" ? (o.shown ?? `--${name}`) : `--${name}`;
  const value = o.type === "value" ? ` \\fI${o.placeholder}\\fR` : "";
  return `${o.short ? `\\fB\\-${o.short}\\fR, ` : ""}\\fB${roff(long)}\\fR${value}`;
}

function optionItems(options: Record<string, OptionSpec>): string {
  return Object.entries(options)
    .map(([name, o]) => `.TP\n${optionTag(name, o)}\n${roff(o.describe)}`)
    .join("\n");
}

function manCommands(): string {
  return Object.entries(COMMANDS as Record<string, CommandSpec>)
    .map(([name, c]) => {
      const p = c.positional;
      const usage = p ? ` ${p.required ? `\\fI${p.placeholder}\\fR` : `[\\fI${p.placeholder}\\fR]`}` : "";
      const positional = p ? `\n.RS\n.TP\n.I ${p.placeholder}\n${roff(p.describe)}\n.RE` : "";
      const options = Object.keys(c.options).length ? `\n.RS\n${optionItems(c.options)}\n.RE` : "";
      return `.TP\n\\fB${name}\\fR${usage}\n${roff(c.summary)}.${positional}${options}`;
    })
    .join("\n");
}

function manExamples(): string {
  return Object.values(COMMANDS as Record<string, CommandSpec>)
    .flatMap((c) => c.examples)
    .map(([line, what]) => `.TP\n.B ${roff(line)}\n${roff(what)}.`)
    .join("\n");
}

function manPage(): string {
  const template = readFileSync("packaging/makefilecheck.8.in", "utf8");
  return template
    .replace("@VERSION@", VERSION)
    .replace("@COMMANDS@", manCommands())
    .replace("@OPTIONS@", optionItems(GLOBAL_OPTIONS))
    .replace("@EXAMPLES@", manExamples());
}

// ---- bash completion ----------------------------------------------------

/** Words of one option for compgen: `--name`, `-s`, `--no-name`. */
function optionWords(name: string, o: OptionSpec): string[] {
  if (o.type === "flag" && o.negatable) return [`--no-${name}`];
  return [`--${name}`, ...(o.short ? [`-${o.short}`] : [])];
}

function completion(): string {
  const commands = COMMANDS as Record<string, CommandSpec>;
  const all = [["", GLOBAL_OPTIONS] as const, ...Object.values(commands).map((c) => ["", c.options] as const)].flatMap(([, o]) => Object.entries(o));
  const takesValue = [...new Set(all.filter(([, o]) => o.type === "value").flatMap(([n, o]) => optionWords(n, o)))];
  const choices = new Map<string, string>();
  for (const [n, o] of all) if (o.type === "value" && o.choices) for (const w of optionWords(n, o)) choices.set(w, o.choices.join(" "));
  const ownCases = Object.entries(commands)
    .map(([name, c]) => `        ${name}) own="${Object.entries(c.options).flatMap(([n, o]) => optionWords(n, o)).join(" ")}" ;;`)
    .join("\n");
  const positionalCases = Object.entries(commands)
    .filter(([, c]) => c.positional?.choices)
    .map(([name, c]) => `        ${name}) COMPREPLY=($(compgen -W "${c.positional!.choices!.join(" ")}" -- "$cur")); return ;;`)
    .join("\n");
  const choiceCases = [...choices]
    .filter(([w]) => w !== "--only")
    .map(([w, list]) => `        ${w}) COMPREPLY=($(compgen -W "${list}" -- "$cur")); return ;;`)
    .join("\n");
  const hooksOnly = commands.hooks?.options.only;
  const ids = Array.from({ length: 14 }, (_, i) => `ch${i + 1}`).join(" ");
  return `# bash completion for makefilecheck(8), made from its command table
_makefilecheck() {
    local cur prev words cword
    _init_completion || return

    # The command is the first word that is neither an option nor an option's value.
    local command="" i
    for ((i = 1; i < cword; i++)); do
        case \${words[i]} in
            ${takesValue.join(" | ")}) ((i++)) ;;
            -*) ;;
            *) command=\${words[i]}; break ;;
        esac
    done

    case $prev in
        --root) _filedir -d; return ;;
        --config | --bin) _filedir; return ;;
${choiceCases}
        --only)
            ${hooksOnly?.type === "value" && hooksOnly.choices ? `if [[ $command == hooks ]]; then COMPREPLY=($(compgen -W "${hooksOnly.choices.join(" ")}" -- "$cur")); return; fi` : ":"}
            COMPREPLY=($(compgen -W "${ids}" -- "$cur")); return ;;
        ${takesValue.filter((w) => !["--root", "--config", "--bin", "--only", ...choices.keys()].includes(w)).join(" | ")}) return ;;
    esac

    if [[ -z $command && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "${Object.keys(commands).join(" ")}" -- "$cur"))
        return
    fi
    if [[ $cur != -* && $prev == "$command" ]]; then
        case $command in
${positionalCases}
        esac
    fi
    local own=""
    case $command in
${ownCases}
    esac
    COMPREPLY=($(compgen -W "$own ${Object.entries(GLOBAL_OPTIONS).flatMap(([n, o]) => optionWords(n, o)).join(" ")}" -- "$cur"))
} &&
    complete -F _makefilecheck makefilecheck
`;
}

// ---- the package --------------------------------------------------------

/** Writes `text` at `path` under the stage, with its directories. */
function put(path: string, data: string | Buffer, mode = 0o644): void {
  const file = join(STAGE, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
  chmodSync(file, mode);
}

/** Documentation as Debian Policy (12.3) wants it in the doc directory: gzipped once it is over 4 kB. */
function putDoc(name: string, data: Buffer): void {
  if (data.length > 4096) put(`${DOC}/${name}.gz`, gzipSync(data, { level: 9 }));
  else put(`${DOC}/${name}`, data);
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

const CONTROL = `Package: makefilecheck
Version: ${VERSION}
Architecture: all
Maintainer: Seed 1014358d maintainers <maintainers@users.noreply.r-seed-1014358d.example>
Installed-Size: @SIZE@
Depends: nodejs (>= 18.19), make
Recommends: exim4-daemon-heavy, dovecot-core, sqlite3
Section: admin
Priority: optional
Description: keep Sympl's exim4 and dovecot snippet trees in step
 On a Sympl mail server, exim4 and dovecot build their configuration with
 make from snippet trees that every Sympl upgrade rewrites. makefilecheck
 keeps a second tree, sympl-local.d, for the admin's own changes: it makes
 one tree or the other the live one, puts that choice back after an
 upgrade damaged it, brings upstream changes into sympl-local.d with a
 three-way merge that keeps local edits, and installs a catalogue of email
 hardening changes, each checked by the daemon's own config test first.
 .
 The upgrade triggers (an apt hook, or the systemd path unit shipped here)
 are not enabled by the package: run "makefilecheck hooks --install".
`;

function build(): void {
  if (!existsSync("dist/makefilecheck.cjs")) fail("dist/makefilecheck.cjs is missing — run npm run build first");
  const changelog = readFileSync("packaging/debian/changelog", "utf8");
  const top = /^makefilecheck \(([^)]+)\)/.exec(changelog)?.[1];
  if (top !== VERSION) fail(`packaging/debian/changelog starts at ${top ?? "no version"}, package.json says ${VERSION} — add a changelog entry`);

  rmSync(STAGE, { recursive: true, force: true });
  // The launcher runs on Debian's node by its path, not whatever `env` finds first.
  const launcher = readFileSync("bin/makefilecheck", "utf8").replace(/^#!.*\n/, "#!/usr/bin/node\n");
  put(`${SHARE}/bin/makefilecheck`, launcher, 0o755);
  put(`${SHARE}/bin/package.json`, readFileSync("bin/package.json"));
  // The entry file, the chunks it loads on demand, and their licences.
  for (const name of readdirSync("dist")) put(`${SHARE}/dist/${name}`, readFileSync(`dist/${name}`));
  // The JSON Schemas of the --json documents (README, "The JSON documents").
  for (const name of readdirSync("schema")) put(`${SHARE}/schema/${name}`, readFileSync(`schema/${name}`));
  mkdirSync(join(STAGE, dirname(BIN)), { recursive: true });
  symlinkSync(relative(dirname(BIN), `${SHARE}/bin/makefilecheck`), join(STAGE, BIN));
  put("/usr/share/man/man8/makefilecheck.8.gz", gzipSync(manPage(), { level: 9 }));
  put("/usr/share/bash-completion/completions/makefilecheck", completion());
  for (const unit of packagedUnits(BIN)) put(unit.path, unit.text);
  put("/etc/logrotate.d/makefilecheck", readFileSync("packaging/makefilecheck.logrotate"));
  put(`${DOC}/changelog.gz`, gzipSync(changelog, { level: 9 }));
  put(`${DOC}/copyright`, copyright());
  putDoc("README.md", readFileSync("README.md"));
  putDoc("README.Debian", readFileSync("packaging/debian/README.Debian"));

  for (const script of ["postinst", "prerm", "postrm"]) put(`/DEBIAN/${script}`, readFileSync(`packaging/debian/${script}`), 0o755);
  // The dpkg file triggers on the Sympl trees and Makefiles (docs/sympl.md, "Upgrades run the job").
  put("/DEBIAN/triggers", readFileSync("packaging/debian/triggers"));
  put("/DEBIAN/conffiles", "/etc/logrotate.d/makefilecheck\n");
  const payload = files(STAGE).filter((f) => !f.startsWith(join(STAGE, "DEBIAN")));
  const sums = payload
    .filter((f) => lstatSync(f).isFile())
    .map((f) => `${createHash("md5").update(readFileSync(f)).digest("hex")}  ${relative(STAGE, f)}`)
    .sort()
    .join("\n");
  put("/DEBIAN/md5sums", `${sums}\n`);
  const kib = Math.ceil(payload.reduce((n, f) => n + lstatSync(f).size, 0) / 1024);
  put("/DEBIAN/control", CONTROL.replace("@SIZE@", String(kib)));

  rmSync(OUT, { force: true });
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", STAGE, OUT], { stdio: ["ignore", "ignore", "inherit"] });
  process.stdout.write(`${OUT}\n`);
}

/** The copyright file: ours, then the bundled packages' (Debian ships the Apache licence once, in common-licenses). */
function copyright(): string {
  const licences = readFileSync("dist/THIRD-PARTY-LICENSES", "utf8")
    .split(/^-{72}$/m)
    .map((part) => (/^\S+ \S+ \(Apache-2\.0\)$/m.test(part) ? `\n\n${part.trim().split("\n")[0]}\n\nSee /usr/share/common-licenses/Apache-2.0.\n\n` : part))
    .join("-".repeat(72));
  return `makefilecheck

Copyright: the makefilecheck maintainers
License: ${pkg.license}

 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.

The files in ${SHARE}/dist/ also hold the code of the packages below
(their full licence texts are in ${SHARE}/dist/THIRD-PARTY-LICENSES).

${licences}`;
}

build();
