// Writes 48 kHz stereo 16-bit PCM to a FLAC file through GStreamer (appsrc ! flacenc ! filesink).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace demo {

struct FlacTags {
  std::string title, artist, genre;
  double bpm = 0.0;
};

// Returns an empty string on success, otherwise a readable reason.
std::string write_flac(const std::string& path, const std::vector<int16_t>& interleaved, size_t frames,
                       const FlacTags& tags);

}  // namespace demo
