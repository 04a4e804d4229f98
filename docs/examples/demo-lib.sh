# Sourced by the demo parts: `run CMD ARGS...` prints the exact command line (quoted only where
# a shell needs it, so it can be pasted), then runs it.
run() {
  local arg quote="'\\''"
  printf '$'
  for arg in "$@"; do
    case $arg in
      '' | *[!A-Za-z0-9_./:=,@%+-]*) printf " '%s'" "${arg//\'/$quote}" ;;
      *) printf ' %s' "$arg" ;;
    esac
  done
  printf '\n'
  "$@"
}
