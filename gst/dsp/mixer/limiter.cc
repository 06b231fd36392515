#include "mixer/limiter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

namespace dju {

void LookaheadLimiter::configure(double sample_rate, int channels, uint32_t window_frames, float release_ms) {
  channels_ = std::max(1, channels);
  window_ = std::max<uint32_t>(2, window_frames);
  const double rate = sample_rate > 0 ? sample_rate : 48000.0;
  // Per-frame recovery toward unity with time constant release_ms.
  decay_ = static_cast<float>(std::exp(-1.0 / (std::max(1.0f, release_ms) * 1e-3 * rate)));
  delay_.assign(static_cast<size_t>(window_) * channels_, 0.0f);
  spare_.assign(delay_.size(), 0.0f);
  // The hold spans window_ + 1 frames: the peak frame leaves the delay line window_ frames after it
  // entered, and every envelope value averaged for it (the last window_) must have seen its r.
  hold_block_.assign(window_ + 1, 1.0f);
  hold_suffix_.assign(window_ + 2, 1.0f);
  red_.assign(window_, 0.0f);
  reset();
}

void LookaheadLimiter::reset() {
  std::fill(delay_.begin(), delay_.end(), 0.0f);
  std::fill(red_.begin(), red_.end(), 0.0f);
  delay_pos_ = 0;
  std::fill(hold_suffix_.begin(), hold_suffix_.end(), 1.0f);
  suffix_unity_ = true;
  hold_pos_ = 0;
  hold_prefix_ = 1.0f;
  last_held_ = 1.0f;
  env_red_ = 0.0f;
  red_pos_ = 0;
  red_sum_ = 0.0;
  red_nonzero_ = 0;
  min_gain_ = 1.0f;
}

void LookaheadLimiter::process(float* data, uint32_t frames) {
  const int nch = channels_;
  const size_t n = static_cast<size_t>(frames) * nch;
  // Fast path, the usual case: nothing above the ceiling in this block and nothing being limited
  // (no reduction in the hold window, the release or the smoothing window). The gain is exactly 1:
  // the block only goes through the delay line.
  const float block_peak = peak_abs(data, n);
  const bool idle = env_red_ == 0.0f && red_nonzero_ == 0 && last_held_ >= 1.0f;
  if (idle && block_peak <= ceiling_) {
    delay(data, frames);
    // The hold window now holds only unity: a fresh block after an all-unity one stands for it.
    if (!suffix_unity_) {
      std::fill(hold_suffix_.begin(), hold_suffix_.end(), 1.0f);
      suffix_unity_ = true;
    }
    hold_pos_ = 0;
    hold_prefix_ = 1.0f;
    // The reduction ring is all zeros and stays so; only its position moves.
    red_pos_ = static_cast<uint32_t>((red_pos_ + frames) % window_);
    return;
  }
  process_frames(data, frames);
}

void LookaheadLimiter::process_frames(float* data, uint32_t frames) {
  // In chunks: first the gain of every frame (the envelope is serial, one frame after another),
  // then the delay line and the gains applied to the whole chunk at once.
  while (frames > 0) {
    const uint32_t n = std::min<uint32_t>(frames, kChunk);
    envelope(data, n);
    apply(data, n);
    data += static_cast<size_t>(n) * channels_;
    frames -= n;
  }
}

void LookaheadLimiter::envelope(const float* data, uint32_t frames) {
  const int nch = channels_;
  const float ceil = ceiling_;
  float* r = gains_;  // first the required gains, then (in place) the applied ones

  // 1. Required gain of every frame: ceiling / peak over the channels, 1 if below the ceiling.
  uint32_t f = 0;
  if (nch == 2) {
    const F4 c4 = splat4(ceil), one = splat4(1.0f);
    for (; f + 4 <= frames; f += 4) {
      const float* p = data + 2 * static_cast<size_t>(f);
      const F4 a = abs4(load4(p)), b = abs4(load4(p + 4));
      const F4 pk = max4(__builtin_shuffle(a, b, I4{0, 2, 4, 6}), __builtin_shuffle(a, b, I4{1, 3, 5, 7}));
      const F4 q = pk > c4 ? c4 / pk : one;
      store4(r + f, q);
    }
  }
  for (; f < frames; ++f) {
    const float* frame = data + static_cast<size_t>(f) * nch;
    float peak = 0.0f;
    for (int c = 0; c < nch; ++c) peak = std::max(peak, std::fabs(frame[c]));
    r[f] = peak > ceil ? ceil / peak : 1.0f;
  }

  // The state in locals: the arrays below are floats too, and the compiler would otherwise reload
  // every member after each store.
  const double inv_w = 1.0 / window_;
  const uint32_t cap = window_ + 1, window = window_;
  const float decay = decay_;
  float* block = hold_block_.data();
  float* suffix = hold_suffix_.data();
  float* red_ring = red_.data();
  uint32_t hold_pos = hold_pos_, red_pos = red_pos_;
  float prefix = hold_prefix_, held = last_held_;
  int64_t red_nonzero = red_nonzero_;
  float env_red = env_red_, min_gain = min_gain_;
  double red_sum = red_sum_;
  for (f = 0; f < frames; ++f) {
    const float rf = r[f];
    // 2. Sliding minimum over the last window_ + 1 frames (= cap, the block length): this block
    // up to here and the previous block after this position.
    block[hold_pos] = rf;
    prefix = hold_pos == 0 ? rf : std::min(prefix, rf);
    held = std::min(prefix, suffix[hold_pos + 1]);
    if (++hold_pos == cap) {
      for (uint32_t j = cap; j-- > 0;) suffix[j] = std::min(block[j], suffix[j + 1]);
      suffix_unity_ = false;
      hold_pos = 0;
    }

    // 3. Release, tracked as the reduction (1 - e) so float precision near unity does not stall it.
    float red = env_red * decay;
    if (red < 1e-4f) red = 0.0f;  // back to exact unity once the release has run out (a -80 dB step)
    env_red = std::max(1.0f - held, red);

    // 4. Moving mean of the reduction; exactly zero when the window holds none.
    const float red_out = red_ring[red_pos];
    red_ring[red_pos] = env_red;
    if (++red_pos == window) red_pos = 0;
    red_sum += static_cast<double>(env_red) - red_out;
    red_nonzero += (env_red != 0.0f) - (red_out != 0.0f);
    if (red_nonzero == 0) red_sum = 0.0;
    const float gain = red_nonzero ? static_cast<float>(1.0 - red_sum * inv_w) : 1.0f;
    min_gain = std::min(min_gain, gain);
    r[f] = gain;
  }
  hold_pos_ = hold_pos;
  hold_prefix_ = prefix;
  last_held_ = held;
  red_pos_ = red_pos;
  red_nonzero_ = static_cast<uint32_t>(red_nonzero);
  env_red_ = env_red;
  min_gain_ = min_gain;
  red_sum_ = red_sum;
}

void LookaheadLimiter::apply(float* data, uint32_t frames) {
  // The frames leave the delay line, each scaled by its gain (a gain of exactly 1 leaves it
  // bit-exact) and clamped to the ceiling, which only catches float rounding.
  delay(data, frames);
  const int nch = channels_;
  const float ceil = ceiling_;
  const F4 hi = splat4(ceil), lo = splat4(-ceil);
  uint32_t f = 0;
  if (nch == 2) {
    for (; f + 2 <= frames; f += 2) {
      float* p = data + 2 * static_cast<size_t>(f);
      const F4 g = F4{gains_[f], gains_[f], gains_[f + 1], gains_[f + 1]};
      F4 y = load4(p) * g;
      y = y > hi ? hi : y;
      y = y < lo ? lo : y;
      store4(p, y);
    }
  }
  for (; f < frames; ++f) {
    float* p = data + static_cast<size_t>(f) * nch;
    for (int c = 0; c < nch; ++c) p[c] = std::clamp(p[c] * gains_[f], -ceil, ceil);
  }
}

void LookaheadLimiter::delay(float* data, uint32_t frames) {
  const int nch = channels_;
  float* ring = delay_.data();
  if (frames >= window_) {
    // Whole-block delay: the ring (oldest first) comes out, then the head of the block; the
    // block's last window_ frames become the ring.
    const size_t n = static_cast<size_t>(frames) * nch;
    const size_t w = static_cast<size_t>(window_) * nch;
    const size_t older = static_cast<size_t>(window_ - delay_pos_) * nch;  // ring[pos..W)
    std::memcpy(spare_.data(), data + (n - w), w * sizeof(float));
    std::memmove(data + w, data, (n - w) * sizeof(float));
    std::memcpy(data, ring + (w - older), older * sizeof(float));
    std::memcpy(data + older, ring, (w - older) * sizeof(float));
    delay_.swap(spare_);
    delay_pos_ = 0;
    return;
  }
  for (uint32_t f = 0; f < frames; ++f) {
    float* frame = data + static_cast<size_t>(f) * nch;
    float* slot = ring + static_cast<size_t>(delay_pos_) * nch;
    for (int c = 0; c < nch; ++c) std::swap(frame[c], slot[c]);
    if (++delay_pos_ == window_) delay_pos_ = 0;
  }
}

}  // namespace dju
