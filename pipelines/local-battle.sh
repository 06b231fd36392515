#!/usr/bin/env bash
# A two-deck battle to the speakers: deck A and deck B (tempo-matched to A, keylock on) through
# their EQs into the mixer, the crossfader in the middle, deck B's bass killed so the two kicks do
# not fight; the master goes through djspectrum (pass `-m`-style messages with DJU_VERBOSE=1).
#
#   pipelines/local-battle.sh [TRACK_A] [TRACK_B]     (demo ids or paths; Ctrl-C stops)
#   DJU_SECONDS=10 DJU_OUT=battle.wav pipelines/local-battle.sh    (bounded render to a WAV)
#   CROSSFADER=-1..1 (default 0)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
a=$(dju_track "${1:-house-124-am}")
b=$(dju_track "${2:-house-124-em}")
dju_require_file "$a"
dju_require_file "$b"
tempo=$(dju_match_tempo "$a" "$b")
mode=$(dju_deck_mode)
if [ -n "${DJU_OUT:-}" ]; then sink="wavenc ! filesink location=$DJU_OUT"; else sink="autoaudiosink"; fi
verbose=(); [ "${DJU_VERBOSE:-0}" = 1 ] && verbose=(-m)
echo "deck A: $a" >&2
echo "deck B: $b (tempo $tempo, keylock)" >&2
# shellcheck disable=SC2086
exec gst-launch-1.0 -e "${verbose[@]}" \
  djmixer name=mix crossfader="${CROSSFADER:-0}" sink_0::crossfader-side=left sink_1::crossfader-side=right ! audio/x-raw,rate=48000,channels=2 \
    ! djspectrum ! audioconvert ! $sink \
  djdeck name=a location="$a" playing=true $mode ! djeq ! mix.sink_0 \
  djdeck name=b location="$b" playing=true tempo="$tempo" keylock=true $mode ! djeq low-kill=true ! mix.sink_1
