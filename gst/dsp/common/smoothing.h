// Parameter smoothing for live controls.
//
// A control thread writes a target with set_target() (lock-free, any thread); the audio thread
// calls next() once per sample, or ramp_block() once per block, and never sees a jump: the value
// moves linearly to the target over `ramp_samples`. Linear ramps (as Mixxx's applyRampingGain)
// are exact in length, so a test can assert where a ramp ends.
#pragma once

#include <atomic>
#include <cstdint>

namespace dju {

class SmoothedParam {
 public:
  explicit SmoothedParam(float initial = 0.0f, uint32_t ramp_samples = 480)
      : target_(initial), current_(initial), ramp_samples_(ramp_samples ? ramp_samples : 1) {}

  // Control thread. Never blocks.
  void set_target(float v) { target_.store(v, std::memory_order_relaxed); }
  float target() const { return target_.load(std::memory_order_relaxed); }

  // Audio thread: jump straight to the target (e.g. on reset or when not playing yet).
  void snap() {
    current_ = aim_ = target_.load(std::memory_order_relaxed);
    step_ = 0.0f;
    left_ = 0;
  }
  void snap_to(float v) { set_target(v); snap(); }

  void set_ramp_samples(uint32_t n) { ramp_samples_ = n ? n : 1; }

  // Audio thread: the value for the next sample.
  float next() {
    retarget();
    if (left_ > 0) {
      current_ += step_;
      if (--left_ == 0) current_ = aim_;
    }
    return current_;
  }

  // Audio thread: advance a whole block; writes per-sample values into out (may be null) and
  // returns true if the value changed during the block.
  bool ramp_block(float* out, uint32_t n) {
    retarget();
    if (left_ == 0) {
      if (out)
        for (uint32_t i = 0; i < n; ++i) out[i] = current_;
      return false;
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (left_ > 0) {
        current_ += step_;
        if (--left_ == 0) current_ = aim_;
      }
      if (out) out[i] = current_;
    }
    return true;
  }

  float current() const { return current_; }
  bool ramping() const { return left_ > 0 || aim_ != target_.load(std::memory_order_relaxed); }

 private:
  // Picks up a new target; a target that moves mid-ramp restarts the ramp from where we are.
  void retarget() {
    float t = target_.load(std::memory_order_relaxed);
    if (t != aim_) {
      aim_ = t;
      if (t == current_) {
        left_ = 0;
        return;
      }
      left_ = ramp_samples_;
      step_ = (aim_ - current_) / static_cast<float>(left_);
    }
  }

  std::atomic<float> target_;
  float current_;
  float aim_ = current_;
  float step_ = 0.0f;
  uint32_t left_ = 0;
  uint32_t ramp_samples_;
};

}  // namespace dju
