// An independent key estimate for checking the demo library: a power chromagram (50 Hz–2 kHz,
// each frame normalised so loud passages do not dominate) correlated with the Krumhansl–Kessler
// probe-tone profiles of the 24 major and minor keys.
#pragma once

#include <aubio/aubio.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "kick_onsets.h"

namespace dju_demo_test {

struct KeyScore {
  std::string name;  // "A minor"
  double r;          // Pearson correlation with the key's profile
};

// All 24 keys, best first.
inline std::vector<KeyScore> rank_keys(std::vector<float> mono, double rate) {
  static const char* names[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
  static const double major[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
  static const double minor[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
  // Down to 6 kHz: zero-phase low-pass at 2.4 kHz twice, keep every 8th sample.
  zero_phase_filter(mono, rate, 2400.0, false);
  zero_phase_filter(mono, rate, 2400.0, false);
  std::vector<float> x;
  for (size_t i = 0; i < mono.size(); i += 8) x.push_back(mono[i]);
  const double fs = rate / 8.0;
  const uint_t n = 4096, hop = 2048;
  aubio_fft_t* fft = new_aubio_fft(n);
  fvec_t* in = new_fvec(n);
  cvec_t* spec = new_cvec(n);
  std::array<double, 12> chroma{};
  for (size_t s = 0; s + n < x.size(); s += hop) {
    for (uint_t i = 0; i < n; ++i) in->data[i] = x[s + i] * float(0.5 - 0.5 * std::cos(2.0 * M_PI * i / n));
    aubio_fft_do(fft, in, spec);
    double frame[12] = {}, total = 0.0;
    for (uint_t b = 1; b <= n / 2; ++b) {
      double f = b * fs / n;
      if (f < 50.0 || f > 2000.0) continue;
      double midi = 69.0 + 12.0 * std::log2(f / 440.0);
      if (std::fabs(midi - std::round(midi)) > 0.35) continue;
      double e = double(spec->norm[b]) * spec->norm[b];
      frame[long(std::lround(midi)) % 12] += e;
      total += e;
    }
    if (total > 0.0)
      for (int c = 0; c < 12; ++c) chroma[c] += frame[c] / total;
  }
  del_aubio_fft(fft);
  del_fvec(in);
  del_cvec(spec);
  std::vector<KeyScore> out;
  for (int k = 0; k < 24; ++k) {
    const double* prof = k < 12 ? major : minor;
    int t = k % 12;
    double mx = 0, my = 0;
    for (int i = 0; i < 12; ++i) {
      mx += chroma[(i + t) % 12];
      my += prof[i];
    }
    mx /= 12;
    my /= 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; ++i) {
      double dx = chroma[(i + t) % 12] - mx, dy = prof[i] - my;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
    out.push_back({std::string(names[t]) + (k < 12 ? " major" : " minor"), sxy / std::sqrt(sxx * syy + 1e-30)});
  }
  std::sort(out.begin(), out.end(), [](const KeyScore& a, const KeyScore& b) { return a.r > b.r; });
  return out;
}

}  // namespace dju_demo_test
