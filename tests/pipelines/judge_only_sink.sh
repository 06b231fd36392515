#!/usr/bin/env bash
# djjudge as a pipeline's only sink, with the plain launch line of its docs (two demo tracks through
# decodebin, no other sink): every run must end by itself with the judge's final report and EOS.
# A judge that does not preroll made gst-launch hang 1 run in 2 to 10 (GstBin kept its EOS); a judge
# that prerolls but commits before a decodebin elsewhere in the pipeline hung 1 run in 12 under load
# (GstBin's race, see other_async_pending in gstdjjudge.cc). Odd runs are the plain line, even runs
# give deck B a lead-in of silence through concat; RUNS runs (default 20), two at a time; each run
# gets 120 s (TIMEOUT_S) before it counts as hung.
#   judge_only_sink.sh     (needs DJU_BUILD_ROOT, DJU_DEMO_TRACKS from meson; RUNS, DJU_PLUGIN_DIR optional)
set -euo pipefail
build=${DJU_BUILD_ROOT:?}
demo=${DJU_DEMO_TRACKS:-$build/demo}
runs=${RUNS:-20}
wait_s=${TIMEOUT_S:-120}  # a run takes a few seconds; this long and it has hung
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GST_REGISTRY_1_0="$tmp/registry.bin"
export GST_PLUGIN_PATH_1_0="${DJU_PLUGIN_DIR:-$build/gst}"
plugin=$(gst-inspect-1.0 djuniverse | awk '/Filename/ {print $2}')
case "$plugin" in "$GST_PLUGIN_PATH_1_0"/*) echo "djuniverse from $plugin" ;; *) echo "FAIL: djuniverse loaded from '$plugin'"; exit 1 ;; esac
a="$demo/house-124-am.flac"
b="$demo/house-124-em.flac"
caps="audio/x-raw,format=F32LE,rate=48000,channels=2"
[ -s "$a" ] && [ -s "$b" ] || { echo "FAIL: demo tracks missing in $demo"; exit 1; }

one() {  # one run: exit status, then whether the final report came before EOS
  local log="$tmp/run-$1.log" rc=0
  if [ $(($1 % 2)) = 1 ]; then
    timeout "$wait_s" gst-launch-1.0 -m djjudge name=j \
      filesrc location="$a" ! decodebin ! audioconvert ! audioresample ! j.deck_0 \
      filesrc location="$b" ! decodebin ! audioconvert ! audioresample ! j.deck_1 >"$log" 2>&1 || rc=$?
  else
    # Deck B behind 2 s of silence (concat): the judge has data on both pads before B's decodebin
    # has finished prerolling, so the pipeline's PAUSED is decided by the decodebin, not the judge.
    timeout "$wait_s" gst-launch-1.0 -m djjudge name=j \
      filesrc location="$a" ! decodebin ! audioconvert ! audioresample ! $caps ! j.deck_0 \
      concat name=late ! j.deck_1 \
      audiotestsrc wave=silence samplesperbuffer=960 num-buffers=100 ! $caps ! late. \
      filesrc location="$b" ! decodebin ! audioconvert ! audioresample ! $caps ! late. >"$log" 2>&1 || rc=$?
  fi
  local final eos
  final=$(grep -n 'djjudge' "$log" | grep 'phase=(string)final' | head -1 | cut -d: -f1 || true)
  eos=$(grep -n '^Got EOS' "$log" | head -1 | cut -d: -f1 || true)
  if [ "$rc" = 124 ]; then
    echo "run $1: HUNG (killed after $wait_s s; final report: $([ -n "$final" ] && echo yes || echo no))"
  elif [ "$rc" != 0 ]; then
    echo "run $1: exit $rc"; tail -5 "$log"
  elif [ -z "$eos" ]; then
    echo "run $1: exited without EOS"
  elif [ -z "$final" ] || [ "$final" -gt "$eos" ]; then
    echo "run $1: no final report before EOS"
  else
    echo "run $1: OK (final report, then EOS)"
  fi
}

for ((i = 1; i <= runs; i += 2)); do
  one "$i" > "$tmp/result-$i" &
  if [ $((i + 1)) -le "$runs" ]; then one $((i + 1)) > "$tmp/result-$((i + 1))" & fi
  wait
done
cat "$tmp"/result-* | sort -t' ' -k2 -n
ok=$(cat "$tmp"/result-* | grep -c ': OK' || true)
echo "$ok of $runs runs ended with the final report and EOS"
[ "$ok" = "$runs" ] || { echo "FAIL: $((runs - ok)) of $runs runs did not"; exit 1; }
echo "OK: judge-only-sink"
