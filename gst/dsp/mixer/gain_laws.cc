#include "mixer/gain_laws.h"

#include <algorithm>
#include <cmath>

namespace dju {

namespace {

constexpr float kHalfPi = 1.57079632679489662f;

// Knee of the channel fader's audio taper and the dB range above it (slopes match at the knee).
constexpr float kFaderKnee = 0.25f;
constexpr float kFaderRangeDb = 26.0577f;  // 60 / ln(10)

}  // namespace

XfadeGains crossfader_gains(float position, CrossfaderCurve curve, float cut_in) {
  if (!(position == position)) position = 0.0f;  // NaN: centre
  // x: 0 at full left, 1 at full right.
  const float x = std::clamp((position + 1.0f) * 0.5f, 0.0f, 1.0f);
  // Edges are exact: the far side is silent, the near side at unity, whatever the curve.
  if (x <= 0.0f) return {1.0f, 0.0f};
  if (x >= 1.0f) return {0.0f, 1.0f};

  switch (curve) {
    case CrossfaderCurve::Linear:
      return {1.0f - x, x};
    case CrossfaderCurve::Cut: {
      const float c = std::clamp(cut_in, 0.0f, 1.0f);
      if (c <= 0.0f) return {1.0f, 1.0f};  // hard cut: only the very edge is silent
      // Each side fades in linearly over the last `c` of travel next to the edge where it is cut.
      return {std::min(1.0f, (1.0f - x) / c), std::min(1.0f, x / c)};
    }
    case CrossfaderCurve::ConstantPower:
    default:
      // Both computed with cos from their own edge, so the two sides are exact mirror images.
      return {std::cos(x * kHalfPi), std::cos((1.0f - x) * kHalfPi)};
  }
}

float channel_fader_gain(float fader) {
  if (!(fader > 0.0f)) return 0.0f;  // also NaN
  if (fader >= 1.0f) return 1.0f;
  const float knee_gain = std::pow(10.0f, -kFaderRangeDb / 20.0f);
  if (fader < kFaderKnee) return knee_gain * fader / kFaderKnee;
  const float db = -kFaderRangeDb * (1.0f - fader) / (1.0f - kFaderKnee);
  return std::pow(10.0f, db / 20.0f);
}

float channel_fader_position(float gain) {
  if (!(gain > 0.0f)) return 0.0f;
  if (gain >= 1.0f) return 1.0f;
  const float knee_gain = std::pow(10.0f, -kFaderRangeDb / 20.0f);
  if (gain < knee_gain) return kFaderKnee * gain / knee_gain;
  const float db = 20.0f * std::log10(gain);
  return 1.0f + db * (1.0f - kFaderKnee) / kFaderRangeDb;
}

}  // namespace dju
