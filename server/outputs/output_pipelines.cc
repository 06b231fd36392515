#include "output_pipelines.h"

#include <glib.h>

namespace dju {

const char* const kOutputRawCaps = "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved";

namespace {

std::string fmt(const char* format, ...) G_GNUC_PRINTF(1, 2);
std::string fmt(const char* format, ...) {
  va_list args;
  va_start(args, format);
  gchar* s = g_strdup_vprintf(format, args);
  va_end(args);
  std::string out = s;
  g_free(s);
  return out;
}

// Up to 1 s of raw master waits in the appsrc; beyond that the oldest audio is dropped, so a body
// that stalls (a far end that stops reading) costs bounded memory and the battle nothing.
std::string appsrc() {
  return fmt("appsrc name=src format=time is-live=true do-timestamp=false block=false "
             "max-bytes=0 max-buffers=0 max-time=1000000000 leaky-type=downstream caps=\"%s\"",
             kOutputRawCaps);
}

std::string aac(int kbps) {
  return fmt("audioconvert ! audioresample ! voaacenc bitrate=%d ! aacparse ! "
             "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000",
             kbps * 1000);
}

// 720p30: the master's waveform (both channels, coloured lines), the battle's name and timer on
// top, the DJs and their scores at the bottom. Measured on a 2-core box (10 s of 720p30): scope
// ~5-7 % of a core, RGB→I420 ~25 % (chroma-mode=none: point-sampled chroma, plenty for a
// visualiser), the two overlays ~10 % (drawn after the conversion, on half the bytes), x264
// ultrafast/zerolatency ~25 % on one thread (a 720p ultrafast frame takes far less than its 33 ms).
// A 2 s GOP because ingest services ask for keyframes at most every 2-4 s.
std::string video(int kbps) {
  return fmt("queue leaky=downstream max-size-buffers=0 max-size-bytes=0 max-size-time=500000000 ! "
             "audioconvert ! wavescope style=color-lines shader=none ! "
             "video/x-raw,width=1280,height=720,framerate=30/1 ! "
             "videoconvert chroma-mode=none dither=none ! video/x-raw,format=I420 ! "
             "textoverlay name=title auto-resize=false valignment=top halignment=center font-desc=\"Sans Bold 36\" "
             "shaded-background=true text=\"DJ Universe\" ! "
             "textoverlay name=scores auto-resize=false valignment=bottom halignment=center font-desc=\"Sans Bold 48\" "
             "shaded-background=true text=\"\" ! "
             "x264enc tune=zerolatency speed-preset=ultrafast threads=1 bitrate=%d key-int-max=60 ! "
             "video/x-h264,profile=constrained-baseline ! h264parse ! "
             "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000",
             kbps);
}

// Audio (and optionally video) into the element named mux.
std::string streams_into_mux(const OutputSpec& spec) {
  if (!spec.video) return appsrc() + " ! " + aac(spec.audio_kbps) + " ! mux. ";
  return appsrc() + " ! tee name=split split. ! " + aac(spec.audio_kbps) + " ! mux. split. ! " +
         video(spec.video_kbps) + " ! mux. ";
}

}  // namespace

std::string output_head_description() {
  return fmt("queue name=head leaky=downstream max-size-buffers=0 max-size-bytes=0 "
             "max-size-time=500000000 ! audioconvert ! audioresample ! capsfilter caps=\"%s\" ! "
             "appsink name=tap sync=false async=false drop=true max-buffers=8 emit-signals=false",
             kOutputRawCaps);
}

std::string output_body_description(const OutputSpec& spec) {
  switch (spec.kind) {
    case OutputKind::Rtmp:
      // The muxers are aggregators: in a live pipeline they wait `latency` for the slower stream.
      return streams_into_mux(spec) +
             "flvmux name=mux streamable=true latency=200000000 ! "
             "rtmp2sink name=sink sync=false async=false";
    case OutputKind::Srt:
      return streams_into_mux(spec) +
             "mpegtsmux name=mux alignment=7 latency=200000000 ! "
             "srtsink name=sink sync=false async=false wait-for-connection=false";
    case OutputKind::Hls:
      return appsrc() + " ! " + aac(spec.audio_kbps) +
             " ! sink.audio hlssink2 name=sink target-duration=2 playlist-length=6 max-files=12";
    case OutputKind::Icecast:
      if (spec.format == "ogg")
        return appsrc() + fmt(" ! audioconvert ! audioresample ! vorbisenc bitrate=%d ! oggmux ! "
                              "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! "
                              "shout2send name=sink sync=false async=false",
                              spec.audio_kbps * 1000);
      return appsrc() + fmt(" ! audioconvert ! audioresample ! "
                            "lamemp3enc target=bitrate bitrate=%d cbr=true encoding-engine-quality=fast ! "
                            "mpegaudioparse ! "
                            "queue max-size-buffers=0 max-size-bytes=0 max-size-time=2000000000 ! "
                            "shout2send name=sink sync=false async=false",
                            spec.audio_kbps);
  }
  return "";
}

}  // namespace dju
