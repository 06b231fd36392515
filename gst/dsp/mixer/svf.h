// State-variable filter in the trapezoidal (topology-preserving) form described by Andrew Simper
// (Cytomic, "Linear trapezoidal integrated SVF"). One tick gives low-pass, band-pass, high-pass and
// all-pass outputs of the same 2nd-order section. We use it everywhere in the mixer rather than
// direct-form biquads because its coefficients may move every few samples without clicks or
// instability: that is what lets the crossover frequencies and the filter knob glide.
#pragma once

#include <algorithm>
#include <cmath>

namespace dju {

struct SvfCoefs {
  float k = 1.41421356f;  // 1/Q
  float g = 0.0f;          // tan(π·fc/fs)
  float a1 = 1.0f, a2 = 0.0f, a3 = 0.0f;

  // cutoff in Hz (clamped below Nyquist), q = quality factor.
  void set(double cutoff_hz, double q, double sample_rate) {
    const double fc = std::clamp(cutoff_hz, 1.0, 0.49 * sample_rate);
    const double t = std::tan(M_PI * fc / sample_rate);
    const double kk = 1.0 / q;
    const double d1 = 1.0 / (1.0 + t * (t + kk));
    k = static_cast<float>(kk);
    g = static_cast<float>(t);
    a1 = static_cast<float>(d1);
    a2 = static_cast<float>(t * d1);
    a3 = static_cast<float>(t * t * d1);
  }
};

struct SvfState {
  float ic1 = 0.0f, ic2 = 0.0f;

  void reset() { ic1 = ic2 = 0.0f; }

  // One sample; returns band (v1) and low (v2); high = x - k·band - low; allpass = x - 2k·band.
  inline void tick(const SvfCoefs& c, float x, float& band, float& low) {
    const float v3 = x - ic2;
    const float v1 = c.a1 * ic1 + c.a2 * v3;
    const float v2 = ic2 + c.a2 * ic1 + c.a3 * v3;
    ic1 = 2.0f * v1 - ic1;
    ic2 = 2.0f * v2 - ic2;
    band = v1;
    low = v2;
  }
  inline float lowpass(const SvfCoefs& c, float x) {
    float b, l;
    tick(c, x, b, l);
    return l;
  }
  inline float highpass(const SvfCoefs& c, float x) {
    float b, l;
    tick(c, x, b, l);
    return x - c.k * b - l;
  }
  inline float allpass(const SvfCoefs& c, float x) {
    float b, l;
    tick(c, x, b, l);
    return x - 2.0f * c.k * b;
  }
};

}  // namespace dju
