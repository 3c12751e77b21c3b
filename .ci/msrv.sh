#!/usr/bin/env bash
# The declared MSRV (workspace `rust-version`) must be at least what every dependency built on
# Linux declares in Cargo.lock's versions; clippy's `incompatible_msrv` lint (on in CI through
# -D warnings) checks that our own code uses no newer standard-library API. Only one toolchain
# can be installed here, so an older rustc is not run (docs/architecture.md, "CI habits").
set -euo pipefail
cd "$(dirname "$0")/.."
cargo metadata --format-version 1 --locked --filter-platform x86_64-unknown-linux-gnu |
python3 -c '
import json, sys
meta = json.load(sys.stdin)
def version(text):
    return tuple(int(part) for part in (text.split(".") + ["0", "0"])[:3])
built = {node["id"] for node in meta["resolve"]["nodes"]}
ours = {m for m in meta["workspace_members"]}
declared = None
for p in meta["packages"]:
    if p["id"] in ours:
        if not p.get("rust_version"):
            sys.exit(f"msrv: {p['"'"'name'"'"']} does not declare rust-version (add rust-version.workspace = true)")
        declared = version(p["rust_version"]) if declared is None else min(declared, version(p["rust_version"]))
need = max(((version(p["rust_version"]), p["name"], p["version"]) for p in meta["packages"]
            if p["id"] in built and p["id"] not in ours and p.get("rust_version")), default=((0, 0, 0), "", ""))
if need[0] > declared:
    sys.exit("msrv: rust-version %s is too old: %s %s needs %s" % (".".join(map(str, declared)), need[1], need[2], ".".join(map(str, need[0]))))
print("msrv: rust-version %s covers every dependency (highest: %s %s needs %s)" % (".".join(map(str, declared)), need[1], need[2], ".".join(map(str, need[0]))))
'
