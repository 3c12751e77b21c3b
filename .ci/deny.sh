#!/usr/bin/env bash
# Dependency audit with cargo-deny and deny.toml: licences, banned and duplicate versions,
# sources, and RustSec advisories. The advisory database is fetched from GitHub; where the
# machine cannot reach it (this workplace reaches only the package registries), the run says so
# loudly and checks the rest, rather than skipping in silence (docs/architecture.md, "CI habits").
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny --locked check --disable-fetch advisories bans licenses sources
else
  printf '\n!! cargo deny: the RustSec advisory database could not be fetched (no route to github.com);\n!! advisories were NOT checked on this machine. Licences, bans and sources are checked below.\n\n' >&2
  cargo deny --locked check bans licenses sources
fi
