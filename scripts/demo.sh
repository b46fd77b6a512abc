#!/usr/bin/env bash
# The main job on the built-in sample Sympl tree, under a temp --root:
# install the email changes and build them into the config, play a Sympl
# upgrade that damages the setup, then repair, sync and rebuild, so that
# the changes are in force again. Nothing outside the temp directory is touched.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(mktemp -d "${TMPDIR:-/tmp}/makefilecheck-demo.XXXXXX")
sample() { node --import tsx scripts/sample-tree.ts "$root" "$@"; }
step() {
  printf '\n\033[1m$ makefilecheck %s\033[0m\n' "$*"
  ./bin/makefilecheck --root "$root" "$@"
  printf '(exit %s)\n' "$?"
}

sample
echo "A vanilla Sympl /etc/exim4 and /etc/dovecot are now under $root"
step status
step install --dry-run
step install --make
step changes -a exim4
step status
echo; echo "== A Sympl upgrade arrives: a changed and a new upstream snippet, and a new exim4 Makefile =="
sample --upgrade
step status
step drift
step repair
step sync --make
step drift
step check
step status
echo; echo "The demo tree is left in $root (remove it with: rm -rf $root)"
