// Small synthesis toolkit for the demo generator: a seeded random source, band-limited
// oscillators, a state-variable filter, a reverb and a delay. Everything is deterministic: the
// same binary renders the same samples on every run (no clocks, no threads inside a track, no
// standard-library distributions whose output may differ between implementations).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace demo {

constexpr int kRate = 48000;
constexpr double kPi = 3.14159265358979323846;
constexpr double kTwoPi = 2.0 * kPi;

// xorshift64*: tiny, fast and the same everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 2685821657736338717ull;
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  float bipolar() { return float(uniform() * 2.0 - 1.0); }                        // [-1, 1)
  int below(int n) { return int(uniform() * n); }
  bool chance(double p) { return uniform() < p; }

 private:
  uint64_t s_;
};

inline double midi_hz(double note) { return 440.0 * std::pow(2.0, (note - 69.0) / 12.0); }

// sin(2*pi*phase) for phase in [0, 1): a 7th-order odd polynomial on a quarter wave, accurate to
// about 1e-6 — far cheaper than std::sin in the inner loops and identical on every run.
inline float sin01(double phase) {
  double p = phase - std::floor(phase);
  // Fold to [-0.25, 0.25] of a cycle where the polynomial is accurate.
  double x;
  if (p < 0.25) x = p;
  else if (p < 0.75) x = 0.5 - p;
  else x = p - 1.0;
  double t = x * kTwoPi;
  double t2 = t * t;
  return float(t * (1.0 + t2 * (-1.0 / 6 + t2 * (1.0 / 120 + t2 * (-1.0 / 5040 + t2 * (1.0 / 362880))))));
}

// PolyBLEP correction: a two-sample polynomial approximation of the band-limited step, subtracted
// at each discontinuity so saws and squares do not fold their upper harmonics back as aliases.
inline double poly_blep(double t, double dt) {
  if (t < dt) {
    t /= dt;
    return t + t - t * t - 1.0;
  }
  if (t > 1.0 - dt) {
    t = (t - 1.0) / dt;
    return t * t + t + t + 1.0;
  }
  return 0.0;
}

struct Saw {
  double phase = 0.0, inc = 0.0;
  void set_hz(double hz) { inc = hz / kRate; }
  float next() {
    double v = 2.0 * phase - 1.0 - poly_blep(phase, inc);
    phase += inc;
    if (phase >= 1.0) phase -= 1.0;
    return float(v);
  }
};

struct Square {
  double phase = 0.0, inc = 0.0;
  void set_hz(double hz) { inc = hz / kRate; }
  float next() {
    double v = phase < 0.5 ? 1.0 : -1.0;
    v += poly_blep(phase, inc);
    double t2 = phase + 0.5;
    if (t2 >= 1.0) t2 -= 1.0;
    v -= poly_blep(t2, inc);
    phase += inc;
    if (phase >= 1.0) phase -= 1.0;
    return float(v);
  }
};

struct Sine {
  double phase = 0.0, inc = 0.0;
  void set_hz(double hz) { inc = hz / kRate; }
  float next() {
    float v = sin01(phase);
    phase += inc;
    if (phase >= 1.0) phase -= 1.0;
    return v;
  }
};

// Topology-preserving state-variable filter (trapezoidal integration): stays stable and smooth
// while its cutoff is swept, which the filter envelopes below do all the time.
struct Svf {
  double k = 1.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, ic1 = 0.0, ic2 = 0.0;
  double low = 0.0, band = 0.0, high = 0.0;
  void set(double hz, double q) {
    hz = std::clamp(hz, 10.0, 0.45 * kRate);
    double g = std::tan(kPi * hz / kRate);
    k = 1.0 / q;
    a1 = 1.0 / (1.0 + g * (g + k));
    a2 = g * a1;
    a3 = g * a2;
  }
  void run(double v0) {
    double v3 = v0 - ic2;
    double v1 = a1 * ic1 + a2 * v3;
    double v2 = ic2 + a2 * ic1 + a3 * v3;
    ic1 = 2.0 * v1 - ic1;
    ic2 = 2.0 * v2 - ic2;
    low = v2;
    band = v1;
    high = v0 - k * v1 - v2;
  }
};

