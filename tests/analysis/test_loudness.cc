// The judge's short-term loudness (EBU R128, 3 s) against the standard's own figures and against
// libebur128, an independent implementation, on sines, noise and a signal whose level steps.
#include <gtest/gtest.h>

#include <ebur128.h>

#include <cmath>
#include <random>
#include <vector>

#include "analysis/loudness.h"

namespace {

constexpr int kRate = 48000;

std::vector<float> stereo_sine(double hz, double dbfs, double seconds, int rate = kRate) {
  const double amp = std::pow(10.0, dbfs / 20.0);
  std::vector<float> v(static_cast<size_t>(seconds * rate) * 2);
  for (size_t i = 0; i < v.size() / 2; ++i) v[2 * i] = v[2 * i + 1] = static_cast<float>(amp * std::sin(2 * M_PI * hz * i / rate));
  return v;
}

// Noise whose level changes every 0.7 s (between -40 and -6 dBFS), the channels different.
std::vector<float> stepped_noise(double seconds) {
  std::mt19937 rng(7);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::uniform_real_distribution<float> level(-40.0f, -6.0f);
  std::vector<float> v(static_cast<size_t>(seconds * kRate) * 2);
  float g = 0.1f;
  for (size_t i = 0; i < v.size() / 2; ++i) {
    if (i % (kRate * 7 / 10) == 0) g = std::pow(10.0f, level(rng) / 20.0f);
    v[2 * i] = g * n(rng);
    v[2 * i + 1] = 0.5f * g * n(rng);
  }
  return v;
}

TEST(ShortTermLoudness, KWeightingCoefficientsAt48kAreTheStandards) {
  // ITU-R BS.1770-4, tables 1 and 2.
  dju::ShortTermLoudness l(kRate);
  EXPECT_NEAR(l.shelf().b0, 1.53512485958697, 1e-9);
  EXPECT_NEAR(l.shelf().b1, -2.69169618940638, 1e-9);
  EXPECT_NEAR(l.shelf().b2, 1.19839281085285, 1e-9);
  EXPECT_NEAR(l.shelf().a1, -1.69065929318241, 1e-9);
  EXPECT_NEAR(l.shelf().a2, 0.73248077421585, 1e-9);
  EXPECT_NEAR(l.highpass().a1, -1.99004745483398, 1e-9);
  EXPECT_NEAR(l.highpass().a2, 0.99007225036621, 1e-9);
}

TEST(ShortTermLoudness, StereoSineAtMinus23DbfsReadsMinus23Lufs) {
  // EBU Tech 3341, test case 1 (1 kHz in both channels).
  for (int rate : {44100, 48000, 96000}) {
    dju::ShortTermLoudness l(rate);
    auto x = stereo_sine(1000, -23, 4, rate);
    l.add(x.data(), x.size() / 2);
    EXPECT_NEAR(l.lufs(), -23.0, 0.1) << rate << " Hz";
  }
}

TEST(ShortTermLoudness, SilenceAndTheFirstSecondsCountTheRestAsSilence) {
  dju::ShortTermLoudness l(kRate);
  EXPECT_EQ(l.lufs(), dju::ShortTermLoudness::kFloorLufs);
  // One second of -23 dBFS in a 3 s window reads 10 log10(1/3) = -4.77 LU lower.
  auto x = stereo_sine(1000, -23, 1);
  l.add(x.data(), x.size() / 2);
  EXPECT_NEAR(l.lufs(), -23.0 - 4.77, 0.1);
  std::vector<float> quiet(kRate * 2 * 4, 0.0f);
  l.add(quiet.data(), quiet.size() / 2);
  EXPECT_EQ(l.lufs(), dju::ShortTermLoudness::kFloorLufs);
}

TEST(ShortTermLoudness, AgreesWithLibebur128WhileTheLevelSteps) {
  auto x = stepped_noise(30);
  dju::ShortTermLoudness ours(kRate);
  ebur128_state* ref = ebur128_init(2, kRate, EBUR128_MODE_S);
  ASSERT_NE(ref, nullptr);
  const size_t hop = 256;
  double worst = 0;
  int compared = 0;
  for (size_t f = 0; f + hop <= x.size() / 2; f += hop) {
    ours.add(&x[2 * f], hop);
    ebur128_add_frames_float(ref, &x[2 * f], hop);
    if (f < 3 * kRate || (f / hop) % 20) continue;  // from a full window, every 20 hops (as the judge reads)
    double st = 0;
    ASSERT_EQ(ebur128_loudness_shortterm(ref, &st), EBUR128_SUCCESS);
    worst = std::max(worst, std::fabs(ours.lufs() - st));
    ++compared;
  }
  ebur128_destroy(&ref);
  std::printf("MEASURE short-term loudness vs libebur128: %d readings, largest difference %.4f LU\n", compared, worst);
  EXPECT_GT(compared, 200);
  EXPECT_LT(worst, 0.1);
}

}  // namespace
