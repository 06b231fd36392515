#!/usr/bin/env bash
# Lets djjudge score a transition: track A plays from the start, track B (bass killed with djeq)
# comes in IN_BARS bars of A later (identity ts-offset delays it), A stops at OUT_BARS; the judge
# prints a live message every second and a final score with feedback. The tracks are decoded
# directly (not through djdeck, whose background loading would make the timing depend on the
# machine's load) and rendered as fast as the machine allows; the judge lines its pads up by running
# time. With the demo pair (same tempo and first beat) B lands on A's beat; other pairs are played
# at their own tempo.
#
#   pipelines/judge-transition.sh [TRACK_A] [TRACK_B] [IN_BARS] [OUT_BARS]   (default 4 and 8)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
a=$(dju_track "${1:-house-124-am}")
b=$(dju_track "${2:-house-124-em}")
in_bars=${3:-4}
out_bars=${4:-8}
dju_require_file "$a"
dju_require_file "$b"
bpm_a=$(dju_manifest_bpm "$a"); bpm_a=${bpm_a:-120}
bar_s=$(python3 -c "print(4 * 60 / $bpm_a)")
in_s=$(python3 -c "print($in_bars * $bar_s)")
out_s=$(python3 -c "print($out_bars * $bar_s)")
bufs() { python3 -c "import math; print(math.ceil(($1) * 100))"; }  # 10 ms buffers
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The judge hears each deck as the audience would.
dec="decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! audiobuffersplit output-buffer-duration=1/100"
# shellcheck disable=SC2086
gst-launch-1.0 -m djjudge name=judge \
  filesrc location="$a" ! $dec ! identity eos-after="$(bufs "$out_s")" ! judge.deck_0 \
  filesrc location="$b" ! $dec ! djeq low-kill=true \
    ! identity eos-after="$(bufs "$out_s + 5 - $in_s")" ts-offset="$(python3 -c "print(round($in_s * 1e9))")" \
    ! judge.deck_1 \
  >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
[ "${DJU_VERBOSE:-0}" = 1 ] && cat "$log"
python3 - "$log" <<'PY'
import re, sys
msgs = [l for l in open(sys.argv[1], errors="replace").read().splitlines() if 'djjudge' in l and 'phase=' in l]
def field(msg, name):
    m = re.search(r'\b' + re.escape(name) + r'=\(\w+\)("?)((?:[^"\\]|\\.)*?)\1[,;]', msg)
    return m.group(2).replace('\\ ', ' ') if m else None
final = [m for m in msgs if field(m, 'phase') == 'final']
live = [m for m in msgs if field(m, 'phase') == 'live']
print("judge messages: %d live, %d final" % (len(live), len(final)))
# The verdict: the final message, or (if the stream ended before the judge posted it) the last
# live one, which carries the score so far.
for kind, m in ([('final', f) for f in final] or [('live', live[-1])] if live else []):
    print("%s score=%s beat-alignment=%s tempo-match=%s key-compatibility=%s bass-clash=%s feedback=%s" % (
        kind, field(m, 'score'), field(m, 'beat-alignment'), field(m, 'tempo-match'),
        field(m, 'key-compatibility'), field(m, 'bass-clash'), field(m, 'feedback') or field(m, 'hint')))
if not msgs:
    sys.exit("no djjudge message")
PY
