# Unmodified kubectl, and `execbridge exec` on every --protocol, against the gateway (local backend, no
# inventory: any pod exists with one container "app"). Sourced by run.sh in --gateway mode; also runs on its own:
#
#   bash Compat/cases/kubectl.sh --gateway .build/debug/execbridge [--only REGEX]
#
# kubectl versions: 1.20 (Debian's kubernetes-client, unpacked into Compat/.work/kubectl-1.20 with apt-get
# download + dpkg-deb, so it never replaces /usr/bin/kubectl), /usr/bin/kubectl when it is a real kubectl, and
# every versioned kubectl.1.NN that the Google Cloud SDK ships (its /usr/bin/kubectl is a dispatcher that picks
# one by the server's /version). kubectl 1.30+ tries WebSocket first and falls back to SPDY on any non-101.
# Cells: kubectl-VER-{echo,exit-3,stdin-sha256,stderr,tty-resize,not-found}, cli-PROTO-{echo,exit-3,stdin-sha256,
# stderr,tty-resize,refused}, cli-tty-restore, cli-tty-restore-sigterm.

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    # Standalone: the little of run.sh this file needs.
    set -uo pipefail
    source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
    standalone_case kubectl.sh "$@"
    CASE_DIR="$WORK_DIR/cases/kubectl"
    rm -rf "$CASE_DIR"
    mkdir -p "$CASE_DIR"
    PORT="$(free_port)"
    start_bg "$CASE_DIR/gateway.log" "$GATEWAY" serve --listen "127.0.0.1:$PORT"
    wait_port "$PORT" "$BG_PID" || { fail_case start-gateway "$(tail -n 3 "$CASE_DIR/gateway.log" | tr '\n' ' ')"; summary; exit 1; }
    BASE="http://127.0.0.1:$PORT"
    DATA="$WORK_DIR/data"
    mkdir -p "$DATA"
    BIG="$DATA/stdin-10MiB.bin"
    [ "$(stat -c %s "$BIG" 2>/dev/null || echo 0)" = 10485760 ] || head -c 10485760 /dev/urandom >"$BIG"
    BIG_SHA="$(sha256sum <"$BIG" | cut -d' ' -f1)"
    KUBECTL_STANDALONE=1
fi

kubectl_cases_main() {
    if [ "${MODE:-}" != gateway ]; then
        skip_case kubectl "kubectl needs the gateway's discovery (--gateway mode)"
        return 0
    fi
    local KDIR="$CASE_DIR/kubectl"
    mkdir -p "$KDIR"
    : >"$KDIR/kubeconfig"
    write_ptyrun "$KDIR/ptyrun.py"
    # A second gateway with an inventory, for refusals (unknown pod: 404).
    printf 'pods:\n  - namespace: default\n    name: demo\n    containers:\n      - name: app\n' >"$KDIR/inventory.yaml"
    INV_BASE=""
    local iport
    iport="$(free_port)"
    start_bg "$KDIR/gateway-inventory.log" "$GATEWAY" serve --listen "127.0.0.1:$iport" --inventory "$KDIR/inventory.yaml"
    wait_port "$iport" "$BG_PID" && INV_BASE="http://127.0.0.1:$iport"

    # --- which kubectl binaries -----------------------------------------------------------------------------
    kubectl_binaries "$KDIR"
    local -a names=("${KUBECTL_NAMES[@]}") paths=("${KUBECTL_PATHS[@]}")
    [ -n "$KUBECTL_120" ] || skip_case kubectl-1.20 "$KUBECTL_120_WHY"
    [ "${#paths[@]}" -gt 0 ] || skip_case kubectl "no kubectl on this machine"
    local i
    for i in "${!paths[@]}"; do
        kubectl_cells "kubectl-${names[$i]}" "${paths[$i]}"
    done

    # --- through a remote backend: kubectl -> ExecBridge --backend spdy:// and h2c:// -> ExecBridge (local) ---------
    # Discovery and the pod lookup pass through to the upstream gateway; exec is translated. Only our own
    # gateway serves discovery as an upstream (a bare kubelet-style server such as the Go spdystream one
    # does not: kubectl needs an apiserver-like upstream).
    local scheme rport saved="$BASE"
    if [ "${#paths[@]}" -gt 0 ]; then
        for scheme in spdy h2c ws; do
            rport="$(free_port)"
            start_bg "$KDIR/gateway-via-$scheme.log" "$GATEWAY" serve --listen "127.0.0.1:$rport" \
                --backend "$scheme://127.0.0.1:${saved##*:}"
            if wait_port "$rport" "$BG_PID"; then
                BASE="http://127.0.0.1:$rport"
                kubectl_cells "kubectl-${names[0]}-via-$scheme-upstream" "${paths[0]}"
                [ "${#paths[@]}" -gt 1 ] && kubectl_cells "kubectl-${names[${#paths[@]}-1]}-via-$scheme-upstream" "${paths[${#paths[@]}-1]}"
                BASE="$saved"
            else
                fail_case "kubectl-via-$scheme-upstream" "the forwarding gateway did not start: $(tail -n 2 "$KDIR/gateway-via-$scheme.log" | tr '\n' ' ')"
            fi
        done
    fi

    # --- execbridge exec --------------------------------------------------------------------------------------
    local proto
    for proto in spdy h2 h2c-upgrade ws; do
        cli_cells "$proto"
    done
    cli_restore_cells
}

