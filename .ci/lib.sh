# Shell helpers the CI stages that test the package in a Debian root share
# (.ci/bookworm, .ci/trixie). Source it after setting `stage` (the stage's
# name, for its failure line); `inside` and `mfc` act on "$root".

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31m%s: FAILED: %s\033[0m\n' "$stage" "$*" >&2; exit 1; }

# Runs a shell command inside the root with a clean environment.
inside() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/sh -c "$1"; }

# Runs makefilecheck inside the root; prints its output and exit code.
mfc() {
  local code=0
  printf '\033[1m$ makefilecheck %s\033[0m\n' "$*"
  inside "makefilecheck $*" || code=$?
  echo "(exit $code)"
  return "$code"
}

# Expects exit code $1 from makefilecheck with the rest as arguments.
expect_exit() {
  local want=$1 got=0
  shift
  mfc "$@" || got=$?
  [ "$got" = "$want" ] || die "makefilecheck $* exited $got, expected $want"
}
