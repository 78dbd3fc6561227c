#!/bin/sh
# Runs every measurement quoted in BENCHMARKS.md, in order, and prints its Markdown
# blocks (each names its own command, the machine and the load average).
# Usage: benches/run-all.sh [PYTHON_WITH_AIORTC]   — from the repository root, as root
# (10,000 relay clients bind 127.1.x.y); needs ffmpeg and chromium. CI does not run it.
set -eu
cargo build --release --bin hearth --bin hearth-bench >&2
B="${CARGO_TARGET_DIR:-target}/release/hearth-bench"
PY="${1:-python3}"
echo "## Run of $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
$B latency --size 640x480
$B latency --size 1280x720
$B first-frame --runs 30
$B first-frame --runs 30 --busy
$B first-frame --client aiortc --runs 20 --python "$PY"
cargo bench --bench chromium_first_frame 2>/dev/null | grep '^Chromium' | sed 's/^/- /'
cargo bench --bench chromium_glass_to_glass 2>/dev/null | grep -E '^(Chromium|of which)' | sed 's/^/- /'
cargo bench --bench chromium_lossy_links 2>/dev/null | grep '^|'
cargo bench --bench picture_latency 2>/dev/null | grep -E '^(\||Caller)'
cargo bench --bench small_screen_fps 2>/dev/null | grep -E '^(\||Caller)'
$B fanout
$B relay-connections --count 10000
$B relay-envelopes --clients 1000 --seconds 10
$B relay-envelopes --clients 1000 --seconds 10 --unlimited
$B relay-cluster --clients 300 --seconds 10 --connections 30000
$B datachannel
$B snapshot
$B snapshot --noisy
$B privacy
$B encode --size 640x480
$B encode --size 1280x720
