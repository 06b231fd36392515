// The mixer's DSP kernels measured on sines, sweeps and noise: isolator EQ, one-knob filter, limiter.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/units.h"
#include "mixer/isolator_eq.h"
#include "mixer/limiter.h"

namespace {

constexpr double kRate = 48000.0;

std::vector<float> stereo_sine(double hz, double amp, size_t frames) {
  std::vector<float> v(frames * 2);
  for (size_t i = 0; i < frames; ++i) {
    float s = static_cast<float>(amp * std::sin(2.0 * M_PI * hz * i / kRate));
    v[2 * i] = s;
    v[2 * i + 1] = s;
  }
  return v;
}

double rms_db(const std::vector<float>& v, size_t from_frame) {
  double ss = 0;
  size_t n = 0;
  for (size_t i = from_frame * 2; i < v.size(); ++i, ++n) ss += double(v[i]) * v[i];
  return 10.0 * std::log10(ss / n + 1e-30);
}

// Runs the EQ in blocks of 256 frames, as a pipeline would.
void run(dju::IsolatorEq& eq, std::vector<float>& v) {
  for (size_t f = 0; f < v.size() / 2; f += 256)
    eq.process(v.data() + 2 * f, static_cast<uint32_t>(std::min<size_t>(256, v.size() / 2 - f)));
}

// Level change (dB) of a sine through an EQ with the given gains (after settling).
double sine_response_db(double hz, float gl, float gm, float gh) {
  dju::IsolatorEq eq;
  eq.set_band_gain(dju::IsolatorEq::kLow, gl);
  eq.set_band_gain(dju::IsolatorEq::kMid, gm);
  eq.set_band_gain(dju::IsolatorEq::kHigh, gh);
  eq.reset();
  auto v = stereo_sine(hz, 0.5, 48000);
  double in = rms_db(v, 24000);
  run(eq, v);
  return rms_db(v, 24000) - in;
}

}  // namespace

TEST(IsolatorEq, UnityIsBitExact) {
  dju::IsolatorEq eq;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-0.9f, 0.9f);
  std::vector<float> v(48000 * 2);
  for (auto& s : v) s = d(rng);
  auto ref = v;
  run(eq, v);
  EXPECT_EQ(v, ref);
  EXPECT_TRUE(eq.bypassed());
}

TEST(IsolatorEq, BandsSumFlatAcrossASweep) {
  // Every band at -0.0001 dB keeps the EQ in the path: the bands then sum to an all-pass.
  for (double hz : {30.0, 100.0, 200.0, 246.0, 300.0, 700.0, 1500.0, 2500.0, 3500.0, 8000.0, 16000.0}) {
    const float g = dju::db_to_gain(-0.0001f);
    EXPECT_NEAR(sine_response_db(hz, g, g, g), 0.0, 0.05) << hz << " Hz";
  }
}

TEST(IsolatorEq, KillDepths) {
  EXPECT_LE(sine_response_db(50.0, 0.0f, 1.0f, 1.0f), -60.0);
  EXPECT_LE(sine_response_db(1000.0, 1.0f, 0.0f, 1.0f), -40.0);
  EXPECT_LE(sine_response_db(10000.0, 1.0f, 1.0f, 0.0f), -60.0);
  // The other bands, away from the crossovers, stay at unity.
  EXPECT_NEAR(sine_response_db(1000.0, 0.0f, 1.0f, 1.0f), 0.0, 0.5);
  EXPECT_NEAR(sine_response_db(10000.0, 0.0f, 1.0f, 1.0f), 0.0, 0.5);
  EXPECT_NEAR(sine_response_db(50.0, 1.0f, 0.0f, 1.0f), 0.0, 0.5);
  EXPECT_NEAR(sine_response_db(10000.0, 1.0f, 0.0f, 1.0f), 0.0, 0.5);
  EXPECT_NEAR(sine_response_db(50.0, 1.0f, 1.0f, 0.0f), 0.0, 0.5);
  EXPECT_NEAR(sine_response_db(1000.0, 1.0f, 1.0f, 0.0f), 0.0, 0.5);
  // +6 dB boost of a band.
  EXPECT_NEAR(sine_response_db(50.0, 2.0f, 1.0f, 1.0f), 6.02, 0.1);
}

