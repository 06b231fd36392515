// The channel strip's tone controls: a 3-band isolator EQ with kills and the one-knob filter.
// Pure C++, no GLib. Setters may be called from any thread (lock-free targets); process() runs on
// the audio thread, never allocates and never blocks.
#pragma once

#include <cstdint>

#include "common/smoothing.h"
#include "mixer/simd.h"
#include "mixer/svf.h"

namespace dju {

constexpr int kMixerMaxChannels = 8;

// Crossover defaults as in Mixxx's isolator EQs.
constexpr float kDefaultLowMidHz = 246.0f;
constexpr float kDefaultMidHighHz = 2500.0f;

// Linkwitz-Riley isolator: the input is split at two crossovers into low, mid and high bands, each
// band is scaled by its gain, and the bands are summed. The crossovers are 8th order (LR8 = two
// 4th-order Butterworths in cascade, 48 dB/octave) — LR4 cannot reach the kill depths a DJ expects
// (a 50 Hz kick under a killed low band at 246 Hz only drops 55 dB with LR4, 110 dB with LR8; a
// 1 kHz tone under a killed mid only 32 dB from the high band's leakage with LR4).
// The low band also runs through the all-pass of the upper crossover, so the three bands stay in
// phase: at equal gains they sum to an all-pass (flat magnitude, no notch at the crossovers).
//
// How it is computed: with L1/H1 the low-pass/high-pass of crossover 1 and LP2/HP2 those of
// crossover 2, the output gl·AP2(L1) + gm·LP2(H1) + gh·HP2(H1) equals LP2(gl·L1 + gm·H1) +
// HP2(gl·L1 + gh·H1), because an LR crossover's two halves sum to its all-pass (AP2 = LP2 + HP2).
// That form has two independent 4-section chains per crossover and per channel, so a stereo pair
// runs as four lanes of one SIMD vector: [left low-pass, left high-pass, right low-pass, right
// high-pass] (the first section of each crossover is computed once per lane pair, both outputs
// of the same state). Eight vector steps per frame instead of 32 scalar filter sections.
//
// When every band is at unity (and the ramps have finished) the EQ steps out of the signal path
// entirely — output is bit-exact and costs nothing — with a short crossfade in and out.
class IsolatorEq {
 public:
  enum Band { kLow = 0, kMid = 1, kHigh = 2 };

  IsolatorEq();

  // Audio configuration. Call when the stream is not running (e.g. set_caps).
  void configure(double sample_rate, int channels);

  // Linear gain of a band (0 = kill). Any thread.
  void set_band_gain(Band band, float gain);
  // Crossover frequencies in Hz; they glide there over ~50 ms. Any thread.
  void set_crossovers(float low_mid_hz, float mid_high_hz);

  // Audio thread: forget all filter state and jump every parameter to its target.
  void reset();
  // Audio thread: filters `frames` interleaved frames in place.
  void process(float* data, uint32_t frames);

  // The steady-state kernels: Portable (4-float vectors, any CPU), Avx2 (AVX2 + FMA), Avx512.
  // process() uses the best the CPU has; force_kernel() picks one for all EQs (tests compare
  // them) and returns false if the CPU lacks it; Auto goes back to the best.
  enum class Kernel { Auto = 0, Portable = 1, Avx2 = 2, Avx512 = 3 };
  static bool force_kernel(Kernel kernel);

  // True while the EQ is fully out of the signal path.
  bool bypassed() const { return !in_path_; }
  // Out of the path and nothing asks to come back in: process() would not touch the audio.
  bool idle() const {
    return !in_path_ && gain_[0].target() == 1.0f && gain_[1].target() == 1.0f && gain_[2].target() == 1.0f;
  }

 private:
  // The eight SVF steps of a channel pair, as four "ticks" of eight lanes: lanes 0–3 are step t
  // (crossover 1: [left low-pass, left high-pass, right low-pass, right high-pass]) and lanes 4–7
  // step t + 4 (crossover 2, the same lane roles). Each step is the SVF of svf.h written in state
  // form, so the output waits for the input through two operations only: with v3 = x - ic2,
  //   out = m3·v3 + q1·ic1 + q2·ic2,  ic1' = c1·ic1 + d·v3,  ic2' = d·ic1 + ic2 + e·v3
  // (c1 = 2a1 - 1, d = 2a2, e = 2a3; low-pass lanes m3 = a3, q1 = a2, q2 = 1; high-pass lanes
  // m3 = a1, q1 = -(k·a1 + a2), q2 = 0).
  struct Coefs {
    alignas(32) float m3[4][8];
    alignas(32) float q1[4][8];
    alignas(32) float q2[4][8];
    alignas(32) float c1[4][8];
    alignas(32) float d[4][8];
    alignas(32) float e[4][8];
  };
  struct PairState {
    alignas(32) float ic1[4][8];
    alignas(32) float ic2[4][8];
  };

  void update_coefs(bool force);
  void process_block(float* data, uint32_t frames);
  template <bool kRamp>
  void run_pair(PairState& ps, float* data, uint32_t frames, int c0, int c1, const float* gl, const float* gm,
                const float* gh, const float* wet);
  void run_steady(float* data, uint32_t frames, float gl, float gm, float gh);

  double rate_ = 48000.0;
  int channels_ = 2;

  SmoothedParam gain_[3];
  SmoothedParam log_xo_[2];  // log2 of the crossover frequencies
  SmoothedParam wet_;        // 0 = bypassed, 1 = EQ in the path
  bool in_path_ = false;
  float coef_xo_[2] = {0.0f, 0.0f};

  // Per crossover: the two sections of a 4th-order Butterworth (k = 2cos(π/8), 2cos(3π/8)).
  SvfCoefs xo_[2][2];
  Coefs co_;
  PairState pairs_[(kMixerMaxChannels + 1) / 2];
};

// The one-knob filter of club mixers: -1 … 0 … +1. Left of centre a resonant low-pass sweeps down
// from 20 kHz to 30 Hz, right of centre a resonant high-pass sweeps up from 20 Hz to 12 kHz; the
// sweep is exponential in the knob (equal musical distance per turn). At the centre the filter is
// out of the signal path (no cost, bit-exact). The low-pass and the high-pass are two separate
// stages, each faded in and out, so crossing the centre never switches a running filter's output.
class OneKnobFilter {
 public:
  OneKnobFilter();
  void configure(double sample_rate, int channels);
  void set_position(float knob);  // any thread; clamped to -1..1
  void reset();
  void process(float* data, uint32_t frames);
  bool bypassed() const;
  bool idle() const { return bypassed() && knob_.target() == 0.0f; }

  // The mapping, exposed for tests and UIs.
  static double lowpass_cutoff(float knob);   // knob < 0
  static double highpass_cutoff(float knob);  // knob > 0
  static double resonance_q(float knob);

 private:
  void process_block(float* data, uint32_t frames);
  double rate_ = 48000.0;
  int channels_ = 2;
  SmoothedParam knob_;
  SmoothedParam wet_lp_, wet_hp_;
  SvfCoefs lp_, hp_;
  SvfState lp_state_[kMixerMaxChannels], hp_state_[kMixerMaxChannels];
};

}  // namespace dju
