# Every shell example of README.md runs as written (scripts/readme-examples: each block in a scratch copy of the
# repository with the gateway under test as .build/release/execbridge, port 8080 replaced by a free one; blocks
# marked `<!-- readme-examples: skip REASON -->` are reported as SKIP). One cell per block: readme-LINE.
# Gateway mode only.

in_mode gateway || return 0
needs readme cmd:curl cmd:kubectl cmd:nghttp cmd:make || return 0

# --only goes to the script, which names the blocks (nothing runs when no block name matches).
run_cmd readme-examples "" python3 "$COMPAT_DIR/../scripts/readme-examples" --gateway "$GATEWAY" --timeout 120 \
    ${ONLY:+--only "$ONLY"}
readme_seen=0
while IFS= read -r readme_line; do
    case "$readme_line" in
    "PASS "*) pass_case "${readme_line#PASS }"; readme_seen=1 ;;
    "SKIP "*) echo "$readme_line" ;;
    "FAIL "*)
        readme_name="${readme_line#FAIL }"
        fail_case "${readme_name%%:*}" "${readme_name#*: } (full output: $OUT)"
        readme_seen=1
        ;;
    esac
done <"$OUT"
if [ "$readme_seen" = 0 ] && { [ -z "$ONLY" ] || [ "$RC" != 0 ]; }; then
    fail_case readme-examples "scripts/readme-examples ran no block (exit $RC): $(brief "$ERR")"
fi