// The isolator written the plain way, one channel at a time: crossover 1 (LR8) splits the input,
// crossover 2 (LR8) splits the upper part, the low band goes through crossover 2's all-pass.
struct ReferenceIsolator {
  dju::SvfCoefs a1, b1, a2, b2;
  struct Ch {
    dju::SvfState s1f, s1l[3], s1h[3], s2f, s2l[3], s2h[3], ap[2];
  };
  std::vector<Ch> ch;
  float gl, gm, gh;
  ReferenceIsolator(int channels, float l, float m, float h) : ch(channels), gl(l), gm(m), gh(h) {
    const double q[2] = {1.0 / (2.0 * std::cos(M_PI / 8)), 1.0 / (2.0 * std::cos(3 * M_PI / 8))};
    a1.set(dju::kDefaultLowMidHz, q[0], kRate);
    b1.set(dju::kDefaultLowMidHz, q[1], kRate);
    a2.set(dju::kDefaultMidHighHz, q[0], kRate);
    b2.set(dju::kDefaultMidHighHz, q[1], kRate);
  }
  float tick(Ch& s, float x) {
    float band, low;
    s.s1f.tick(a1, x, band, low);
    float lp = s.s1l[2].lowpass(b1, s.s1l[1].lowpass(a1, s.s1l[0].lowpass(b1, low)));
    float rest = s.s1h[2].highpass(b1, s.s1h[1].highpass(a1, s.s1h[0].highpass(b1, x - a1.k * band - low)));
    s.s2f.tick(a2, rest, band, low);
    float mid = s.s2l[2].lowpass(b2, s.s2l[1].lowpass(a2, s.s2l[0].lowpass(b2, low)));
    float high = s.s2h[2].highpass(b2, s.s2h[1].highpass(a2, s.s2h[0].highpass(b2, rest - a2.k * band - low)));
    float lo = s.ap[1].allpass(b2, s.ap[0].allpass(a2, lp));
    return gl * lo + gm * mid + gh * high;
  }
};

TEST(IsolatorEq, MatchesThePlainFilterTreeAtAnyBlockSizeAndChannelCount) {
  // The EQ computes the same response in a rearranged, vectorised form (and, where the CPU has it,
  // pipelined over frames): it must agree with the plain tree for any buffer size and channel count.
  // Every kernel this CPU can run (the portable one always) is checked.
  using K = dju::IsolatorEq::Kernel;
  int kernels_run = 0;
  for (K kernel : {K::Portable, K::Avx2, K::Avx512}) {
    if (!dju::IsolatorEq::force_kernel(kernel)) continue;
    ++kernels_run;
    SCOPED_TRACE("kernel " + std::to_string(static_cast<int>(kernel)));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-0.5f, 0.5f);
  for (int nch : {1, 2, 3, 4}) {
    for (uint32_t block : {1u, 5u, 7u, 8u, 64u, 256u, 333u}) {
      const size_t frames = 6000;
      std::vector<float> in(frames * nch);
      for (auto& s : in) s = d(rng);
      for (size_t f = 0; f < 500; ++f)  // and a low sine the low-kill must take out
        for (int c = 0; c < nch; ++c) in[f * nch + c] += 0.4f * static_cast<float>(std::sin(2 * M_PI * 50 * f / kRate));
      for (auto gains : {std::vector<float>{0.5f, 1.26f, 1.41f}, std::vector<float>{0.0f, 1.0f, 2.0f}}) {
        dju::IsolatorEq eq;
        eq.configure(kRate, nch);
        eq.set_band_gain(dju::IsolatorEq::kLow, gains[0]);
        eq.set_band_gain(dju::IsolatorEq::kMid, gains[1]);
        eq.set_band_gain(dju::IsolatorEq::kHigh, gains[2]);
        eq.reset();
        ReferenceIsolator ref(nch, gains[0], gains[1], gains[2]);
        std::vector<float> out = in;
        for (size_t f = 0; f < frames; f += block)
          eq.process(out.data() + f * nch, static_cast<uint32_t>(std::min<size_t>(block, frames - f)));
        double worst = 0.0;
        for (size_t f = 0; f < frames; ++f)
          for (int c = 0; c < nch; ++c) {
            const float want = ref.tick(ref.ch[c], in[f * nch + c]);
            worst = std::max(worst, std::fabs(static_cast<double>(out[f * nch + c]) - want));
          }
        EXPECT_LE(worst, 1e-5) << nch << " channels, blocks of " << block << ", low gain " << gains[0];
      }
    }
  }
  }
  dju::IsolatorEq::force_kernel(K::Auto);
  EXPECT_GE(kernels_run, 1);
}

TEST(IsolatorEq, SilenceDoesNotDecayIntoDenormals) {
  // A paused deck with its EQ engaged feeds the filters digital silence; their state decays toward
  // zero, and denormal floats would make every operation a hundred times slower. The EQ flushes
  // them: after a tone and then seconds of silence no output sample is subnormal.
  for (float low : {0.5f, 0.0f}) {
    dju::IsolatorEq eq;
    eq.set_band_gain(dju::IsolatorEq::kLow, low);
    eq.reset();
    auto v = stereo_sine(100.0, 0.5, 4800);
    v.resize(v.size() + 2 * 48000 * 3, 0.0f);
    run(eq, v);
    size_t subnormal = 0;
    for (float s : v) subnormal += std::fpclassify(s) == FP_SUBNORMAL;
    EXPECT_EQ(subnormal, 0u) << "low gain " << low;
  }
}

