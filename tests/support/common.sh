# Sourced by the shell tests that drive the amod binary: AMOD, FIX and SRC from the
# environment ctest sets (defaults for a run from the source tree), a scratch directory T
# removed on exit, failure counting (fail, ok, fails), expect_error and finish.
AMOD=${AMOD_BIN:-build/amod}
FIX=${AMOD_FIXTURES:-tests/fixtures}
SRC=${AMOD_SRC:-.}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL $*"; fails=$((fails+1)); }
ok() { echo "ok   $*"; }

# expect_error NAME PATTERN -- command...: the command fails (a non-zero exit, not a signal)
# with exactly one line on stderr, matching the extended regular expression PATTERN. When
# NO_OUTPUT names a file, it is removed first and neither it nor NO_OUTPUT.* (a temporary
# of an atomic write) may be there afterwards.
expect_error() {
  local name=$1 pattern=$2 rc msg
  shift 3
  [ -z "${NO_OUTPUT:-}" ] || rm -f "$NO_OUTPUT"
  "$@" >"$T/stdout" 2>"$T/stderr"
  rc=$?
  msg=$(cat "$T/stderr")
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then fail "$name: exit status $rc ($msg)"
  elif ! grep -qE -- "$pattern" "$T/stderr"; then fail "$name: message '$msg' does not match '$pattern'"
  elif [ "$(wc -l <"$T/stderr")" -ne 1 ]; then fail "$name: expected one line, got: $msg"
  elif [ -n "${NO_OUTPUT:-}" ] && { [ -e "$NO_OUTPUT" ] || ls "$NO_OUTPUT".* >/dev/null 2>&1; }; then
    fail "$name: an output file was left behind"
  else ok "$name: $msg"
  fi
}

# finish NAME: the summary line, as the script's last command (its status is the result).
finish() {
  if [ $fails -eq 0 ]; then echo "$1: all passed"; else echo "$1: $fails failure(s)"; fi
  [ $fails -eq 0 ]
}
