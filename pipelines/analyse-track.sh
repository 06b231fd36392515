#!/usr/bin/env bash
# Analyses a track the way a deck does (tempo, beat grid, key, intro/outro) and measures its
# first seconds with djspectrum; prints one summary line, then the raw messages with DJU_VERBOSE=1.
#
#   pipelines/analyse-track.sh [TRACK] [SECONDS]      (default: house-124-am, 10 s)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
t=$(dju_track "${1:-house-124-am}")
DJU_SECONDS=${2:-${DJU_SECONDS:-10}}
dju_require_file "$t"
mode=$(dju_deck_mode)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086
gst-launch-1.0 -m djdeck location="$t" playing=true $mode ! djspectrum interval=1000000000 ! fakesink >"$log" 2>&1
[ "${DJU_VERBOSE:-0}" = 1 ] && cat "$log"
python3 - "$t" "$log" <<'PY'
import re, sys
log = open(sys.argv[2], errors="replace").read()
def field(msg, name):
    m = re.search(r'\b' + re.escape(name) + r'=\(\w+\)("?)([^,;"]*)\1', msg)
    return m.group(2).replace('\\ ', ' ') if m else None
track = [l for l in log.splitlines() if 'djdeck-track' in l]
spec = [l for l in log.splitlines() if 'djspectrum,' in l or 'djspectrum ' in l]
if not track:
    sys.exit("no djdeck-track message: the deck did not load " + sys.argv[1])
t = track[0]
print("track=%s bpm=%s first-beat=%s key=%s camelot=%s intro-end=%s outro-start=%s duration=%s spectrum-messages=%d" % (
    sys.argv[1], field(t, 'bpm'), field(t, 'first-beat'), field(t, 'key'), field(t, 'camelot'),
    field(t, 'intro-end'), field(t, 'outro-start'), field(t, 'duration'), len(spec)))
if spec:
    s = spec[-1]
    print("last spectrum: rms=%s peak=%s centroid=%s tempo=%s" % (field(s, 'rms'), field(s, 'peak'),
          field(s, 'spectral-centroid') or field(s, 'centroid'), field(s, 'tempo')))
PY
