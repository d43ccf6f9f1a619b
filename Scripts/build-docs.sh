#!/usr/bin/env bash
# Builds the DocC documentation of the library: the MLPKit catalog (Sources/MLPKit/MLPKit.docc) and the symbol docs
# of every Swift module `import MLPKit` brings, combined into one archive (swift-docc-plugin's combined
# documentation), with every warning an error: a symbol or article link that does not resolve fails the build.
#
# The modules are read from Package.swift (the MLPKit product's Swift targets and their Swift dependencies), so a
# module split needs no change here. A link to a symbol of another module is written in code voice (`Backend`),
# since each module's docs are checked on their own. Extra arguments go to `generate-documentation`.
#
# Usage: bash Scripts/build-docs.sh [--output-path DIR] [...]
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(swift package describe --type json | python3 -c '
import json, sys
package = json.load(sys.stdin)
targets = {t["name"]: t for t in package["targets"]}
product = next(p for p in package["products"] if p["name"] == "MLPKit")
seen, queue = [], list(product["targets"])
while queue:
    name = queue.pop(0)
    target = targets.get(name)
    if name in seen or target is None or target.get("module_type") != "SwiftTarget":
        continue
    seen.append(name)
    queue += target.get("target_dependencies") or []
print(" ".join(f"--target {name}" for name in seen))
')
echo "Documenting: ${targets//--target /}"
# shellcheck disable=SC2086
swift package generate-documentation --enable-experimental-combined-documentation $targets --warnings-as-errors "$@"
