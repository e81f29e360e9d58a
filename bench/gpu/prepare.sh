#!/usr/bin/env bash
# Run here (with the .NET SDK) before a GPU run: publishes `lors` self-contained for linux-x64, packs it into the
# ignored folder .device/ (under the 64 MiB that travels) with the PyTorch anchor script from ../shared/anchors.
# Then, on the GPU machine, from the repository root with .device carried: bash bench/gpu/run.sh (or run-lors.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .device && mkdir -p .device
dotnet publish src/Lors.Cli -c Release -r linux-x64 --self-contained -o .device/lors
# The embedded model and text travel with the repository's tree already: leave the tool's copies out of the archive.
rm -rf .device/lors/models .device/lors/data
(cd .device && tar -cJf lors.tar.xz lors && rm -rf lors)
cp ../shared/anchors/torch_lors_anchor.py .device/ 2>/dev/null || echo "note: ../shared/anchors/torch_lors_anchor.py not found; the anchor step will be skipped"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || grep -q '^/.device/' .gitignore || echo '/.device/' >> .git/info/exclude
du -sh .device
