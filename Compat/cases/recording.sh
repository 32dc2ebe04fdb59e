# Session recordings (--record-dir): a gateway of its own records every session as an asciicast v2 file; each
# file is replayed with `asciinema cat` (PyPI asciinema) and compared byte for byte with what the client received.
# The audit line of each session names its file (field "recording"). Gateway mode only.
# Cells: recording-spdy-stdout-stderr, recording-h2-utf8-split, recording-ws-base64-200k, recording-file-mode,
# recording-kubectl-tty (kubectl 1.20 -it driven through a real pty, resized mid-session).

in_mode gateway || return 0
needs recording py:asciinema || return 0

rec_any=0
for rec_n in recording-spdy-stdout-stderr recording-file-mode recording-h2-utf8-split recording-ws-base64-200k \
    recording-kubectl-tty; do
    wanted "$rec_n" && rec_any=1
done
[ "$rec_any" = 1 ] || return 0

rec_dir="$CASE_DIR/recording"
rm -rf "$rec_dir"
mkdir -p "$rec_dir"
rec_sessions=0

cat >"$rec_dir/cast.py" <<'PY'
# cast.py recording AUDIT N: the "recording" of the Nth audit line (waits 10 s at most for it).
# cast.py header FILE: "WIDTHxHEIGHT USER GENERATION". cast.py codes FILE CODE: the data of every CODE event, one
# per line (JSON-quoted).
import json, sys, time
cmd = sys.argv[1]
if cmd == "recording":
    deadline = time.time() + 10
    while True:
        try:
            lines = open(sys.argv[2]).read().splitlines()
        except FileNotFoundError:
            lines = []
        if len(lines) >= int(sys.argv[3]) or time.time() > deadline:
            break
        time.sleep(0.05)
    n = int(sys.argv[3])
    print(json.loads(lines[n - 1]).get("recording", "") if len(lines) >= n else "")
elif cmd == "header":
    h = json.loads(open(sys.argv[2]).readline())
    print("%dx%d %s %s" % (h["width"], h["height"], h["execbridge"]["user"], h["execbridge"]["generation"]))
elif cmd == "codes":
    for line in open(sys.argv[2]).read().splitlines()[1:]:
        t, code, data = json.loads(line)
        if code == sys.argv[3]:
            print(json.dumps(data))
PY

rec_gw_ok=0
if start_gateway recording-gateway --record-dir "$rec_dir/casts" --audit-log "$rec_dir/audit.log"; then
    rec_gw_ok=1
    rec_base="http://127.0.0.1:$GW_PORT"
else
    fail_case recording-start "the gateway did not listen: $(tail -n 3 "$CASE_DIR/recording-gateway.log" | tr '\n' ' ')"
fi

# rec_replay NAME: after one more session, REC is its file (from the audit line) and $CASE_DIR/NAME.replay what
# `asciinema cat` prints of it.
rec_replay() {
    rec_sessions=$((rec_sessions + 1))
    REC="$("$PY" "$rec_dir/cast.py" recording "$rec_dir/audit.log" "$rec_sessions")"
    REPLAY="$CASE_DIR/$1.replay"
    : >"$REPLAY"
    [ -n "$REC" ] && "$PY" -m asciinema cat "$REC" >"$REPLAY" 2>"$CASE_DIR/$1.replay-err"
}

expect_recorded() {
    [ -n "$REC" ] && [ -f "$REC" ] && return 0
    WHY="the audit line names no recording (audit: $(tail -n 1 "$rec_dir/audit.log" | head -c 300))"
    return 1
}

# expect_replay_is FILE: the replay is byte for byte FILE.
expect_replay_is() {
    cmp -s "$REPLAY" "$1" && return 0
    WHY="replay ($(stat -c %s "$REPLAY") bytes: '$(brief "$REPLAY")') differs from $(basename "$1") ($(stat -c %s "$1") bytes: '$(brief "$1")')"
    return 1
}

rec_url() { # rec_url FLAGS ARGV...
    local u
    u="$(exec_url main "$@")"
    printf '%s' "$rec_base${u#"$BASE"}"
}

if [ "$rec_gw_ok" = 1 ]; then
    if wanted recording-spdy-stdout-stderr || wanted recording-file-mode; then
        run_cmd recording-spdy-stdout-stderr "" "$GATEWAY" exec --protocol spdy \
            "$(rec_url stdout,stderr sh -c 'printf "out1\n"; sleep 0.2; printf "err1\n" >&2; sleep 0.2; printf "out2\n"; exit 5')" --
        rec_replay recording-spdy-stdout-stderr
        printf 'out1\nerr1\nout2\n' >"$CASE_DIR/recording-spdy-stdout-stderr.want"
        check recording-spdy-stdout-stderr 'expect_rc 5' "expect_out 'out1
