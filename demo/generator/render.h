// Renders one catalogue track to 48 kHz stereo 16-bit PCM, with the facts the manifest publishes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalogue.h"

namespace demo {

struct RenderedSection {
  std::string name;
  int start_bar = 0, bars = 0;
  double start_s = 0.0, end_s = 0.0;
  std::string layers;  // the SectionSpec letters
};

struct RenderedTrack {
  std::vector<int16_t> pcm;  // interleaved L R
  size_t frames = 0;
  double duration_s = 0.0;   // frames / 48000, a whole number of milliseconds
  int total_bars = 0;
  std::vector<RenderedSection> sections;
  std::vector<double> kick_beats;  // where the kick falls inside a bar (in beats) in sections with K
  size_t kicks = 0;                // kick hits rendered
  double peak = 0.0, rms_db = 0.0;
};

RenderedTrack render_track(const TrackSpec& spec);

}  // namespace demo
