// Tempo from beat times: a least-squares line through the last beats on an integer grid.
//
// Raw tempo estimators wobble by a BPM or two (aubio's tracker said 122.1 on a 120 BPM click), but the
// beats they place are each only a few milliseconds off. Fitting one straight line through 32 of them
// (time = t0 + n * period, n an integer beat index) gives the period to a fraction of a percent.
// Fixed capacity, no allocation after construction.
#pragma once

#include <array>
#include <cstddef>

namespace dju {

class BeatGridFit {
 public:
  static constexpr size_t kCapacity = 32;

  void add_beat(double t_seconds);
  void reset() { count_ = 0; head_ = 0; bpm_ = 0.0; }
  // 0 until at least 6 beats fit a grid.
  double bpm() const { return bpm_; }
  size_t beats() const { return count_; }

 private:
  void refit();
  std::array<double, kCapacity> times_{};
  size_t count_ = 0;
  size_t head_ = 0;  // next write slot
  double bpm_ = 0.0;
};

}  // namespace dju
