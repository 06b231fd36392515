#!/usr/bin/env bash
# Lets djjudge score a transition: track A plays from the start, track B (bass killed with djeq)
# comes in IN_BARS bars of A later, A stops at OUT_BARS; the judge prints a live message every
# second and, before EOS, the final score with feedback. The tracks are decoded directly (not
# through djdeck, whose background loading would make the timing depend on the machine's load).
# By default the pipeline renders as fast as the machine allows and B is delayed by IN_BARS bars of
# silence in front of it (concat), so its running time says when it comes in; the judge lines its
# pads up by running time. With DJU_PACED=1 both decks play in real time (identity sync=true) and B
# is held back with identity ts-offset, which delays it in wall-clock time only: the judge hears it
# when it arrives (so the machine's scheduling delay shows up in the beat alignment). With the demo pair (same tempo and first beat) B lands on A's beat; other pairs
# are played at their own tempo. djjudge is the pipeline's only sink: it prerolls like a base sink.
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
caps="audio/x-raw,format=F32LE,rate=48000,channels=2"
if [ "${DJU_PACED:-0}" = 1 ]; then
  # shellcheck disable=SC2086
  gst-launch-1.0 -m djjudge name=judge \
    filesrc location="$a" ! $dec ! identity eos-after="$(bufs "$out_s")" sync=true ! judge.deck_0 \
    filesrc location="$b" ! $dec ! djeq low-kill=true \
      ! identity eos-after="$(bufs "$out_s + 5 - $in_s")" sync=true ts-offset="$(python3 -c "print(round($in_s * 1e9))")" \
      ! judge.deck_1 \
    >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
else
  # B's lead-in: IN_BARS bars of silence in 100 buffers.
  lead=$(python3 -c "print(round($in_s * 48000 / 100))")
  # shellcheck disable=SC2086
  gst-launch-1.0 -m djjudge name=judge \
    filesrc location="$a" ! $dec ! identity eos-after="$(bufs "$out_s")" ! judge.deck_0 \
    concat name=late ! judge.deck_1 \
    audiotestsrc wave=silence samplesperbuffer="$lead" num-buffers=100 ! $caps ! late. \
    filesrc location="$b" ! $dec ! djeq low-kill=true ! identity eos-after="$(bufs "$out_s + 5 - $in_s")" ! late. \
    >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
fi
[ "${DJU_VERBOSE:-0}" = 1 ] && cat "$log"
python3 - "$log" "$in_s" <<'PY'
import re, sys
lines = open(sys.argv[1], errors="replace").read().splitlines()
msgs = [l for l in lines if 'djjudge' in l and 'phase=' in l]
eos_at = next((i for i, l in enumerate(lines) if l.startswith('Got EOS')), len(lines))
final_at = next((i for i, l in enumerate(lines) if 'djjudge' in l and 'phase=(string)final' in l), None)
def field(msg, name):
    m = re.search(r'\b' + re.escape(name) + r'=\(\w+\)("?)((?:[^"\\]|\\.)*?)\1[,;]', msg)
    return m.group(2).replace('\\ ', ' ') if m else None
final = [m for m in msgs if field(m, 'phase') == 'final']
live = [m for m in msgs if field(m, 'phase') == 'live']
print("judge messages: %d live, %d final" % (len(live), len(final)))
if final_at is not None:
    start = field(final[0], 'start-time')
    print("final before EOS: %s" % ("yes" if final_at < eos_at else "no"))
    print("blend start: %.2f s (B comes in at %.2f s)" % (int(start) / 1e9 if start else -1, float(sys.argv[2])))
# The verdict: the final message, or (if the stream ended before the judge posted it) the last
# live one, which carries the score so far.
for kind, m in ([('final', f) for f in final] or [('live', live[-1])] if live else []):
    print("%s score=%s beat-alignment=%s tempo-match=%s key-compatibility=%s bass-clash=%s feedback=%s" % (
        kind, field(m, 'score'), field(m, 'beat-alignment'), field(m, 'tempo-match'),
        field(m, 'key-compatibility'), field(m, 'bass-clash'), field(m, 'feedback') or field(m, 'hint')))
if not msgs:
    sys.exit("no djjudge message")
PY