// One-pole low-pass, for damping and smoothing.
struct OnePole {
  double a = 0.0, z = 0.0;
  void set(double hz) { a = std::exp(-kTwoPi * hz / kRate); }
  double run(double x) {
    z = x + a * (z - x);
    return z;
  }
};

// Exponential decay by repeated multiplication: value after n samples is exp(-n / (tau * rate)).
inline double decay_coef(double tau_s) { return std::exp(-1.0 / (tau_s * kRate)); }

// A stereo pair of float buses the length of the track.
struct Bus {
  std::vector<float> l, r;
  explicit Bus(size_t frames = 0) : l(frames, 0.0f), r(frames, 0.0f) {}
  size_t size() const { return l.size(); }
  void add(size_t i, float v, float pan /* -1..1 */) {
    // Constant-power pan law.
    double a = (pan + 1.0) * 0.25 * kPi;
    l[i] += float(v * std::cos(a));
    r[i] += float(v * std::sin(a));
  }
};

// Freeverb-style room: parallel damped combs into series allpasses, per channel, with the right
// channel's delays spread a little longer for width.
class Reverb {
 public:
  Reverb(double room = 0.82, double damp = 0.3) : room_(room), damp_(damp) {
    static const int combs[4] = {1116, 1277, 1422, 1557};
    static const int alls[2] = {556, 441};
    for (int c = 0; c < 2; ++c) {
      int spread = c ? 23 : 0;
      for (int i = 0; i < 4; ++i) comb_[c][i].buf.assign(size_t((combs[i] + spread) * 48 / 44.1), 0.0f);
      for (int i = 0; i < 2; ++i) all_[c][i].buf.assign(size_t((alls[i] + spread) * 48 / 44.1), 0.0f);
    }
  }
  void process(const Bus& in, Bus& out, float gain) {
    for (size_t i = 0; i < in.size(); ++i) {
      float x[2] = {in.l[i], in.r[i]};
      float y[2];
      for (int c = 0; c < 2; ++c) {
        float s = 0.0f;
        for (auto& cb : comb_[c]) {
          float o = cb.buf[cb.pos];
          cb.store = float(o * (1.0 - damp_) + cb.store * damp_);
          cb.buf[cb.pos] = float(x[c] * 0.25f + cb.store * room_);
          if (++cb.pos == cb.buf.size()) cb.pos = 0;
          s += o;
        }
        for (auto& ap : all_[c]) {
          float b = ap.buf[ap.pos];
          float o = -s + b;
          ap.buf[ap.pos] = s + b * 0.5f;
          if (++ap.pos == ap.buf.size()) ap.pos = 0;
          s = o;
        }
        y[c] = s;
      }
      out.l[i] += y[0] * gain;
      out.r[i] += y[1] * gain;
    }
  }

 private:
  struct Line {
    std::vector<float> buf;
    size_t pos = 0;
    float store = 0.0f;
  };
  double room_, damp_;
  Line comb_[2][4];
  Line all_[2][2];
};

// Ping-pong echo with a darkening feedback path (tempo-synced by the caller).
inline void ping_pong_delay(const Bus& in, Bus& out, size_t delay, float feedback, float gain) {
  std::vector<float> bl(delay, 0.0f), br(delay, 0.0f);
  OnePole dl, dr;
  dl.set(3500.0);
  dr.set(3500.0);
  size_t pos = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    float ol = bl[pos], orr = br[pos];
    // Left echoes feed the right line and back: the repeats bounce across the stereo field.
    bl[pos] = float(in.l[i] * 0.5f + in.r[i] * 0.5f + dr.run(orr) * feedback);
    br[pos] = float(dl.run(ol) * feedback);
    if (++pos == delay) pos = 0;
    out.l[i] += ol * gain;
    out.r[i] += orr * gain;
  }
}

}  // namespace demo
