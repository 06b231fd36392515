// dju-bench-mixer-dsp: the channel strip's and the master's DSP alone, in the battle's 256-frame
// blocks, in nanoseconds per stereo frame (median of several passes; no GStreamer, no threads).
//
//   dju-bench-mixer-dsp [seconds of audio per pass, default 20]
//
// What runs is what djeq + djmixer run on every buffer of scripts/bench's eqmix pipeline: the EQ at
// low -6, mid +2, high +3 dB; the mix of two channels (unity gain); the master meter; the limiter
// on a master that stays above its ceiling (the bench's case) and on one that never reaches it.
// It asserts nothing: a tool to see where a change moves the DSP's own cost.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "common/units.h"
#include "mixer/isolator_eq.h"
#include "mixer/limiter.h"
#include "mixer/simd.h"

namespace {

constexpr uint32_t kBlock = 256;
constexpr int kRate = 48000;

std::vector<float> stereo_sine(double hz, float amp, size_t frames) {
  std::vector<float> v(frames * 2);
  for (size_t i = 0; i < frames; ++i) {
    const float s = amp * static_cast<float>(std::sin(2.0 * M_PI * hz * static_cast<double>(i) / kRate));
    v[2 * i] = s;
    v[2 * i + 1] = s;
  }
  return v;
}

// Median over passes of the time per stereo frame of `block(data, frames)` over all the audio.
double ns_per_frame(const std::vector<float>& source, const std::function<void(float*, uint32_t)>& block) {
  const size_t frames = source.size() / 2;
  std::vector<double> passes;
  std::vector<float> work(source.size());
  for (int pass = 0; pass < 7; ++pass) {
    work = source;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t f = 0; f < frames; f += kBlock) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(kBlock, frames - f));
      block(work.data() + 2 * f, n);
    }
    const auto t1 = std::chrono::steady_clock::now();
    passes.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(frames));
  }
  std::sort(passes.begin(), passes.end());
  return passes[passes.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 20.0;
  const size_t frames = static_cast<size_t>(seconds * kRate) / kBlock * kBlock;
  const auto a = stereo_sine(220.0, 0.5f, frames);
  const auto b = stereo_sine(440.0, 0.5f, frames);
  std::vector<float> hot(a.size()), quiet(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    hot[i] = 1.6f * (a[i] + b[i]);  // above the -0.3 dBFS ceiling most of the time
    quiet[i] = 0.5f * (a[i] + b[i]);
  }

  // The bench's EQ settings (scripts/bench's `djeq low=-6 mid=2 high=3`).
  auto bench_eq = [](dju::IsolatorEq& e) {
    e.configure(kRate, 2);
    e.set_band_gain(dju::IsolatorEq::kLow, dju::db_to_gain(-6.0f));
    e.set_band_gain(dju::IsolatorEq::kMid, dju::db_to_gain(2.0f));
    e.set_band_gain(dju::IsolatorEq::kHigh, dju::db_to_gain(3.0f));
    e.reset();
  };
  double kernel_ns[4] = {0, 0, 0, 0};
  for (auto kernel : {dju::IsolatorEq::Kernel::Portable, dju::IsolatorEq::Kernel::Avx2,
                      dju::IsolatorEq::Kernel::Avx512}) {
    if (!dju::IsolatorEq::force_kernel(kernel)) continue;
    dju::IsolatorEq k;
    bench_eq(k);
    kernel_ns[static_cast<int>(kernel)] = ns_per_frame(a, [&](float* d, uint32_t n) { k.process(d, n); });
  }
  dju::IsolatorEq::force_kernel(dju::IsolatorEq::Kernel::Auto);

  dju::IsolatorEq eq;
  bench_eq(eq);
  const double eq_ns = ns_per_frame(a, [&](float* d, uint32_t n) { eq.process(d, n); });

  std::vector<float> out(kBlock * 2);
  const double mix_ns = ns_per_frame(a, [&](float* d, uint32_t n) {
    std::fill(out.begin(), out.begin() + 2 * n, 0.0f);
    dju::mix_add(out.data(), d, 2 * n, 1.0f);
    dju::mix_add(out.data(), d, 2 * n, 1.0f);
  });

  dju::PeakRms meter;
  const double meter_ns = ns_per_frame(a, [&](float* d, uint32_t n) { meter.add(d, n, 2); });

  const float ceiling = dju::db_to_gain(-0.3f);
  dju::LookaheadLimiter lim;
  lim.configure(kRate, 2);
  lim.set_ceiling(ceiling);
  const double hot_ns = ns_per_frame(hot, [&](float* d, uint32_t n) { lim.process(d, n); });
  lim.reset();
  const double quiet_ns = ns_per_frame(quiet, [&](float* d, uint32_t n) { lim.process(d, n); });

  std::printf("ns per stereo frame, %u-frame blocks, %g s per pass, median of 7 passes\n", kBlock, seconds);
  std::printf("  djeq (low -6, mid +2, high +3 dB)      %7.2f\n", eq_ns);
  const char* kernel_names[4] = {"", "portable", "avx2", "avx512"};
  for (int k = 1; k < 4; ++k)
    if (kernel_ns[k] > 0) std::printf("    of which the %-8s kernel alone      %7.2f\n", kernel_names[k], kernel_ns[k]);
  std::printf("  mix of two channels (clear + 2 adds)   %7.2f\n", mix_ns);
  std::printf("  peak/rms meter, one channel pair       %7.2f\n", meter_ns);
  std::printf("  limiter, master above the ceiling      %7.2f\n", hot_ns);
  std::printf("  limiter, master below the ceiling      %7.2f\n", quiet_ns);
  return 0;
}
