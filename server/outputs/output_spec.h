// What a broadcaster asks for when adding an output: the JSON body of
// POST /api/battles/{id}/outputs, parsed and checked before anything is built.
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace dju {

enum class OutputKind { Rtmp, Srt, Hls, Icecast };

const char* output_kind_name(OutputKind kind);

struct OutputSpec {
  OutputKind kind = OutputKind::Hls;
  int audio_kbps = 160;  // AAC for rtmp/srt/hls, MP3/Vorbis for icecast

  // rtmp: rtmp://host[:port]/app/stream-key (rtmps:// too). The key is a secret: list() masks it.
  std::string url;
  // rtmp and srt: add a 720p30 H.264 visual (many RTMP ingests refuse audio-only streams).
  bool video = false;
  int video_kbps = 2500;

  // srt: listener on this UDP port (all interfaces unless `bind` says otherwise).
  int port = 0;
  std::string bind = "0.0.0.0";
  std::string passphrase;  // optional AES encryption, 10..79 characters (SRT's rule)
  int latency_ms = 125;    // SRT receive latency the listener advertises

  // icecast: icecast://user:password@host:port/mount (http:// accepted; user defaults to "source").
  std::string host;
  int icecast_port = 8000;
  std::string mount;
  std::string user = "source";
  std::string password;
  std::string format = "mp3";  // "mp3" (lamemp3enc) or "ogg" (Vorbis)
};

// Parses and validates; on failure returns false with a sentence a broadcaster can act on.
bool parse_output_spec(JsonObject* body, OutputSpec* spec, std::string* error);

// The URL with its secret part (RTMP stream key, Icecast password) hidden, for state and logs.
std::string masked_url(const OutputSpec& spec);

}  // namespace dju