# kubectl_run NAME STDIN KUBECTL ARGS...: one kubectl run with its own discovery cache.
kubectl_run() {
    local name="$1" input="$2" bin="$3"
    shift 3
    run_cmd "$name" "$input" env KUBECONFIG="$CASE_DIR/kubectl/kubeconfig" "$bin" \
        --cache-dir "$CASE_DIR/kubectl/cache-$(basename "$bin")" --server "$BASE" "$@"
}

kubectl_cells() {
    local cell="$1" bin="$2"
    if wanted "$cell-echo"; then
        kubectl_run "$cell-echo" "" "$bin" exec demo -c app -- echo hello
        check "$cell-echo" 'expect_rc 0' 'expect_out hello'
    fi
    if wanted "$cell-exit-3"; then
        kubectl_run "$cell-exit-3" "" "$bin" exec demo -- sh -c 'echo before; exit 3'
        check "$cell-exit-3" 'expect_rc 3' 'expect_out before' 'expect_err_contains "command terminated with exit code 3"'
    fi
    if wanted "$cell-stdin-sha256"; then
        kubectl_run "$cell-stdin-sha256" "$BIG" "$bin" exec -i demo -c app -- sha256sum
        check "$cell-stdin-sha256" 'expect_rc 0' "expect_out '$BIG_SHA  -'"
    fi
    if wanted "$cell-stderr"; then
        kubectl_run "$cell-stderr" "" "$bin" exec demo -c app -- sh -c 'echo out; echo err >&2; echo out2'
        check "$cell-stderr" 'expect_rc 0' 'expect_out "out
out2"' 'expect_err err'
    fi
    if wanted "$cell-not-found"; then
        kubectl_run "$cell-not-found" "" "$bin" exec no-such-pod.invalid_ -- true
        check "$cell-not-found" 'expect_rc 1' 'expect_err_contains "not found"'
    fi
    if wanted "$cell-tty-resize"; then
        if [ "$TTY_CASES" = 1 ]; then
            run_cmd "$cell-tty-resize" "" python3 "$CASE_DIR/kubectl/ptyrun.py" --size 40x100 --resize 50x120 --marker ready -- \
                env KUBECONFIG="$CASE_DIR/kubectl/kubeconfig" "$bin" --cache-dir "$CASE_DIR/kubectl/cache-$(basename "$bin")" \
                --server "$BASE" exec -it demo -c app -- sh -c "$(tty_script)"
            check "$cell-tty-resize" 'expect_rc 4' 'expect_out_contains "first 40 100"' 'expect_out_contains "then 50 120"' \
                'expect_out_contains "on a tty"'
        else
            skip_case "$cell-tty-resize" "--no-tty"
        fi
    fi
}

# The remote side of a tty cell: poll (bounded) for the first size (the first resize may land just after the
# command starts), say "ready" (the driver then resizes the local pty: SIGWINCH), poll for the new size.
tty_script() {
    printf '%s' 'tty >/dev/null && echo "on a tty"; i=0; while [ "$(stty size)" != "40 100" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; echo "first $(stty size)"; echo ready; i=0; while [ "$(stty size)" = "40 100" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; echo "then $(stty size)"; exit 4'
}

cli_url() {
    printf '%s' "$BASE/api/v1/namespaces/default/pods/demo/exec?container=app"
}

