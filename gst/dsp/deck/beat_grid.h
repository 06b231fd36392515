// A constant-tempo beat grid: beat n sits at first_beat + n * period (in track frames, 48 kHz).
#pragma once

#include <cmath>

namespace dju {

struct BeatGrid {
  double bpm = 0.0;         // 0 = no grid (not analysed, or no beat found)
  double first_beat = 0.0;  // frames
  int beats_per_bar = 4;

  bool valid() const { return bpm > 0.0; }
  double period() const { return valid() ? 48000.0 * 60.0 / bpm : 0.0; }
  // Beats (fractional) from the first beat to a position.
  double beat_at(double pos) const { return valid() ? (pos - first_beat) / period() : 0.0; }
  double position_of_beat(double beat) const { return first_beat + beat * period(); }
  // The grid beat nearest to pos (pos itself without a grid).
  double nearest_beat(double pos) const {
    return valid() ? position_of_beat(std::round(beat_at(pos))) : pos;
  }
  double previous_beat(double pos) const {
    return valid() ? position_of_beat(std::floor(beat_at(pos) + 1e-9)) : pos;
  }
};

}  // namespace dju