out2'" 'expect_err err1' expect_recorded \
            "expect_replay_is '$CASE_DIR/recording-spdy-stdout-stderr.want'"
        rec_mode="$(stat -c %a "$REC" 2>/dev/null) $(stat -c %a "$rec_dir/casts" 2>/dev/null)"
        check recording-file-mode expect_recorded \
            '[ "$rec_mode" = "600 700" ] || { WHY="file and directory modes $rec_mode, want 600 700"; false; }'
    fi
    if wanted recording-h2-utf8-split; then
        # "é" and "€" leave the command in two writes each, 0.3 s apart: two chunks on the wire.
        run_cmd recording-h2-utf8-split "" "$GATEWAY" exec --protocol h2 \
            "$(rec_url stdout sh -c 'printf "caf\303"; sleep 0.3; printf "\251 5\342\202"; sleep 0.3; printf "\254\n"')" --
        rec_replay recording-h2-utf8-split
        check recording-h2-utf8-split 'expect_rc 0' "expect_out 'café 5€'" expect_recorded "expect_replay_is '$OUT'" \
            '[ "$("$PY" "$rec_dir/cast.py" codes "$REC" o | wc -l)" -ge 2 ] || { WHY="one output event: not split"; false; }'
    fi
    if wanted recording-ws-base64-200k; then
        run_cmd recording-ws-base64-200k "" "$GATEWAY" exec --protocol ws \
            "$(rec_url stdout sh -c 'head -c 200000 /dev/urandom | base64')" --
        rec_replay recording-ws-base64-200k
        check recording-ws-base64-200k 'expect_rc 0' expect_recorded "expect_replay_is '$OUT'" \
            '[ "$(stat -c %s "$OUT")" -gt 270000 ] || { WHY="short output"; false; }'
    fi
    if wanted recording-kubectl-tty; then
        rec_kubectl="$WORK_DIR/kubectl-1.20/usr/bin/kubectl"
        if [ ! -x "$rec_kubectl" ]; then # as cases/kubectl.sh gets it: never replaces /usr/bin/kubectl
            (cd "$rec_dir" && apt-get download kubernetes-client && dpkg-deb -x kubernetes-client_*.deb "$WORK_DIR/kubectl-1.20") \
                >"$rec_dir/apt.log" 2>&1 || true
        fi
        if [ "$TTY_CASES" != 1 ]; then
            skip_case recording-kubectl-tty "--no-tty"
        elif [ ! -x "$rec_kubectl" ] || ! declare -F write_ptyrun >/dev/null || ! declare -F tty_script >/dev/null; then
            skip_case recording-kubectl-tty "needs kubectl 1.20 and the pty driver of cases/kubectl.sh (run it first)"
        else
            write_ptyrun "$rec_dir/ptyrun.py"
            : >"$rec_dir/kubeconfig"
            run_cmd recording-kubectl-tty "" python3 "$rec_dir/ptyrun.py" --size 40x100 --resize 50x120 --marker ready -- \
                env KUBECONFIG="$rec_dir/kubeconfig" "$rec_kubectl" --cache-dir "$rec_dir/kubectl-cache" \
                --server "$rec_base" exec -it demo -c app -- sh -c "$(tty_script)"
            rec_replay recording-kubectl-tty
            tr -d '\r' <"$REPLAY" >"$REPLAY.nocr"
            REPLAY="$REPLAY.nocr"
            # kubectl's own last words on the same terminal are not the session's output.
            grep -vF 'command terminated with exit code' "$OUT" >"$CASE_DIR/recording-kubectl-tty.want"
            rec_header="$("$PY" "$rec_dir/cast.py" header "$REC" 2>/dev/null)"
            rec_resizes="$("$PY" "$rec_dir/cast.py" codes "$REC" r 2>/dev/null | tr '\n' ' ')"
            check recording-kubectl-tty 'expect_rc 4' 'expect_out_contains "then 50 120"' expect_recorded \
                "expect_replay_is '$CASE_DIR/recording-kubectl-tty.want'" \
                '[ "$rec_header" = "100x40 system:anonymous SPDY/3.1" ] || { WHY="header $rec_header"; false; }' \
                '[[ "$rec_resizes" == *"\"120x50\""* ]] || { WHY="resize events: $rec_resizes"; false; }'
        fi
    fi
    stop_pid "$GW_PID"
fi
