// Independent measurements for the deck's tests: onset times, tempo, pitch, sample steps.
// Deliberately simple and separate from the deck's own analysis code.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace deck_test {

constexpr double kSr = 48000.0;

// Synthetic kick: a pitch-swept sine with an exponential decay, starting exactly at sample 0.
inline std::vector<float> kick(double amp = 0.8) {
  std::vector<float> k(static_cast<size_t>(0.2 * kSr));
  double ph = 0;
  for (size_t i = 0; i < k.size(); ++i) {
    const double t = i / kSr;
    const double f = 50.0 + 120.0 * std::exp(-t / 0.02);
    ph += 2 * M_PI * f / kSr;
    k[i] = static_cast<float>(amp * std::sin(ph) * std::exp(-t / 0.06));
  }
  return k;
}

// Mono signal: kicks at first_beat + n·60/bpm plus an optional steady sine.
inline std::vector<float> click_track(double bpm, double seconds, double first_beat_s, double tone_hz = 0.0,
                                      double tone_amp = 0.1) {
  std::vector<float> x(static_cast<size_t>(seconds * kSr), 0.0f);
  const auto k = kick();
  for (int n = 0;; ++n) {
    const double t = first_beat_s + n * 60.0 / bpm;
    const size_t s = static_cast<size_t>(std::llround(t * kSr));
    if (s >= x.size()) break;
    for (size_t i = 0; i < k.size() && s + i < x.size(); ++i) x[s + i] += k[i];
  }
  if (tone_hz > 0)
    for (size_t i = 0; i < x.size(); ++i) x[i] += static_cast<float>(tone_amp * std::sin(2 * M_PI * tone_hz * i / kSr));
  return x;
}

inline std::vector<float> to_stereo(const std::vector<float>& m) {
  std::vector<float> s(m.size() * 2);
  for (size_t i = 0; i < m.size(); ++i) s[2 * i] = s[2 * i + 1] = m[i];
  return s;
}

inline std::vector<float> left(const std::vector<float>& stereo) {
  std::vector<float> m(stereo.size() / 2);
  for (size_t i = 0; i < m.size(); ++i) m[i] = stereo[2 * i];
  return m;
}

// Onset times (seconds): where the 1 ms energy first exceeds `thresh` × the loudest 1 ms after at
// least `refractory_s` of quiet-ish signal; refined to the first sample over the threshold level.
inline std::vector<double> onsets(const std::vector<float>& x, double thresh = 0.3, double refractory_s = 0.1) {
  const size_t w = 48;
  std::vector<double> e(x.size() / w);
  double mx = 0;
  for (size_t b = 0; b < e.size(); ++b) {
    double s = 0;
    for (size_t i = 0; i < w; ++i) s += x[b * w + i] * x[b * w + i];
    e[b] = s / w;
    mx = std::max(mx, e[b]);
  }
  std::vector<double> out;
  double last = -1e9;
  const double lvl = thresh * mx;
  const double amp = std::sqrt(lvl);
  for (size_t b = 1; b < e.size(); ++b) {
    if (e[b] >= lvl && e[b - 1] < lvl && (b * w) / kSr - last > refractory_s) {
      // refine: first sample in the previous or this block whose magnitude exceeds amp/2
      size_t s0 = (b - 1) * w;
      size_t hit = b * w;
      for (size_t i = s0; i < (b + 1) * w && i < x.size(); ++i)
        if (std::fabs(x[i]) > 0.5 * amp) {
          hit = i;
          break;
        }
      out.push_back(hit / kSr);
      last = hit / kSr;
    }
  }
  return out;
}

// Least-squares period of a series of event times (seconds/event).
inline double fitted_period(const std::vector<double>& t) {
  const double n = static_cast<double>(t.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    sx += i;
    sy += t[i];
    sxx += double(i) * i;
    sxy += i * t[i];
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// Frequency of the strongest sinusoid near `guess_hz` (±search_hz) in x[start, start+len):
// Hann-windowed DFT magnitude scanned in 0.02 Hz steps.
inline double tone_frequency(const std::vector<float>& x, size_t start, size_t len, double guess_hz,
                             double search_hz = 40.0) {
  std::vector<double> w(len);
  for (size_t i = 0; i < len; ++i) w[i] = x[start + i] * (0.5 - 0.5 * std::cos(2 * M_PI * i / len));
  auto mag = [&](double f) {
    double re = 0, im = 0;
    const double dw = 2 * M_PI * f / kSr;
    // rotate a phasor instead of calling sin/cos per sample
    double c = 1, s = 0;
    const double cd = std::cos(dw), sd = std::sin(dw);
    for (size_t i = 0; i < len; ++i) {
      re += w[i] * c;
      im -= w[i] * s;
      const double nc = c * cd - s * sd;
      s = s * cd + c * sd;
      c = nc;
    }
    return re * re + im * im;
  };
  double best = guess_hz, bm = -1;
  for (double f = guess_hz - search_hz; f <= guess_hz + search_hz; f += 0.5) {
    const double m = mag(f);
    if (m > bm) {
      bm = m;
      best = f;
    }
  }
  const double c0 = best;
  for (double f = c0 - 0.5; f <= c0 + 0.5; f += 0.02) {
    const double m = mag(f);
    if (m > bm) {
      bm = m;
      best = f;
    }
  }
  return best;
}

inline double cents(double f, double ref) { return 1200.0 * std::log2(f / ref); }

// Largest absolute sample-to-sample step in x[a, b).
inline double max_step(const std::vector<float>& x, size_t a, size_t b) {
  double m = 0;
  for (size_t i = std::max<size_t>(a, 1); i < b && i < x.size(); ++i)
    m = std::max(m, static_cast<double>(std::fabs(x[i] - x[i - 1])));
  return m;
}

}  // namespace deck_test
