#include "mixer/isolator_eq.h"

#include <algorithm>
#include <cmath>

namespace dju {

namespace {

// Q of the two sections of a 4th-order Butterworth: 1 / (2 cos(π/8)) and 1 / (2 cos(3π/8)).
constexpr double kButterQ[2] = {0.54119610014619701, 1.3065629648763766};

constexpr uint32_t kBlock = 16;              // coefficients of gliding filters are refreshed this often
constexpr uint32_t kGainRamp = 480;          // 10 ms at 48 kHz: band gains and kills
constexpr uint32_t kXoRamp = 2400;           // 50 ms: crossover glides
constexpr uint32_t kEqCrossfade = 1024;      // ~21 ms in and out of the bypass
constexpr uint32_t kKnobRamp = 3072;         // 64 ms: the filter knob (a full-range jump sweeps, never snaps)
constexpr uint32_t kFilterCrossfade = 480;   // 10 ms in and out of each filter stage

uint32_t scaled(uint32_t samples_at_48k, double rate) {
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(samples_at_48k * rate / 48000.0)));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// IsolatorEq

IsolatorEq::IsolatorEq() {
  for (auto& g : gain_) g.snap_to(1.0f);
  log_xo_[0].snap_to(std::log2(kDefaultLowMidHz));
  log_xo_[1].snap_to(std::log2(kDefaultMidHighHz));
  wet_.snap_to(0.0f);
  configure(48000.0, 2);
}

void IsolatorEq::configure(double sample_rate, int channels) {
  rate_ = sample_rate > 0 ? sample_rate : 48000.0;
  channels_ = std::clamp(channels, 1, kMixerMaxChannels);
  for (auto& g : gain_) g.set_ramp_samples(scaled(kGainRamp, rate_));
  for (auto& x : log_xo_) x.set_ramp_samples(scaled(kXoRamp, rate_));
  wet_.set_ramp_samples(scaled(kEqCrossfade, rate_));
  reset();
}

void IsolatorEq::set_band_gain(Band band, float gain) {
  gain_[band].set_target(std::max(0.0f, gain));
}

void IsolatorEq::set_crossovers(float low_mid_hz, float mid_high_hz) {
  // Keep the crossovers ordered and inside the audio band.
  float lo = std::clamp(low_mid_hz, 20.0f, 16000.0f);
  float hi = std::clamp(mid_high_hz, 20.0f, 20000.0f);
  if (hi < lo * 1.5f) hi = lo * 1.5f;
  log_xo_[0].set_target(std::log2(lo));
  log_xo_[1].set_target(std::log2(hi));
}

void IsolatorEq::reset() {
  for (auto& g : gain_) g.snap();
  for (auto& x : log_xo_) x.snap();
  for (auto& c : ch_) c = ChannelState{};
  const bool unity = gain_[0].current() == 1.0f && gain_[1].current() == 1.0f && gain_[2].current() == 1.0f;
  wet_.snap_to(unity ? 0.0f : 1.0f);
  in_path_ = !unity;
  update_coefs(true);
}

void IsolatorEq::update_coefs(bool force) {
  for (int x = 0; x < 2; ++x) {
    const float lf = log_xo_[x].current();
    if (!force && lf == coef_xo_[x]) continue;
    coef_xo_[x] = lf;
    const double hz = std::exp2(static_cast<double>(lf));
    for (int s = 0; s < 2; ++s) xo_[x][s].set(hz, kButterQ[s], rate_);
  }
}

void IsolatorEq::process(float* data, uint32_t frames) {
  while (frames > 0) {
    const uint32_t n = std::min(frames, kBlock);
    process_block(data, n);
    data += static_cast<size_t>(n) * channels_;
    frames -= n;
  }
}

void IsolatorEq::process_block(float* data, uint32_t n) {
  float gl[kBlock], gm[kBlock], gh[kBlock], wet[kBlock];
  gain_[0].ramp_block(gl, n);
  gain_[1].ramp_block(gm, n);
  gain_[2].ramp_block(gh, n);

  // In the path while any band is (or is moving) away from unity; out once all sit at unity.
  const bool unity = gain_[0].target() == 1.0f && gain_[1].target() == 1.0f && gain_[2].target() == 1.0f &&
                     gl[n - 1] == 1.0f && gm[n - 1] == 1.0f && gh[n - 1] == 1.0f;
  wet_.set_target(unity ? 0.0f : 1.0f);
  if (!in_path_) {
    if (unity) return;  // bypassed: untouched audio
    // Stepping in: start from rest, at the crossovers as they are set now.
    log_xo_[0].snap();
    log_xo_[1].snap();
    update_coefs(false);
    for (auto& c : ch_) c = ChannelState{};
    in_path_ = true;
  }
  const bool moving = wet_.ramp_block(wet, n);
  if (!moving && wet[n - 1] == 0.0f) {
    in_path_ = false;  // the crossfade out has finished: from now on, untouched audio
    return;
  }

  if (log_xo_[0].ramping() || log_xo_[1].ramping()) {
    log_xo_[0].ramp_block(nullptr, n);
    log_xo_[1].ramp_block(nullptr, n);
    update_coefs(false);
  }

  const SvfCoefs& a1 = xo_[0][0];
  const SvfCoefs& b1 = xo_[0][1];
  const SvfCoefs& a2 = xo_[1][0];
  const SvfCoefs& b2 = xo_[1][1];
  const int nch = channels_;

  // Frame by frame, all channels inside: the channels' filter chains are independent, so the CPU
  // overlaps them (each chain alone is one long dependency).
  for (uint32_t i = 0; i < n; ++i) {
    float* p = data + static_cast<size_t>(i) * nch;
    for (int c = 0; c < nch; ++c) {
      ChannelState& s = ch_[c];
      const float x = p[c];
      // Split 1 (low | mid+high). The first section is shared by the low-pass and high-pass paths.
      float band, low;
      s.split1_first.tick(a1, x, band, low);
      const float hp1 = x - a1.k * band - low;
      float lp = s.split1_lp[0].lowpass(b1, low);
      lp = s.split1_lp[1].lowpass(a1, lp);
      lp = s.split1_lp[2].lowpass(b1, lp);
      float rest = s.split1_hp[0].highpass(b1, hp1);
      rest = s.split1_hp[1].highpass(a1, rest);
      rest = s.split1_hp[2].highpass(b1, rest);
      // Split 2 (mid | high).
      s.split2_first.tick(a2, rest, band, low);
      const float hp2 = rest - a2.k * band - low;
      float mid = s.split2_lp[0].lowpass(b2, low);
      mid = s.split2_lp[1].lowpass(a2, mid);
      mid = s.split2_lp[2].lowpass(b2, mid);
      float high = s.split2_hp[0].highpass(b2, hp2);
      high = s.split2_hp[1].highpass(a2, high);
      high = s.split2_hp[2].highpass(b2, high);
      // The low band takes the all-pass of crossover 2 so that it stays in phase with mid + high.
      float lo = s.low_allpass[0].allpass(a2, lp);
      lo = s.low_allpass[1].allpass(b2, lo);

      const float y = gl[i] * lo + gm[i] * mid + gh[i] * high;
      p[c] = x + wet[i] * (y - x);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OneKnobFilter

OneKnobFilter::OneKnobFilter() {
  knob_.snap_to(0.0f);
  wet_lp_.snap_to(0.0f);
  wet_hp_.snap_to(0.0f);
  configure(48000.0, 2);
}

void OneKnobFilter::configure(double sample_rate, int channels) {
  rate_ = sample_rate > 0 ? sample_rate : 48000.0;
  channels_ = std::clamp(channels, 1, kMixerMaxChannels);
  knob_.set_ramp_samples(scaled(kKnobRamp, rate_));
  wet_lp_.set_ramp_samples(scaled(kFilterCrossfade, rate_));
  wet_hp_.set_ramp_samples(scaled(kFilterCrossfade, rate_));
  reset();
}

void OneKnobFilter::set_position(float knob) {
  if (!(knob == knob)) knob = 0.0f;
  knob_.set_target(std::clamp(knob, -1.0f, 1.0f));
}

double OneKnobFilter::lowpass_cutoff(float knob) {
  // 20 kHz at the centre down to 30 Hz at -1, exponential.
  const double t = std::clamp(-static_cast<double>(knob), 0.0, 1.0);
  return 20000.0 * std::pow(30.0 / 20000.0, t);
}

double OneKnobFilter::highpass_cutoff(float knob) {
  // 20 Hz at the centre up to 12 kHz at +1, exponential.
  const double t = std::clamp(static_cast<double>(knob), 0.0, 1.0);
  return 20.0 * std::pow(12000.0 / 20.0, t);
}

double OneKnobFilter::resonance_q(float knob) {
  // Butterworth (no peak) at the centre, rising to Q = 1.0 by a half turn (0 dB at the cutoff
  // instead of -3 dB, a +1.25 dB bump just below it): the "little resonance" of a club filter,
  // which sings without whistling or ringing when the knob is thrown.
  const double t = std::min(1.0, std::fabs(static_cast<double>(knob)) * 2.0);
  return 0.70710678 + 0.3 * t;
}

void OneKnobFilter::reset() {
  knob_.snap();
  const float k = knob_.current();
  wet_lp_.snap_to(k < 0.0f ? 1.0f : 0.0f);
  wet_hp_.snap_to(k > 0.0f ? 1.0f : 0.0f);
  for (int c = 0; c < kMixerMaxChannels; ++c) {
    lp_state_[c].reset();
    hp_state_[c].reset();
  }
  lp_.set(lowpass_cutoff(std::min(k, 0.0f)), resonance_q(k), rate_);
  hp_.set(highpass_cutoff(std::max(k, 0.0f)), resonance_q(k), rate_);
}

bool OneKnobFilter::bypassed() const {
  return wet_lp_.current() == 0.0f && wet_hp_.current() == 0.0f && !wet_lp_.ramping() && !wet_hp_.ramping() &&
         knob_.current() == 0.0f && !knob_.ramping();
}

void OneKnobFilter::process(float* data, uint32_t frames) {
  // The common case — knob at the centre, nothing moving — costs three atomic loads.
  if (bypassed() && knob_.target() == 0.0f) return;
  while (frames > 0) {
    const uint32_t n = std::min(frames, kBlock);
    process_block(data, n);
    data += static_cast<size_t>(n) * channels_;
    frames -= n;
  }
}

void OneKnobFilter::process_block(float* data, uint32_t n) {
  // While the knob moves, its value and both stages' coefficients are updated every sample: the
  // SVF tolerates that, and a coarser staircase of cutoff and Q would step the band-pass state's
  // contribution audibly during a fast sweep.
  const bool knob_moving = knob_.ramping();
  float kv[kBlock];
  knob_.ramp_block(kv, n);
  const float k_end = kv[n - 1];
  wet_lp_.set_target(k_end < 0.0f ? 1.0f : 0.0f);
  wet_hp_.set_target(k_end > 0.0f ? 1.0f : 0.0f);
  float wlp[kBlock], whp[kBlock];
  const bool lp_moving = wet_lp_.ramp_block(wlp, n);
  const bool hp_moving = wet_hp_.ramp_block(whp, n);
  const bool lp_on = lp_moving || wlp[n - 1] > 0.0f;
  const bool hp_on = hp_moving || whp[n - 1] > 0.0f;
  if (!lp_on)
    for (int c = 0; c < channels_; ++c) lp_state_[c].reset();
  if (!hp_on)
    for (int c = 0; c < channels_; ++c) hp_state_[c].reset();
  if (!lp_on && !hp_on) return;

  const int nch = channels_;
  for (uint32_t i = 0; i < n; ++i) {
    if (knob_moving || i == 0) {
      // Each stage keeps its last cutoff while it fades out on the other side of the centre.
      const float k = kv[i];
      if (lp_on && k <= 0.0f) lp_.set(lowpass_cutoff(k), resonance_q(k), rate_);
      if (hp_on && k >= 0.0f) hp_.set(highpass_cutoff(k), resonance_q(k), rate_);
    }
    float* p = data + static_cast<size_t>(i) * nch;
    for (int c = 0; c < nch; ++c) {
      float x = p[c];
      if (lp_on) x += wlp[i] * (lp_state_[c].lowpass(lp_, x) - x);
      if (hp_on) x += whp[i] * (hp_state_[c].highpass(hp_, x) - x);
      p[c] = x;
    }
  }
}

}  // namespace dju
