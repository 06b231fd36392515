#!/usr/bin/env bash
# Pushes a live two-deck battle to an RTMP server (AAC in FLV), e.g. nginx-rtmp, Owncast, a
# streaming platform's ingest URL.
#
#   pipelines/rtmp-push.sh rtmp://HOST/live/KEY [TRACK_A] [TRACK_B]
#   DJU_SECONDS=10 DJU_OUT=battle.flv pipelines/rtmp-push.sh     (bounded, to an FLV file)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
url=${1:-rtmp://127.0.0.1/live/battle}
a=$(dju_track "${2:-house-124-am}")
b=$(dju_track "${3:-house-124-em}")
dju_require_file "$a"
dju_require_file "$b"
tempo=$(dju_match_tempo "$a" "$b")
mode=$(dju_deck_mode)
if [ -n "${DJU_OUT:-}" ]; then sink="filesink location=$DJU_OUT"; else sink="rtmp2sink location=$url"; fi
# shellcheck disable=SC2086
exec gst-launch-1.0 -e \
  djmixer name=mix crossfader="${CROSSFADER:-0}" sink_0::crossfader-side=left sink_1::crossfader-side=right ! audio/x-raw,rate=48000,channels=2 \
    ! audioconvert ! voaacenc bitrate=192000 ! aacparse ! flvmux streamable=true ! $sink \
  djdeck location="$a" playing=true $mode ! djeq ! mix.sink_0 \
  djdeck location="$b" playing=true tempo="$tempo" keylock=true $mode ! djeq low-kill=true ! mix.sink_1
