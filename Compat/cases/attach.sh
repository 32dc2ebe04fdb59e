# Unmodified kubectl `attach` (1.20 and the newest on this machine) to main processes of a gateway's inventory
# (docs/protocol.md "Attach"), locally and through a forwarding gateway on each upstream generation. Sourced by
# run.sh in --gateway mode; also runs on its own:
#
#   bash Compat/cases/attach.sh --gateway .build/debug/execbridge [--only REGEX] [--no-tty]
#
# Every cell attaches to a main process of its own (restartPolicy Never), which prints "ready" at start (seen by a
# late attacher from the gateway's output ring) and echoes each input line:
#   attach-VER-plain:  `kubectl attach` without -i, in the background, while `kubectl attach -i` (stdinOnce: its
#                      end of input closes the process's stdin) writes a line: both see the ring and the echo, and
#                      both end with rc 0 when the process exits.
#   attach-VER-it:     `kubectl attach -it` on a pty (40x100) to a tty process: the typed line and the terminal
#                      size reach it, its exit code 3 comes back as kubectl's.
#   attach-VER-via-SCHEME-upstream-plain: the plain cell through `serve --backend SCHEME://` (spdy, h2c, ws).
# kubectl 1.20 is Debian's kubernetes-client unpacked into Compat/.work/kubectl-1.20 (kubectl_binaries, Compat/lib-kubectl.sh).
# About 15 s in all.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
    standalone_case attach.sh "$@"
    ATTACH_STANDALONE=1
fi

