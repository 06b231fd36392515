#include "analysis/loudness.h"

#include <algorithm>
#include <cmath>

namespace dju {

namespace {

// BS.1770's K-weighting, designed for any rate by the bilinear transform from its analogue
// prototypes: the head's high shelf (f0, gain in dB, Q) and the revised low-frequency B-curve
// high-pass (f0, Q).
constexpr double kShelfF0 = 1681.974450955533, kShelfGainDb = 3.999843853973347, kShelfQ = 0.7071752369554196;
constexpr double kHighpassF0 = 38.13547087602444, kHighpassQ = 0.5003270373238773;

ShortTermLoudness::Biquad design_shelf(double rate) {
  const double k = std::tan(M_PI * kShelfF0 / rate);
  const double vh = std::pow(10.0, kShelfGainDb / 20.0);
  const double vb = std::pow(vh, 0.4996667741545416);
  const double a0 = 1.0 + k / kShelfQ + k * k;
  return {(vh + vb * k / kShelfQ + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / kShelfQ + k * k) / a0,
          2.0 * (k * k - 1.0) / a0, (1.0 - k / kShelfQ + k * k) / a0};
}

ShortTermLoudness::Biquad design_highpass(double rate) {
  const double k = std::tan(M_PI * kHighpassF0 / rate);
  const double a0 = 1.0 + k / kHighpassQ + k * k;
  return {1.0, -2.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / kHighpassQ + k * k) / a0};
}

inline double run(const ShortTermLoudness::Biquad& f, double x, double& z1, double& z2) {
  const double y = f.b0 * x + z1;
  z1 = f.b1 * x - f.a1 * y + z2;
  z2 = f.b2 * x - f.a2 * y;
  return y;
}

}  // namespace

ShortTermLoudness::ShortTermLoudness(int sample_rate)
    : shelf_(design_shelf(sample_rate)),
      highpass_(design_highpass(sample_rate)),
      block_frames_(std::max(1, static_cast<int>(std::lround(sample_rate / 200.0)))) {
  blocks_.assign(static_cast<size_t>(std::lround(kWindowS * sample_rate / block_frames_)), 0.0);
  reset();
}

void ShortTermLoudness::reset() {
  for (auto& ch : z_) std::fill(std::begin(ch), std::end(ch), 0.0);
  std::fill(blocks_.begin(), blocks_.end(), 0.0);
  block_fill_ = 0;
  block_energy_ = 0;
  next_ = 0;
  window_sum_ = 0;
  blocks_done_ = 0;
}

void ShortTermLoudness::add(const float* x, size_t frames) {
  for (size_t i = 0; i < frames;) {
    const size_t n = std::min(frames - i, static_cast<size_t>(block_frames_ - block_fill_));
    double e = 0;
    for (int c = 0; c < 2; ++c) {
      double* z = z_[c];
      double z0 = z[0], z1 = z[1], z2 = z[2], z3 = z[3];
      for (size_t f = i; f < i + n; ++f) {
        const double y = run(highpass_, run(shelf_, x[2 * f + c], z0, z1), z2, z3);
        e += y * y;
      }
      // Denormals after long silence: the states decay towards zero, flush them there.
      z[0] = std::fabs(z0) < 1e-30 ? 0.0 : z0;
      z[1] = std::fabs(z1) < 1e-30 ? 0.0 : z1;
      z[2] = std::fabs(z2) < 1e-30 ? 0.0 : z2;
      z[3] = std::fabs(z3) < 1e-30 ? 0.0 : z3;
    }
    block_energy_ += e;
    block_fill_ += static_cast<int>(n);
    i += n;
    if (block_fill_ == block_frames_) {
      window_sum_ += block_energy_ - blocks_[next_];
      blocks_[next_] = block_energy_;
      next_ = (next_ + 1) % blocks_.size();
      block_energy_ = 0;
      block_fill_ = 0;
      // A running sum of doubles drifts by rounding; sum the window afresh once per window.
      if (++blocks_done_ == blocks_.size()) {
        blocks_done_ = 0;
        window_sum_ = 0;
        for (double b : blocks_) window_sum_ += b;
      }
    }
  }
}

double ShortTermLoudness::lufs() const {
  const double mean_square = std::max(0.0, window_sum_) / (static_cast<double>(blocks_.size()) * block_frames_);
  if (mean_square <= 0) return kFloorLufs;
  return std::max(kFloorLufs, -0.691 + 10.0 * std::log10(mean_square));
}

}  // namespace dju
