// Blind kick-onset detection for checking the demo library: it never looks at the manifest.
// Two stages. (1) Where: the low band (zero-phase low-pass, so no filter delay moves anything)
// is turned into a smooth RMS envelope, and a kick is a jump of that envelope well above what it
// was just before. (2) When exactly: within a few milliseconds of that jump, the onset is the
// sample where the short-term energy above 2 kHz (the kick's attack click, free of the bass)
// rises most steeply, found to a fraction of a millisecond.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace dju_demo_test {

// RBJ biquad (low- or high-pass), run forward then backward: zero phase, 4th-order magnitude.
inline void zero_phase_filter(std::vector<float>& x, double rate, double hz, bool highpass) {
  const double w = 2.0 * M_PI * hz / rate, q = M_SQRT1_2;
  const double alpha = std::sin(w) / (2.0 * q), c = std::cos(w), a0 = 1.0 + alpha;
  const double b0 = (highpass ? (1.0 + c) : (1.0 - c)) / 2.0 / a0;
  const double b1 = (highpass ? -(1.0 + c) : (1.0 - c)) / a0, b2 = b0;
  const double a1 = -2.0 * c / a0, a2 = (1.0 - alpha) / a0;
  auto pass = [&](auto begin, auto end) {
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (auto it = begin; it != end; ++it) {
      double in = *it, out = b0 * in + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = in;
      y2 = y1;
      y1 = out;
      *it = float(out);
    }
  };
  pass(x.begin(), x.end());
  pass(x.rbegin(), x.rend());
}

// Prefix sums of x² so any window's energy is one subtraction.
inline std::vector<double> energy_prefix(const std::vector<float>& x) {
  std::vector<double> p(x.size() + 1, 0.0);
  for (size_t i = 0; i < x.size(); ++i) p[i + 1] = p[i] + double(x[i]) * x[i];
  return p;
}

inline double window_rms(const std::vector<double>& p, long a, long b) {
  a = std::max(0L, a);
  b = std::min(long(p.size()) - 1, b);
  if (b <= a) return 0.0;
  return std::sqrt((p[b] - p[a]) / double(b - a));
}

struct OnsetParams {
  double lowpass_hz = 150.0;
  double window_s = 0.03;     // envelope windows either side of a candidate (longer than a bass period)
  double rise = 2.0;          // low-band RMS after / before
  double floor = 0.08;        // and after-RMS above this fraction of the loudest low-band window
  double attack_hz = 2000.0;  // the precise onset is timed on the attack, above the bass
  double after_s = 0.0005, before_s = 0.003;  // energy windows of the attack measure
  double refine_s = 0.015;    // search radius of the precise onset around the coarse one
  double refractory_s = 0.08; // two kicks are never closer than this
};

// Returns onset times in seconds.
inline std::vector<double> detect_kick_onsets(const std::vector<float>& mono, double rate, const OnsetParams& p = {}) {
  std::vector<float> low = mono, high = mono;
  zero_phase_filter(low, rate, p.lowpass_hz, false);
  zero_phase_filter(high, rate, p.attack_hz, true);
  const auto lp = energy_prefix(low);
  const auto fp = energy_prefix(high);
  const long n = long(mono.size());
  const long win = long(p.window_s * rate), hop = long(0.0005 * rate);

  // Stage 1: the ratio of the low-band RMS just after to just before each 0.5 ms hop. A kick is a
  // local maximum of that ratio (the strongest rise within ±refractory), above `rise`, and loud.
  double loudest = 0.0;
  for (long i = 0; i + win < n; i += hop) loudest = std::max(loudest, window_rms(lp, i, i + win));
  const double quiet = 1e-3 * loudest;  // digital silence before the first beat is not infinitely quiet
  std::vector<long> pos;
  std::vector<double> ratio;
  for (long i = 0; i + win < n; i += hop) {
    double after = window_rms(lp, i, i + win), before = std::max(window_rms(lp, i - win, i), quiet);
    pos.push_back(i);
    ratio.push_back(after >= p.floor * loudest ? after / before : 0.0);
  }
  const long span = long(p.refractory_s * rate / hop);
  std::vector<double> onsets;
  for (long c = 0; c < long(ratio.size()); ++c) {
    if (ratio[c] < p.rise) continue;
    bool peak = true;
    for (long d = std::max(0L, c - span); d <= std::min(long(ratio.size()) - 1, c + span) && peak; ++d)
      if (ratio[d] > ratio[c] || (ratio[d] == ratio[c] && d < c)) peak = false;
    if (!peak) continue;
    // Stage 2: the steepest energy jump above attack_hz (0.5 ms after vs 3 ms before, log scale) within
    // ±refine_s, at one-sample resolution.
    const long best = pos[c], r = long(p.refine_s * rate), shortw = long(p.after_s * rate), longw = long(p.before_s * rate);
    long onset = best;
    double steepest = -1e9;
    for (long k = best - r; k <= best + r; ++k) {
      if (k < 0 || k + shortw >= n) continue;
      double a = window_rms(fp, k, k + shortw), b = k > 0 ? window_rms(fp, k - longw, k) : 0.0;
      double jump = std::log((a + 1e-9) / (b + 1e-9));
      if (jump > steepest) {
        steepest = jump;
        onset = k;
      }
    }
    onsets.push_back(double(onset) / rate);
  }
  return onsets;
}

}  // namespace dju_demo_test