attach_cases_main() {
    if [ "${MODE:-}" != gateway ]; then
        skip_case attach "attach needs the gateway (--gateway mode)"
        return 0
    fi
    # A --only that names no attach cell skips the set-up too.
    if [ -n "${ONLY:-}" ] && [[ "$ONLY" != *attach* ]]; then return 0; fi
    local ADIR="$WORK_DIR/cases/attach"
    rm -rf "$ADIR"
    mkdir -p "$ADIR"
    local CASE_DIR="$ADIR"
    : >"$ADIR/kubeconfig"
    attach_write_ptyrun "$ADIR/ptyrun.py"

    # --- kubectl 1.20 and the newest -----------------------------------------------------------------------
    local -a names=() paths=()
    kubectl_binaries "$ADIR"
    if [ -n "$KUBECTL_120" ]; then
        names+=("${KUBECTL_NAMES[0]}")
        paths+=("$KUBECTL_120")
    else
        skip_case attach-kubectl-1.20 "$KUBECTL_120_WHY"
    fi
    if [ -n "$KUBECTL_NEWEST" ] && [ "$KUBECTL_NEWEST_NAME" != "${names[0]:-}" ]; then
        names+=("$KUBECTL_NEWEST_NAME")
        paths+=("$KUBECTL_NEWEST")
    fi
    if [ "${#paths[@]}" -eq 0 ]; then
        skip_case attach "no kubectl on this machine"
        return 0
    fi

    # --- one inventory container per cell ------------------------------------------------------------------
    local -a cells=()
    local i scheme
    for i in "${!paths[@]}"; do
        cells+=("plain-$i" "it-$i")
    done
    for scheme in spdy h2c ws; do cells+=("plain-via-$scheme"); done
    {
        printf 'pods:\n  - namespace: default\n    name: talker\n    containers:\n'
        local c
        for c in "${cells[@]}"; do
            if [[ "$c" == it-* ]]; then
                printf '      - name: %s\n' "$c"
                printf "        command: [sh, -c, 'stty -echo; echo ready; read l; echo \"got:\$l\"; echo \"size \$(stty size)\"; exit 3']\n"
                printf '        tty: true\n        stdin: true\n        restartPolicy: Never\n'
            else
                printf '      - name: %s\n' "$c"
                printf "        command: [sh, -c, 'echo ready; while read l; do echo \"got:\$l\"; done; echo bye']\n"
                printf '        stdin: true\n        stdinOnce: true\n        restartPolicy: Never\n'
            fi
        done
    } >"$ADIR/inventory.yaml"
    local port
    port="$(free_port)"
    start_bg "$ADIR/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$port" --inventory "$ADIR/inventory.yaml"
    if ! wait_port "$port" "$BG_PID"; then
        fail_case attach-start-gateway "$(tail -n 3 "$ADIR/gateway.log" | tr '\n' ' ')"
        return 0
    fi
    local ABASE="http://127.0.0.1:$port"
    local -a gateways=("$BG_PID")

    for i in "${!paths[@]}"; do
        attach_plain_cell "attach-${names[$i]}-plain" "${paths[$i]}" "$ABASE" "plain-$i"
        attach_it_cell "attach-${names[$i]}-it" "${paths[$i]}" "$ABASE" "it-$i"
    done

    # Through a forwarding gateway: discovery and the pod lookup pass through, attach is translated.
    local last=$((${#paths[@]} - 1)) rport
    for scheme in spdy h2c ws; do
        wanted "attach-${names[$last]}-via-$scheme-upstream-plain" || continue
        rport="$(free_port)"
        start_bg "$ADIR/gateway-via-$scheme.log" "$GATEWAY" serve --listen "127.0.0.1:$rport" --backend "$scheme://127.0.0.1:$port"
        gateways+=("$BG_PID")
        if wait_port "$rport" "$BG_PID"; then
            attach_plain_cell "attach-${names[$last]}-via-$scheme-upstream-plain" "${paths[$last]}" \
                "http://127.0.0.1:$rport" "plain-via-$scheme"
        else
            fail_case "attach-via-$scheme-upstream" "the forwarding gateway did not start: $(tail -n 2 "$ADIR/gateway-via-$scheme.log" | tr '\n' ' ')"
        fi
    done
    # The forwarding gateways first (their pooled connections), then the one that runs the main processes.
    for ((i = ${#gateways[@]} - 1; i >= 0; i--)); do stop_pid "${gateways[$i]}"; done
}

# attach_kubectl BIN BASE ARGS...: kubectl with its own discovery cache, against BASE.
attach_kubectl() {
    local bin="$1" base="$2"
    shift 2
    env KUBECONFIG="$ADIR/kubeconfig" "$bin" --cache-dir "$ADIR/cache-$(basename "$bin")" --server "$base" "$@"
}

# A watcher without -i sees the ring ("ready"); a writer with -i sends one line and ends its input (stdinOnce:
# the process's stdin closes); the process echoes, says bye and exits 0, which ends both.
attach_plain_cell() {
    local cell="$1" bin="$2" base="$3" container="$4"
    wanted "$cell" || return 0
    local watch_out="$ADIR/$cell-watch.out" watch_err="$ADIR/$cell-watch.err" watch_pid watch_rc i
    timeout -k 5 "$CASE_TIMEOUT" env KUBECONFIG="$ADIR/kubeconfig" "$bin" --cache-dir "$ADIR/cache-$(basename "$bin")" \
        --server "$base" attach talker -c "$container" </dev/null >"$watch_out" 2>"$watch_err" &
    watch_pid=$!
    for i in $(seq 200); do
        grep -q ready "$watch_out" 2>/dev/null && break
        kill -0 "$watch_pid" 2>/dev/null || break
        sleep 0.05
    done
    printf 'hello attach\n' >"$ADIR/$cell.in"
    run_cmd "$cell" "$ADIR/$cell.in" env KUBECONFIG="$ADIR/kubeconfig" "$bin" --cache-dir "$ADIR/cache-$(basename "$bin")" \
        --server "$base" attach -i talker -c "$container"
    watch_rc=0
    wait "$watch_pid" || watch_rc=$?
    check "$cell" 'expect_rc 0' 'expect_out_contains "got:hello attach"' 'expect_out_contains bye' \
        "attach_watcher_saw $watch_rc '$watch_out' '$watch_err'"
}

attach_watcher_saw() {
    local rc="$1" out="$2" err="$3"
    if [ "$rc" -eq 0 ] && [ "$(cat "$out")" = "$(printf 'ready\ngot:hello attach\nbye')" ]; then
        return 0
    fi
    WHY="watcher (attach without -i): rc $rc, stdout '$(brief "$out")', stderr '$(brief "$err")'"
    return 1
}

attach_it_cell() {
    local cell="$1" bin="$2" base="$3" container="$4"
    wanted "$cell" || return 0
    if [ "$TTY_CASES" != 1 ]; then
        skip_case "$cell" "--no-tty"
        return 0
    fi
    run_cmd "$cell" "" python3 "$ADIR/ptyrun.py" --size 40x100 --marker ready --send $'typed line\r' -- \
        env KUBECONFIG="$ADIR/kubeconfig" "$bin" --cache-dir "$ADIR/cache-$(basename "$bin")" --server "$base" \
        attach -it talker -c "$container"
    check "$cell" 'expect_rc 3' 'expect_out_contains "got:typed line"' 'expect_out_contains "size 40 100"'
}

# attach_write_ptyrun FILE: runs a command on a new pty of --size ROWSxCOLS, copies its output to stdout (CR
# removed), and types --send once --marker appears in the output. Exits with the command's status; bounded.
attach_write_ptyrun() {
    cat >"$1" <<'PY'
import argparse, fcntl, os, pty, select, signal, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("--size", default="24x80")
ap.add_argument("--marker")
ap.add_argument("--send", default="")
ap.add_argument("--timeout", type=float, default=40)
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
rows, cols = (int(x) for x in a.size.split("x"))
size = struct.pack("HHHH", rows, cols, 0, 0)

pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, size)
    os.execvp(cmd[0], cmd)
fcntl.ioctl(fd, termios.TIOCSWINSZ, size)
out = b""
sent = False
deadline = time.time() + a.timeout
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if a.marker and not sent and a.marker.encode() in out:
            sent = True
            os.write(fd, a.send.encode())
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\r", b"").decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
PY
}

attach_cases_main
if [ "${ATTACH_STANDALONE:-0}" = 1 ]; then
    summary
fi
