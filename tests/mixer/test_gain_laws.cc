// Gain laws: the crossfader curves and the channel fader taper, checked at every position of a sweep.
#include <gtest/gtest.h>

#include <cmath>

#include "common/units.h"
#include "mixer/gain_laws.h"

using dju::CrossfaderCurve;
using dju::crossfader_gains;

namespace {
constexpr int kSteps = 2000;
float pos_at(int i) { return -1.0f + 2.0f * static_cast<float>(i) / kSteps; }
}  // namespace

TEST(GainLaws, ConstantPowerHoldsAcrossTheThrow) {
  for (int i = 0; i <= kSteps; ++i) {
    auto g = crossfader_gains(pos_at(i), CrossfaderCurve::ConstantPower, 0.0f);
    EXPECT_NEAR(g.left * g.left + g.right * g.right, 1.0f, 0.01f) << "at " << pos_at(i);
    EXPECT_GE(g.left, 0.0f);
    EXPECT_GE(g.right, 0.0f);
  }
  auto c = crossfader_gains(0.0f, CrossfaderCurve::ConstantPower, 0.0f);
  EXPECT_NEAR(dju::gain_to_db(c.left), -3.01f, 0.02f);
  EXPECT_NEAR(c.left, c.right, 1e-6f);
}

TEST(GainLaws, ConstantPowerIsMonotonic) {
  float prev_l = 2.0f, prev_r = -1.0f;
  for (int i = 0; i <= kSteps; ++i) {
    auto g = crossfader_gains(pos_at(i), CrossfaderCurve::ConstantPower, 0.0f);
    EXPECT_LE(g.left, prev_l);
    EXPECT_GE(g.right, prev_r);
    prev_l = g.left;
    prev_r = g.right;
  }
}

TEST(GainLaws, EdgesSilenceTheFarSide) {
  for (auto curve : {CrossfaderCurve::ConstantPower, CrossfaderCurve::Linear, CrossfaderCurve::Cut}) {
    auto l = crossfader_gains(-1.0f, curve, dju::kDefaultCutIn);
    EXPECT_EQ(l.left, 1.0f);
    EXPECT_LE(dju::gain_to_db(l.right), -96.0f);
    auto r = crossfader_gains(1.0f, curve, dju::kDefaultCutIn);
    EXPECT_EQ(r.right, 1.0f);
    EXPECT_LE(dju::gain_to_db(r.left), -96.0f);
    // Out of range clamps to the edge.
    auto o = crossfader_gains(-7.0f, curve, dju::kDefaultCutIn);
    EXPECT_EQ(o.right, 0.0f);
  }
}

TEST(GainLaws, LinearIsAdditive) {
  for (int i = 0; i <= kSteps; ++i) {
    auto g = crossfader_gains(pos_at(i), CrossfaderCurve::Linear, 0.0f);
    EXPECT_NEAR(g.left + g.right, 1.0f, 1e-5f);
  }
  auto c = crossfader_gains(0.0f, CrossfaderCurve::Linear, 0.0f);
  EXPECT_NEAR(dju::gain_to_db(c.left), -6.02f, 0.02f);
}

TEST(GainLaws, CutMatchesItsCutInDistance) {
  for (float cut_in : {0.01f, 0.03f, 0.1f}) {
    // Position units span 2 for the whole throw, so the cut-in zone is 2·cut_in wide at each edge.
    const float zone = 2.0f * cut_in;
    for (int i = 0; i <= kSteps; ++i) {
      const float p = pos_at(i);
      auto g = crossfader_gains(p, CrossfaderCurve::Cut, cut_in);
      const float from_left = p + 1.0f, from_right = 1.0f - p;
      if (from_left >= zone) {
        EXPECT_EQ(g.right, 1.0f) << "p=" << p << " cut_in=" << cut_in;
      } else {
        EXPECT_NEAR(g.right, from_left / zone, 1e-4f);
      }
      if (from_right >= zone) {
        EXPECT_EQ(g.left, 1.0f);
      } else {
        EXPECT_NEAR(g.left, from_right / zone, 1e-4f);
      }
    }
    // Half way into the cut-in zone: the far side at -6 dB.
    auto h = crossfader_gains(-1.0f + cut_in, CrossfaderCurve::Cut, cut_in);
    EXPECT_NEAR(dju::gain_to_db(h.right), -6.02f, 0.05f);
  }
  // cut_in 0: a hard cut, full level one step off the edge.
  auto hard = crossfader_gains(-0.999f, CrossfaderCurve::Cut, 0.0f);
  EXPECT_EQ(hard.right, 1.0f);
  EXPECT_EQ(hard.left, 1.0f);
}

TEST(GainLaws, ChannelFaderTaper) {
  EXPECT_EQ(dju::channel_fader_gain(1.0f), 1.0f);
  EXPECT_EQ(dju::channel_fader_gain(0.0f), 0.0f);
  EXPECT_EQ(dju::channel_fader_gain(-0.5f), 0.0f);
  EXPECT_EQ(dju::channel_fader_gain(1.5f), 1.0f);
  EXPECT_NEAR(dju::gain_to_db(dju::channel_fader_gain(0.75f)), -8.69f, 0.05f);
  EXPECT_NEAR(dju::gain_to_db(dju::channel_fader_gain(0.5f)), -17.37f, 0.05f);
  EXPECT_NEAR(dju::gain_to_db(dju::channel_fader_gain(0.25f)), -26.06f, 0.05f);
  // Monotonic, continuous, and with no kink at the knee: neighbouring slopes agree.
  float prev = -1.0f;
  for (int i = 0; i <= 10000; ++i) {
    float f = i / 10000.0f;
    float g = dju::channel_fader_gain(f);
    EXPECT_GT(g, prev);
    if (i > 0) {
      EXPECT_LT(g - prev, 0.0012f);
    }  // max slope ≈ 7.7 at the top → ≤ 0.00077 per step
    prev = g;
  }
  const float h = 1e-3f;
  float below = (dju::channel_fader_gain(0.25f) - dju::channel_fader_gain(0.25f - h)) / h;
  float above = (dju::channel_fader_gain(0.25f + h) - dju::channel_fader_gain(0.25f)) / h;
  EXPECT_NEAR(above / below, 1.0f, 0.02f);
}

TEST(GainLaws, FaderPositionInvertsTheTaper) {
  for (int i = 0; i <= 100; ++i) {
    float f = i / 100.0f;
    EXPECT_NEAR(dju::channel_fader_position(dju::channel_fader_gain(f)), f, 1e-4f);
  }
}
