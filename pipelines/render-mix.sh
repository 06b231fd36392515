#!/usr/bin/env bash
# Renders a two-deck mix to a WAV file as fast as the machine allows: both decks start on their
# first beat, B tempo-matched to A with keylock, crossfader in the middle, B's bass killed.
# The demo pair house-124-am / house-124-em shares tempo and first beat, so it lands beat-matched.
#
#   pipelines/render-mix.sh OUT.wav [TRACK_A] [TRACK_B] [SECONDS]     (default 30 s)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
out=${1:-${DJU_OUT:-mix.wav}}
a=$(dju_track "${2:-house-124-am}")
b=$(dju_track "${3:-house-124-em}")
DJU_SECONDS=${4:-${DJU_SECONDS:-30}}
dju_require_file "$a"
dju_require_file "$b"
tempo=$(dju_match_tempo "$a" "$b")
mode=$(dju_deck_mode)
# shellcheck disable=SC2086
gst-launch-1.0 -q -e \
  djmixer name=mix crossfader="${CROSSFADER:-0}" sink_0::crossfader-side=left sink_1::crossfader-side=right ! audio/x-raw,rate=48000,channels=2 \
    ! audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$out" \
  djdeck location="$a" playing=true $mode ! djeq ! mix.sink_0 \
  djdeck location="$b" playing=true tempo="$tempo" keylock=true $mode ! djeq low-kill=true ! mix.sink_1
echo "rendered ${DJU_SECONDS} s of $(basename "$a") + $(basename "$b") (tempo $tempo) to $out"