TEST(OneKnobFilter, CentreIsBitExactAndEndsFilter) {
  dju::OneKnobFilter f;
  auto v = stereo_sine(1000.0, 0.5, 4800);
  auto ref = v;
  f.process(v.data(), 4800);
  EXPECT_EQ(v, ref);

  auto response = [](float knob, double hz) {
    dju::OneKnobFilter flt;
    flt.set_position(knob);
    flt.reset();
    auto s = stereo_sine(hz, 0.5, 48000);
    double in = rms_db(s, 24000);
    for (size_t i = 0; i < 48000; i += 256) flt.process(s.data() + 2 * i, 256 > 48000 - i ? 48000 - i : 256);
    return rms_db(s, 24000) - in;
  };
  EXPECT_LE(response(-1.0f, 1000.0), -40.0);  // low-pass at 30 Hz
  EXPECT_NEAR(response(-1.0f, 10.0), 0.0, 1.0);
  EXPECT_LE(response(1.0f, 100.0), -60.0);    // high-pass at 12 kHz
  EXPECT_LE(response(0.5f, 60.0), -20.0);     // high-pass at ~490 Hz
  EXPECT_NEAR(response(0.5f, 8000.0), 0.0, 0.5);
  // A little resonance: 0 dB at the cutoff where a plain Butterworth is at -3 dB.
  EXPECT_NEAR(response(-0.5f, dju::OneKnobFilter::lowpass_cutoff(-0.5f)), 0.0, 0.3);
  EXPECT_NEAR(response(0.5f, dju::OneKnobFilter::highpass_cutoff(0.5f)), 0.0, 0.3);
}

TEST(Limiter, NeverAboveTheCeilingAndTransparentBelow) {
  dju::LookaheadLimiter lim;
  lim.configure(kRate, 2);
  lim.set_ceiling(dju::db_to_gain(-0.1f));
  // Two full-scale 100 Hz sines at +6 dB trim: 4× full scale.
  auto hot = stereo_sine(100.0, 4.0, 48000);
  for (size_t i = 0; i < 48000; i += 250) lim.process(hot.data() + 2 * i, 250);
  float peak = 0;
  for (float s : hot) peak = std::max(peak, std::fabs(s));
  EXPECT_LE(peak, 1.0f);
  EXPECT_GT(peak, 0.95f);  // and it is a limiter, not a mute

  dju::LookaheadLimiter clean;
  clean.configure(kRate, 2);
  clean.set_ceiling(dju::db_to_gain(-0.1f));
  auto in = stereo_sine(100.0, dju::db_to_gain(-12.0f), 9600);
  auto out = in;
  for (size_t i = 0; i < 9600; i += 100) clean.process(out.data() + 2 * i, 100);
  const size_t d = clean.latency_frames();
  for (size_t i = 0; i + d < 9600; ++i) {
    ASSERT_EQ(out[2 * (i + d)], in[2 * i]) << i;
    ASSERT_EQ(out[2 * (i + d) + 1], in[2 * i + 1]);
  }
}

TEST(Limiter, RecoversToBitExactAfterAPeak) {
  dju::LookaheadLimiter lim;
  lim.configure(kRate, 2);
  auto in = stereo_sine(100.0, 0.25, 96000);
  for (size_t i = 1000; i < 1010; ++i) in[2 * i] = 1.5f;  // a short overshoot
  auto out = in;
  lim.process(out.data(), 96000);
  const size_t d = lim.latency_frames();
  float worst = 0;
  for (size_t i = 0; i + d < 96000; ++i) {
    worst = std::max(worst, std::fabs(out[2 * (i + d)]));
    if (i > 40000) {
      ASSERT_EQ(out[2 * (i + d)], in[2 * i]) << i;  // released within a second
    }
  }
  EXPECT_LE(worst, 1.0f);
}

TEST(Limiter, BlockSizeDoesNotChangeTheOutput) {
  // The idle fast path and the per-frame path must agree: peaks here and there, processed in
  // blocks of 256 and of 7 frames, give the same samples.
  auto in = stereo_sine(100.0, 0.5, 48000);
  for (size_t i : {3000u, 3001u, 20000u, 20050u, 40000u}) in[2 * i + 1] = 1.7f;
  auto a = in, b = in;
  dju::LookaheadLimiter la, lb;
  la.configure(kRate, 2);
  lb.configure(kRate, 2);
  for (size_t i = 0; i < 48000; i += 256) la.process(a.data() + 2 * i, static_cast<uint32_t>(std::min<size_t>(256, 48000 - i)));
  for (size_t i = 0; i < 48000; i += 7) lb.process(b.data() + 2 * i, static_cast<uint32_t>(std::min<size_t>(7, 48000 - i)));
  EXPECT_EQ(a, b);
  float pk = 0;
  for (float s : a) pk = std::max(pk, std::fabs(s));
  EXPECT_LE(pk, 1.0f);
}
