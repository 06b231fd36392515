// Track analysis at load: tempo and beat grid, musical key, waveform overview, intro/outro.
// Pure C++ (aubio for the onset detection function and the FFT); no GLib.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "deck/beat_grid.h"
#include "deck/track.h"

namespace dju {

// One of the 24 major/minor keys.
struct KeyResult {
  int tonic = -1;        // pitch class 0 = C … 11 = B; -1 = no key (silence)
  bool minor = false;
  double score = 0.0;    // correlation of the chroma with the winning profile (-1..1)
  double margin = 0.0;   // lead over the runner-up (a confidence)
  std::string name;      // "A minor", "F# major"
  std::string camelot;   // "8A", "2B"
};

// Key from a 12-bin chroma (C, C#, … B; any non-negative scale): the best of 24 key profiles by
// correlation. Exposed on its own so the judge can name the key of what is playing.
KeyResult key_from_chroma(const double chroma[12]);
// Camelot wheel code of a key ("8A" = A minor, "8B" = C major); empty for tonic < 0.
std::string camelot_code(int tonic, bool minor);
// "C", "C#", … "B"
const char* pitch_class_name(int pc);

struct WaveformPoint {
  uint8_t low, mid, high;  // band levels 0..255 (RMS, square-root scaled, normalised per track)
};

struct TrackAnalysis {
  double duration_s = 0.0;
  BeatGrid grid;              // bpm 0 if no steady beat was found
  double bpm_confidence = 0.0;  // fraction of grid beats with an onset near them (0..1)
  KeyResult key;
  std::array<double, 12> chroma{};
  std::vector<WaveformPoint> waveform;
  double waveform_point_s = 0.0;  // seconds per point
  double intro_end_s = 0.0;       // where the full groove starts (a bar line)
  double outro_start_s = 0.0;     // where it ends
  double peak = 0.0;              // sample peak (linear)
  double rms_db = -120.0;
};

struct AnalysisOptions {
  bool tempo = true;
  bool key = true;
  bool waveform = true;
  double min_bpm = 70.0;   // the grid is folded into [min_bpm, 2*min_bpm) … [70, 180) by default
  double max_bpm = 180.0;
  const std::atomic<bool>* cancel = nullptr;  // set: analysis stops early (result incomplete)
};

TrackAnalysis analyse_track(const Track& track, const AnalysisOptions& opts = {});

// Beat grid from an onset-strength envelope sampled every `hop_s` seconds, given a rough tempo
// (0 = search the whole range); `kick_env` (the low band's envelope, optional) decides between a
// phase and the one half a beat away. Used by analyse_track; exposed for tests.
BeatGrid fit_beat_grid(const std::vector<float>& onset_env, double hop_s, double rough_bpm,
                       double min_bpm, double max_bpm, double* confidence = nullptr,
                       const std::vector<float>* kick_env = nullptr);

}  // namespace dju
