#!/usr/bin/env bash
# Serves a live two-deck battle as HLS (AAC, 2 s segments) into a folder any web server or CDN
# can publish.
#
#   pipelines/hls-out.sh DIR [TRACK_A] [TRACK_B]
#   DJU_SECONDS=10 pipelines/hls-out.sh DIR      (bounded)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
dir=${1:-hls}
a=$(dju_track "${2:-house-124-am}")
b=$(dju_track "${3:-house-124-em}")
dju_require_file "$a"
dju_require_file "$b"
mkdir -p "$dir"
tempo=$(dju_match_tempo "$a" "$b")
mode=$(dju_deck_mode)
# shellcheck disable=SC2086
exec gst-launch-1.0 -e \
  hlssink2 name=hls target-duration=2 playlist-length=0 max-files=0 \
    location="$dir/segment%05d.ts" playlist-location="$dir/playlist.m3u8" \
  djmixer name=mix crossfader="${CROSSFADER:-0}" sink_0::crossfader-side=left sink_1::crossfader-side=right ! audio/x-raw,rate=48000,channels=2 \
    ! audioconvert ! voaacenc bitrate=192000 ! aacparse ! hls.audio \
  djdeck location="$a" playing=true $mode ! djeq ! mix.sink_0 \
  djdeck location="$b" playing=true tempo="$tempo" keylock=true $mode ! djeq low-kill=true ! mix.sink_1
