// The analysers' band splits (djspectrum's onset bands, djjudge's deck bands): second-order
// sections in transposed direct form II, in double, designed after the RBJ audio-EQ cookbook.
#pragma once

#include <cmath>

namespace dju {

struct AnalysisBiquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
  double z1 = 0, z2 = 0;

  double run(double x) {
    const double y = b0 * x + z1;
    z1 = b1 * x - a1 * y + z2;
    z2 = b2 * x - a2 * y;
    return y;
  }
  void clear() { z1 = z2 = 0; }

  static AnalysisBiquad lowpass(double fc, double rate, double q) {
    const double w = 2 * M_PI * fc / rate, cw = std::cos(w), al = std::sin(w) / (2 * q), a0 = 1 + al;
    AnalysisBiquad f;
    f.b0 = f.b2 = (1 - cw) / 2 / a0;
    f.b1 = (1 - cw) / a0;
    f.a1 = -2 * cw / a0;
    f.a2 = (1 - al) / a0;
    return f;
  }
  static AnalysisBiquad highpass(double fc, double rate, double q) {
    const double w = 2 * M_PI * fc / rate, cw = std::cos(w), al = std::sin(w) / (2 * q), a0 = 1 + al;
    AnalysisBiquad f;
    f.b0 = f.b2 = (1 + cw) / 2 / a0;
    f.b1 = -(1 + cw) / a0;
    f.a1 = -2 * cw / a0;
    f.a2 = (1 - al) / a0;
    return f;
  }
};

}  // namespace dju
