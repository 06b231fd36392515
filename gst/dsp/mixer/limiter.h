// Look-ahead peak limiter for the master bus. Pure C++, allocation-free after configure().
//
// Transparent by construction: the gain is exactly 1.0f whenever no peak above the ceiling lies in
// the look-ahead window or the release tail, so material below the ceiling comes out bit-exact
// (delayed by latency_frames()). Above it, the gain for each frame is
//   1. r[n] = ceiling / peak(n)  (1 if the peak is below the ceiling), the peak taken over channels
//      so the stereo image never shifts;
//   2. held: h[n] = min r over the last W+1 frames (W = look-ahead window);
//   3. released: e[n] = min(h[n], e[n-1] + (1 - e[n-1])·α) — exponential recovery;
//   4. smoothed: s[n] = mean of e over the last W frames (a linear attack of W frames);
// and s[n] is applied to the frame that entered W frames earlier. Every e inside the mean's
// window covering a peak frame is ≤ that frame's r, so s never lets a peak through: the output
// never exceeds the ceiling. A final clamp at the ceiling catches float rounding only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mixer/simd.h"

namespace dju {

class LookaheadLimiter {
 public:
  // window_frames: look-ahead (and attack) length, which is also the latency.
  void configure(double sample_rate, int channels, uint32_t window_frames = 96, float release_ms = 80.0f);
  void set_ceiling(float linear) { ceiling_ = linear; }
  float ceiling() const { return ceiling_; }
  uint32_t latency_frames() const { return window_; }
  void reset();
  // In place, interleaved. Output is the input delayed by latency_frames().
  void process(float* data, uint32_t frames);
  // Lowest gain applied since the last call (1 = no limiting), for the meters.
  float take_min_gain() {
    float g = min_gain_;
    min_gain_ = 1.0f;
    return g;
  }

 private:
  static constexpr uint32_t kChunk = 256;
  void process_frames(float* data, uint32_t frames);
  void envelope(const float* data, uint32_t frames);  // gains_ of the next frames, in order
  void apply(float* data, uint32_t frames);           // delay line, gains_, clamp
  void delay(float* data, uint32_t frames);           // the delay line alone

  int channels_ = 2;
  uint32_t window_ = 96;
  float ceiling_ = 1.0f;
  float decay_ = 0.0f;

  std::vector<float> delay_;  // window_ frames × channels_ ring
  std::vector<float> spare_;  // the same size: the next ring, filled by the fast path
  uint32_t delay_pos_ = 0;
  // Sliding-window minimum of r over the last window_ + 1 frames, in blocks of that length (van
  // Herk / Gil-Werman): the window ending at a frame is the part of its block up to it (a running
  // minimum) and the rest of the block before (the minima of that block's suffixes). Three
  // operations a frame and no data-dependent branch; the same minimum as any exact method.
  std::vector<float> hold_block_;   // r of the current block so far
  std::vector<float> hold_suffix_;  // suffix minima of the previous block; [window_ + 1] = 1
  uint32_t hold_pos_ = 0;
  float hold_prefix_ = 1.0f;        // minimum of the current block so far
  float last_held_ = 1.0f;          // the window's minimum at the last frame
  bool suffix_unity_ = true;        // hold_suffix_ is all 1
  float env_red_ = 0.0f;  // 1 - e
  // Moving mean of the gain reduction (1 - e) over window_ frames; exact zero when none.
  std::vector<float> red_;
  uint32_t red_pos_ = 0;
  double red_sum_ = 0.0;
  uint32_t red_nonzero_ = 0;
  float min_gain_ = 1.0f;
  float gains_[kChunk];
};

// Peak and RMS of a stream, accumulated on the audio thread and taken by the element when it posts.
struct PeakRms {
  float peak = 0.0f;
  double sum_sq = 0.0;
  uint64_t count = 0;

  void add(const float* interleaved, uint32_t frames, int channels) {
    const size_t n = static_cast<size_t>(frames) * static_cast<size_t>(channels);
    // Two vectors of partial sums (peak and energy) so the loop is not one long dependency; a
    // block's energy fits a float, the running total is double.
    F4 pk0 = splat4(0.0f), pk1 = pk0, ss0 = pk0, ss1 = pk0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const F4 a = load4(interleaved + i), b = load4(interleaved + i + 4);
      pk0 = max4(pk0, abs4(a));
      pk1 = max4(pk1, abs4(b));
      ss0 += a * a;
      ss1 += b * b;
    }
    float pk = std::max(peak, hmax4(max4(pk0, pk1)));
    const F4 ss = ss0 + ss1;
    float tail = 0.0f;
    for (; i < n; ++i) {
      pk = std::max(pk, std::fabs(interleaved[i]));
      tail += interleaved[i] * interleaved[i];
    }
    peak = pk;
    sum_sq += static_cast<double>(ss[0]) + ss[1] + ss[2] + ss[3] + tail;
    count += n;
  }
  void add_silence(uint32_t frames, int channels) { count += frames * static_cast<uint32_t>(channels); }
  double rms() const { return count ? std::sqrt(sum_sq / static_cast<double>(count)) : 0.0; }
  void clear() { *this = PeakRms{}; }
};

}  // namespace dju
