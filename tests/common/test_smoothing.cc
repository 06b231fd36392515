// SmoothedParam: the live-parameter ramp every element uses.
#include <gtest/gtest.h>

#include "common/smoothing.h"

TEST(SmoothedParam, RampsLinearlyToTheTargetInExactlyRampSamples) {
  dju::SmoothedParam p(0.0f, 4);
  p.set_target(1.0f);
  EXPECT_FLOAT_EQ(p.next(), 0.25f);
  EXPECT_FLOAT_EQ(p.next(), 0.5f);
  EXPECT_FLOAT_EQ(p.next(), 0.75f);
  EXPECT_FLOAT_EQ(p.next(), 1.0f);
  EXPECT_FLOAT_EQ(p.next(), 1.0f);
  EXPECT_FALSE(p.ramping());
}

// snap_to() must leave the ramp aimed at the snapped value: a later target equal to the value the
// object was constructed with still has to move it (a kill on a flat EQ once did nothing).
TEST(SmoothedParam, TargetAfterSnapStillRamps) {
  dju::SmoothedParam p(0.0f, 8);
  p.snap_to(1.0f);
  p.set_target(0.0f);
  float out[16];
  EXPECT_TRUE(p.ramp_block(out, 16));
  EXPECT_FLOAT_EQ(out[3], 0.5f);
  EXPECT_FLOAT_EQ(out[15], 0.0f);
}

TEST(SmoothedParam, ATargetMovedMidRampRestartsFromWhereItIs) {
  dju::SmoothedParam p(0.0f, 10);
  p.set_target(1.0f);
  for (int i = 0; i < 5; ++i) p.next();
  const float mid = p.current();
  p.set_target(0.0f);
  const float first = p.next();
  EXPECT_LT(first, mid);
  EXPECT_NEAR(mid - first, mid / 10.0f, 1e-6f);
}