cli_cells() {
    local proto="$1" cell="cli-$1"
    if [ "$proto" = ws ]; then
        run_cmd "$cell-probe" "" "$GATEWAY" exec --protocol ws "$(cli_url)" -- true
        if grep -q "not part of this build" "$ERR"; then
            skip_case "$cell" "this execbridge has no WebSocket client"
            return 0
        fi
    fi
    if wanted "$cell-echo"; then
        run_cmd "$cell-echo" "" "$GATEWAY" exec --protocol "$proto" "$(cli_url)" -- echo hello
        check "$cell-echo" 'expect_rc 0' 'expect_out hello' 'expect_err ""'
    fi
    if wanted "$cell-exit-3"; then
        run_cmd "$cell-exit-3" "" "$GATEWAY" exec --protocol "$proto" "$(cli_url)" -- sh -c 'exit 3'
        check "$cell-exit-3" 'expect_rc 3' 'expect_out ""'
    fi
    if wanted "$cell-stdin-sha256"; then
        run_cmd "$cell-stdin-sha256" "$BIG" "$GATEWAY" exec --protocol "$proto" -i "$(cli_url)" -- sha256sum
        check "$cell-stdin-sha256" 'expect_rc 0' "expect_out '$BIG_SHA  -'"
    fi
    if wanted "$cell-stderr"; then
        run_cmd "$cell-stderr" "" "$GATEWAY" exec --protocol "$proto" "$(cli_url)" -- sh -c 'echo out; echo err >&2'
        check "$cell-stderr" 'expect_rc 0' 'expect_out out' 'expect_err err'
    fi
    if wanted "$cell-refused"; then
        # A pod the inventory does not list: 404 before any upgrade.
        if [ -n "$INV_BASE" ]; then
            run_cmd "$cell-refused" "" "$GATEWAY" exec --protocol "$proto" "$INV_BASE/api/v1/namespaces/default/pods/nope/exec" -- true
            check "$cell-refused" 'expect_rc 1' 'expect_err "execbridge: upgrade refused: 404 NotFound: pods \"nope\" not found"'
        else
            skip_case "$cell-refused" "the gateway with an inventory did not start"
        fi
    fi
    if wanted "$cell-tty-resize"; then
        if [ "$TTY_CASES" = 1 ]; then
            run_cmd "$cell-tty-resize" "" python3 "$CASE_DIR/kubectl/ptyrun.py" --size 40x100 --resize 50x120 --marker ready -- \
                "$GATEWAY" exec --protocol "$proto" -i -t "$(cli_url)" -- sh -c "$(tty_script)"
            check "$cell-tty-resize" 'expect_rc 4' 'expect_out_contains "first 40 100"' 'expect_out_contains "then 50 120"'
        else
            skip_case "$cell-tty-resize" "--no-tty"
        fi
    fi
}

# The local terminal's mode is the same before and after `execbridge exec -it`: after a normal end, and after
# SIGTERM mid-session (stty -g compared; run on a pty of its own).
cli_restore_cells() {
    [ "$TTY_CASES" = 1 ] || { skip_case cli-tty-restore "--no-tty"; return 0; }
    local url
    url="$(cli_url)"
    if wanted cli-tty-restore; then
        run_cmd cli-tty-restore "" python3 "$CASE_DIR/kubectl/ptyrun.py" --size 24x80 -- sh -c \
            'stty -g; "$0" exec -it "$1" -- sh -c "exit 2"; echo "rc=$?"; stty -g' "$GATEWAY" "$url"
        check cli-tty-restore 'expect_rc 0' 'expect_out_contains "rc=2"' 'expect_same_stty'
    fi
    if wanted cli-tty-restore-sigterm; then
        run_cmd cli-tty-restore-sigterm "" python3 "$CASE_DIR/kubectl/ptyrun.py" --size 24x80 -- sh -c \
            'stty -g; "$0" exec -it "$1" -- sleep 30 </dev/tty & pid=$!; sleep 1; kill -TERM $pid; wait $pid; echo "rc=$?"; stty -g' \
            "$GATEWAY" "$url"
        check cli-tty-restore-sigterm 'expect_out_contains "rc=143"' 'expect_same_stty'
    fi
}

# The first and the last `stty -g` line of the run agree.
expect_same_stty() {
    local before after
    before="$(grep -E '^[0-9a-f]+(:[0-9a-f]+)+$' "$OUT" | head -n 1)"
    after="$(grep -E '^[0-9a-f]+(:[0-9a-f]+)+$' "$OUT" | tail -n 1)"
    [ -n "$before" ] && [ "$before" = "$after" ] && [ "$(grep -cE '^[0-9a-f]+(:[0-9a-f]+)+$' "$OUT")" = 2 ] && return 0
    WHY="terminal mode before '$before', after '$after'"
    return 1
}

# write_ptyrun FILE: a small pty driver. Runs a command on a new pty of --size ROWSxCOLS, copies its output to
# stdout (CR removed), and when --marker first appears in the output, resizes the pty to --resize (the kernel
# sends SIGWINCH to the command). Exits with the command's status; bounded by --timeout.
write_ptyrun() {
    cat >"$1" <<'PY'
import argparse, fcntl, os, pty, select, signal, struct, sys, termios, time

ap = argparse.ArgumentParser()
ap.add_argument("--size", default="24x80")
ap.add_argument("--resize")
ap.add_argument("--marker")
ap.add_argument("--timeout", type=float, default=50)
ap.add_argument("cmd", nargs=argparse.REMAINDER)
a = ap.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd

def setsize(fd, text):
    rows, cols = (int(x) for x in text.split("x"))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

pid, fd = pty.fork()
if pid == 0:
    setsize(0, a.size)
    os.execvp(cmd[0], cmd)
setsize(fd, a.size)
out = b""
resized = False
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
        if a.resize and a.marker and not resized and a.marker.encode() in out:
            resized = True
            setsize(fd, a.resize)
else:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.replace(b"\r", b"").decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
PY
}

kubectl_cases_main
if [ "${KUBECTL_STANDALONE:-0}" = 1 ]; then
    summary
fi
