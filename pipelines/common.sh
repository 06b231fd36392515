# Shared by the recipes in pipelines/: finds the build, the demo library and the plugin.
#
# Environment (all optional):
#   DJU_BUILD_DIR    build folder (default: build/ beside this folder)
#   DJU_DEMO_TRACKS  folder with the demo tracks and manifest.json (default: $DJU_BUILD_DIR/demo)
#   DJU_SECONDS      render this many seconds as fast as possible instead of playing live
#   DJU_OUT          write to this file instead of the speakers / the network
#   DJU_INSTALLED=1  use the installed plugin, not the one in the build folder
set -euo pipefail
DJU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DJU_BUILD_DIR=${DJU_BUILD_DIR:-$DJU_ROOT/build}
DJU_DEMO_TRACKS=${DJU_DEMO_TRACKS:-$DJU_BUILD_DIR/demo}
if [ "${DJU_INSTALLED:-0}" != 1 ] && [ -e "$DJU_BUILD_DIR/gst/libgstdjuniverse.so" ]; then
  export GST_PLUGIN_PATH_1_0="$DJU_BUILD_DIR/gst${GST_PLUGIN_PATH_1_0:+:$GST_PLUGIN_PATH_1_0}"
fi

# A demo track by id (house-124-am) or any path.
dju_track() {
  case "$1" in
    */*|*.flac|*.wav|*.ogg|*.mp3) echo "$1" ;;
    *) echo "$DJU_DEMO_TRACKS/$1.flac" ;;
  esac
}

# The manifest's BPM of a demo track file, or nothing for a track outside the library.
dju_manifest_bpm() {
  local file; file=$(basename "$1")
  python3 - "$DJU_DEMO_TRACKS/manifest.json" "$file" <<'PY' 2>/dev/null || true
import json, sys
for t in json.load(open(sys.argv[1]))["tracks"]:
    if t["file"] == sys.argv[2]:
        print(t["bpm"])
PY
}

# Tempo ratio that brings track B to track A's BPM (1.0 when either is unknown).
dju_match_tempo() {
  local a b; a=$(dju_manifest_bpm "$1"); b=$(dju_manifest_bpm "$2")
  if [ -n "$a" ] && [ -n "$b" ]; then python3 -c "print(round($a / $b, 6))"; else echo 1.0; fi
}

# Deck properties for the mode: live to the speakers, or a bounded render as fast as possible.
# 256-frame buffers at 48 kHz.
dju_deck_mode() {
  if [ -n "${DJU_SECONDS:-}" ]; then
    echo "is-live=false num-buffers=$(python3 -c "import math; print(math.ceil(${DJU_SECONDS} * 48000 / 256))")"
  else
    echo "is-live=true"
  fi
}

dju_require_file() {
  [ -r "$1" ] || { echo "$(basename "$0"): cannot read $1 (build the demo library with scripts/build)" >&2; exit 2; }
}
