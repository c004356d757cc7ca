#!/usr/bin/env bash
# Regenerates the committed fallback bindings (src/bindings.rs) from this system's
# libsasl2 headers. Needs libclang (Debian: libclang-dev). The build script writes
# $OUT_DIR/bindings.rs with the one bindgen configuration; this copies it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
out_dir=$(cargo build -p sasl-sys --message-format=json 2>/dev/null |
  /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "build-script-executed" and m["package_id"].find("sasl-sys") >= 0:
        print(m["out_dir"])
')
[ -n "$out_dir" ] || { echo "regen-bindings: could not find the build output" >&2; exit 1; }
grep -q 'SASL_SYS_BINDINGS_SOURCE=bindgen' "$out_dir/../output" ||
  { echo "regen-bindings: the build did not run bindgen (is libclang installed?)" >&2; exit 1; }
cp "$out_dir/bindings.rs" src/bindings.rs
echo "regen-bindings: wrote sasl-sys/src/bindings.rs ($(wc -l < src/bindings.rs) lines)"
