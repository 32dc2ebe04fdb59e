# What a case file that runs on its own needs of run.sh (sourced by lib.sh; bash only).

# standalone_case FILE ARG...: what run.sh gives a --gateway mode case file that runs on its own: MODE, GATEWAY
# (--gateway, made absolute), ONLY (--only), TTY_CASES (--no-tty clears it), wanted, and every server this script
# started stopped on exit. FILE names the file in messages.
standalone_case() {
    local file="$1"
    shift
    MODE=gateway
    GATEWAY=""
    ONLY=""
    TTY_CASES=1
    while [ $# -gt 0 ]; do
        case "$1" in
        --gateway) GATEWAY="${2:-}"; shift ;;
        --only) ONLY="${2:-}"; shift ;;
        --no-tty) TTY_CASES=0 ;;
        *) echo "$file: unknown argument '$1'" >&2; exit 2 ;;
        esac
        shift
    done
    [ -x "$GATEWAY" ] || { echo "$file: --gateway needs the path of an executable execbridge" >&2; exit 2; }
    GATEWAY="$(cd "$(dirname "$GATEWAY")" && pwd)/$(basename "$GATEWAY")"
    wanted() { [ -z "$ONLY" ] || [[ "$1" =~ $ONLY ]]; }
    trap stop_all EXIT
    trap 'exit 130' INT TERM
}
