#!/usr/bin/env bash
# Tests packaging/import-boot-config (the hearth.service ExecStartPre= step
# that adopts a hearth.toml preseeded on the boot partition) in a scratch dir.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail
script="$(cd "$(dirname "$0")/.." && pwd)/import-boot-config"
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}

# Each case gets fresh boot/firmware, boot and etc/hearth directories.
setup() {
  root=$(mktemp -d)
  mkdir -p "$root/boot/firmware" "$root/etc/hearth"
  export HEARTH_BOOT_CONFIGS="$root/boot/firmware/hearth.toml $root/boot/hearth.toml"
  export HEARTH_CONFIG_TARGET="$root/etc/hearth/hearth.toml"
}
run() { "$script" >"$root/out" 2>&1; }

# 1. Nothing preseeded: the config is untouched and the step succeeds.
setup
echo 'name = "Kitchen"' >"$HEARTH_CONFIG_TARGET"
if run && grep -qx 'name = "Kitchen"' "$HEARTH_CONFIG_TARGET" && [ ! -s "$root/out" ]; then ok; else fail "no preseed changed something: $(cat "$root/out")"; fi

# 2. A preseeded file replaces the config, the old one is kept, the boot copy goes.
setup
echo 'name = "Old"' >"$HEARTH_CONFIG_TARGET"
echo 'name = "Grandma"' >"$root/boot/firmware/hearth.toml"
if run && grep -qx 'name = "Grandma"' "$HEARTH_CONFIG_TARGET" &&
  grep -qx 'name = "Old"' "$HEARTH_CONFIG_TARGET.bak" &&
  [ ! -e "$root/boot/firmware/hearth.toml" ] && grep -q adopted "$root/out"; then ok; else fail "preseed not adopted: $(cat "$root/out")"; fi

# 3. The adopted file is not world-readable, and no temp file is left behind.
mode=$(stat -c %a "$HEARTH_CONFIG_TARGET")
leftovers=$(find "$root/etc/hearth" -name '.hearth.toml.*' | wc -l)
if { [ "$mode" = 640 ] || [ "$mode" = 644 ]; } && [ "$leftovers" -eq 0 ]; then ok; else fail "mode $mode, $leftovers temp files"; fi

# 4. A second start does nothing: later local edits survive.
echo 'name = "Edited later"' >"$HEARTH_CONFIG_TARGET"
if run && grep -qx 'name = "Edited later"' "$HEARTH_CONFIG_TARGET"; then ok; else fail "second start overwrote local edits"; fi

# 5. Older images: /boot/hearth.toml, and /etc/hearth created if missing.
setup
rmdir "$root/etc/hearth"
echo 'name = "Attic"' >"$root/boot/hearth.toml"
if run && grep -qx 'name = "Attic"' "$HEARTH_CONFIG_TARGET" && [ ! -e "$HEARTH_CONFIG_TARGET.bak" ] &&
  [ ! -e "$root/boot/hearth.toml" ]; then ok; else fail "/boot/hearth.toml not adopted: $(cat "$root/out")"; fi

# 6. Identical content: nothing rewritten, no .bak, boot copy still removed.
setup
echo 'name = "Same"' >"$HEARTH_CONFIG_TARGET"
cp "$HEARTH_CONFIG_TARGET" "$root/boot/firmware/hearth.toml"
if run && [ ! -e "$HEARTH_CONFIG_TARGET.bak" ] && [ ! -e "$root/boot/firmware/hearth.toml" ]; then ok; else fail "identical preseed mishandled: $(cat "$root/out")"; fi

echo "import-boot-config: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
