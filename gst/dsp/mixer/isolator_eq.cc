#include "mixer/isolator_eq.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define DJU_EQ_HAVE_AVX2 1
#else
#define DJU_EQ_HAVE_AVX2 0
#endif

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

constexpr I4 kLowLanes = {0, 0, 2, 2};   // [L1, L1] of each channel
constexpr I4 kHighLanes = {1, 1, 3, 3};  // [H1, H1] of each channel

// What a steady kernel needs: the coefficients and state of one channel pair (see Coefs and
// PairState in the header), the buffer and the band gains.
struct KernelArgs {
  const float (*m3)[8];
  const float (*q1)[8];
  const float (*q2)[8];
  const float (*k1)[8];  // Coefs::c1
  const float (*d)[8];
  const float (*e)[8];
  float (*ic1)[8];
  float (*ic2)[8];
  float* data;
  uint32_t frames;
  int nch, c0, c1;
  float gl, gm, gh;
};

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
  for (auto& ps : pairs_) ps = PairState{};
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
    // Each crossover's LR8 halves are sections A, B, A, B of the Butterworth pair, the low-pass
    // taken in lanes 0 and 2, the high-pass in lanes 1 and 3.
    for (int t = 0; t < 4; ++t) {
      const SvfCoefs& c = xo_[x][t & 1];
      for (int lane = 0; lane < 4; ++lane) {
        const int l = 4 * x + lane;
        const bool hp = lane & 1;
        co_.m3[t][l] = hp ? c.a1 : c.a3;
        co_.q1[t][l] = hp ? -(c.k * c.a1 + c.a2) : c.a2;
        co_.q2[t][l] = hp ? 0.0f : 1.0f;
        co_.c1[t][l] = 2.0f * c.a1 - 1.0f;
        co_.d[t][l] = 2.0f * c.a2;
        co_.e[t][l] = 2.0f * c.a3;
      }
    }
  }
}

void IsolatorEq::process(float* data, uint32_t frames) {
  const DenormalsAreZero daz;
  while (frames > 0) {
    // The usual case — in the path, nothing moving: the whole buffer in one pass at fixed gains.
    if (in_path_ && !wet_.ramping() && wet_.current() == 1.0f && !gain_[0].ramping() && !gain_[1].ramping() &&
        !gain_[2].ramping() && !log_xo_[0].ramping() && !log_xo_[1].ramping() &&
        !(gain_[0].current() == 1.0f && gain_[1].current() == 1.0f && gain_[2].current() == 1.0f)) {
      run_steady(data, frames, gain_[0].current(), gain_[1].current(), gain_[2].current());
      return;
    }
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
    for (auto& ps : pairs_) ps = PairState{};
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
  for (int c0 = 0; c0 < channels_; c0 += 2)
    run_pair<true>(pairs_[c0 / 2], data, n, c0, std::min(c0 + 1, channels_ - 1), gl, gm, gh, wet);
}

// One frame of one channel pair, both crossovers in turn, four lanes at a time. kRamp: gl, gm, gh
// and wet hold one value per frame; otherwise gl, gm, gh point to one value each and the EQ is
// fully wet. A lone last channel (c1 == c0) runs in both halves of the vector (identical lanes,
// the same result written twice).
template <bool kRamp>
void IsolatorEq::run_pair(PairState& ps, float* data, uint32_t frames, int c0, int c1, const float* gl,
                          const float* gm, const float* gh, const float* wet) {
  const int nch = channels_;
  F4 s1[8], s2[8], m3[8], q1[8], q2[8], k1[8], d[8], e[8];
  for (int t = 0; t < 8; ++t) {
    const int tick = t & 3, half = (t >> 2) * 4;
    s1[t] = load4(&ps.ic1[tick][half]);
    s2[t] = load4(&ps.ic2[tick][half]);
    m3[t] = load4(&co_.m3[tick][half]);
    q1[t] = load4(&co_.q1[tick][half]);
    q2[t] = load4(&co_.q2[tick][half]);
    k1[t] = load4(&co_.c1[tick][half]);
    d[t] = load4(&co_.d[tick][half]);
    e[t] = load4(&co_.e[tick][half]);
  }
  F4 g_low = splat4(gl[0]);
  F4 g_rest = F4{gm[0], gh[0], gm[0], gh[0]};
  float* p = data;
  for (uint32_t i = 0; i < frames; ++i, p += nch) {
    const float xl = p[c0], xr = p[c1];
    F4 u = F4{xl, xl, xr, xr};
    for (int t = 0; t < 8; ++t) {
      if (t == 4) {
        // Between the crossovers the gains go in: lanes [gl·L1 + gm·H1, gl·L1 + gh·H1] per channel.
        if (kRamp) {
          g_low = splat4(gl[i]);
          g_rest = F4{gm[i], gh[i], gm[i], gh[i]};
        }
        u = g_low * __builtin_shuffle(u, kLowLanes) + g_rest * __builtin_shuffle(u, kHighLanes);
      }
      const F4 v3 = u - s2[t];
      u = m3[t] * v3 + (q1[t] * s1[t] + q2[t] * s2[t]);
      const F4 n1 = k1[t] * s1[t] + d[t] * v3;
      s2[t] = (d[t] * s1[t] + s2[t]) + e[t] * v3;
      s1[t] = n1;
    }
    // Crossover 2's low-pass and high-pass lanes sum to the output.
    float yl = u[0] + u[1], yr = u[2] + u[3];
    if (kRamp) {
      yl = xl + wet[i] * (yl - xl);
      yr = xr + wet[i] * (yr - xr);
    }
    p[c1] = yr;
    p[c0] = yl;
  }
  for (int t = 0; t < 8; ++t) {
    const int tick = t & 3, half = (t >> 2) * 4;
    store4(&ps.ic1[tick][half], s1[t]);
    store4(&ps.ic2[tick][half], s2[t]);
  }
}

#if DJU_EQ_HAVE_AVX2
namespace {

typedef float F8 __attribute__((vector_size(32)));
typedef float F16 __attribute__((vector_size(64)));

// One iteration of the pipeline below. Inlined into three loops (fill, steady, drain) with the
// ticks unrolled, so that the states and the previous outputs stay in registers: written as a
// loop over arrays with the edge test inside, GCC kept them on the stack and every step's state
// went through a store and a load (20 ns a frame on an AMD EPYC instead of 9).
template <bool kEdge>
__attribute__((target("avx2,fma"), always_inline)) inline void avx2_iteration(
    int64_t n, const KernelArgs& k, const F8 (&m3)[4], const F8 (&q1)[4], const F8 (&q2)[4], const F8 (&k1)[4],
    const F8 (&d)[4], const F8 (&e)[4], F8 (&s1)[4], F8 (&s2)[4], F8 (&out)[4], __m128 g_low, __m128 g_rest) {
  float* const data = k.data;
  const int nch = k.nch, c0 = k.c0, c1 = k.c1;
  const int64_t n_frames = k.frames;
  // Tick 0 takes the new frame (lower) and crossover 2's input made from step 3's last output:
  // the gains go in between the crossovers, [gl·L1 + gm·H1, gl·L1 + gh·H1] per channel.
  __m128 x = _mm_setzero_ps();
  if (!kEdge || n < n_frames) {
    const float* p = data + static_cast<size_t>(n) * nch;
    x = _mm_setr_ps(p[c0], p[c0], p[c1], p[c1]);
  }
  const __m128 lo = _mm256_castps256_ps128(out[3]);
  const __m128 w = _mm_fmadd_ps(g_rest, _mm_shuffle_ps(lo, lo, _MM_SHUFFLE(3, 3, 1, 1)),
                                _mm_mul_ps(g_low, _mm_shuffle_ps(lo, lo, _MM_SHUFFLE(2, 2, 0, 0))));
  const F8 in[4] = {_mm256_set_m128(w, x), out[0], out[1], out[2]};
#pragma GCC unroll 4
  for (int t = 0; t < 4; ++t) {
    const F8 v3 = in[t] - s2[t];
    const F8 y = _mm256_fmadd_ps(m3[t], v3, _mm256_fmadd_ps(q1[t], s1[t], q2[t] * s2[t]));
    F8 n1 = _mm256_fmadd_ps(d[t], v3, k1[t] * s1[t]);
    F8 n2 = _mm256_fmadd_ps(e[t], v3, _mm256_fmadd_ps(d[t], s1[t], s2[t]));
    if (kEdge) {
      // Only steps that have a frame (0 <= n - step < frames) move.
      const int64_t f_lo = n - t, f_hi = n - t - 4;
      const int lo_on = f_lo >= 0 && f_lo < n_frames ? -1 : 0;
      const int hi_on = f_hi >= 0 && f_hi < n_frames ? -1 : 0;
      const __m256 on =
          _mm256_castsi256_ps(_mm256_setr_epi32(lo_on, lo_on, lo_on, lo_on, hi_on, hi_on, hi_on, hi_on));
      n1 = _mm256_blendv_ps(s1[t], n1, on);
      n2 = _mm256_blendv_ps(s2[t], n2, on);
    }
    s1[t] = n1;
    s2[t] = n2;
    out[t] = y;
  }
  if (!kEdge || n >= 7) {
    // Step 7 finished frame n - 7: crossover 2's low-pass and high-pass lanes sum to the output.
    const __m128 hi = _mm256_extractf128_ps(out[3], 1);
    const __m128 y = _mm_hadd_ps(hi, hi);
    float* q = data + static_cast<size_t>(n - 7) * nch;
    q[c1] = y[1];
    q[c0] = y[0];
  }
}

// The steady case on CPUs with AVX2 and FMA, as a pipeline over frames: at iteration n, step s of
// the eight works on frame n - s, so the four 8-lane ticks (lanes 0–3 step t, lanes 4–7 step t + 4)
// are independent of each other and the CPU overlaps them; each takes its input from the tick
// before it in the previous iteration. The first and last seven iterations of a call fill and
// drain the pipeline (steps without a frame keep their state), so nothing is delayed across calls.
__attribute__((target("avx2,fma"))) void steady_pair_avx2(const KernelArgs& k) {
  F8 s1[4], s2[4], m3[4], q1[4], q2[4], k1[4], d[4], e[4];
  for (int t = 0; t < 4; ++t) {
    s1[t] = _mm256_loadu_ps(k.ic1[t]);
    s2[t] = _mm256_loadu_ps(k.ic2[t]);
    m3[t] = _mm256_loadu_ps(k.m3[t]);
    q1[t] = _mm256_loadu_ps(k.q1[t]);
    q2[t] = _mm256_loadu_ps(k.q2[t]);
    k1[t] = _mm256_loadu_ps(k.k1[t]);
    d[t] = _mm256_loadu_ps(k.d[t]);
    e[t] = _mm256_loadu_ps(k.e[t]);
  }
  const __m128 g_low = _mm_set1_ps(k.gl);
  const __m128 g_rest = _mm_setr_ps(k.gm, k.gh, k.gm, k.gh);
  F8 out[4] = {};  // each tick's output of the previous iteration
  const int64_t n_frames = k.frames;
  // Iterations 0–6 fill the pipeline, n_frames … n_frames + 6 drain it; in between every step has
  // a frame.
  const int64_t fill_end = std::min<int64_t>(7, n_frames);
  int64_t n = 0;
  for (; n < fill_end; ++n) avx2_iteration<true>(n, k, m3, q1, q2, k1, d, e, s1, s2, out, g_low, g_rest);
  for (; n < n_frames; ++n) avx2_iteration<false>(n, k, m3, q1, q2, k1, d, e, s1, s2, out, g_low, g_rest);
  for (; n < n_frames + 7; ++n) avx2_iteration<true>(n, k, m3, q1, q2, k1, d, e, s1, s2, out, g_low, g_rest);
  for (int t = 0; t < 4; ++t) {
    _mm256_storeu_ps(k.ic1[t], s1[t]);
    _mm256_storeu_ps(k.ic2[t], s2[t]);
  }
}

// The same pipeline with AVX-512: crossover 1's four steps in one 16-lane vector (quarter t = step
// t), crossover 2's in another; each iteration shifts every vector up by a quarter, so step t takes
// step t - 1's output of the previous iteration. (The all-lanes masked forms of the intrinsics
// avoid GCC 12's false uninitialised warnings in the unmasked ones.)
__attribute__((target("avx512f,avx512dq,avx512vl,fma"))) void steady_pair_avx512(const KernelArgs& k) {
  // [t][8] rows (lanes 0–3 step t, lanes 4–7 step t + 4) to one vector per crossover and back.
#define DJU_SPLIT(a, b, src)                                                                \
  const __m512 a##_z0 = _mm512_loadu_ps(&(src)[0][0]);                                      \
  const __m512 a##_z1 = _mm512_loadu_ps(&(src)[2][0]);                                      \
  a = _mm512_maskz_shuffle_f32x4(0xFFFF, a##_z0, a##_z1, _MM_SHUFFLE(2, 0, 2, 0));          \
  b = _mm512_maskz_shuffle_f32x4(0xFFFF, a##_z0, a##_z1, _MM_SHUFFLE(3, 1, 3, 1));
  F16 m3a, m3b, q1a, q1b, q2a, q2b, c1a, c1b, da, db, ea, eb, s1a, s1b, s2a, s2b;
  DJU_SPLIT(m3a, m3b, k.m3)
  DJU_SPLIT(q1a, q1b, k.q1)
  DJU_SPLIT(q2a, q2b, k.q2)
  DJU_SPLIT(c1a, c1b, k.k1)
  DJU_SPLIT(da, db, k.d)
  DJU_SPLIT(ea, eb, k.e)
  DJU_SPLIT(s1a, s1b, k.ic1)
  DJU_SPLIT(s2a, s2b, k.ic2)
#undef DJU_SPLIT

  const __m128 g_low = _mm_set1_ps(k.gl);
  const __m128 g_rest = _mm_setr_ps(k.gm, k.gh, k.gm, k.gh);
  float* const data = k.data;
  const int nch = k.nch, c0 = k.c0, c1 = k.c1;
  const int64_t n_frames = k.frames;
  F16 outa = _mm512_setzero_ps(), outb = _mm512_setzero_ps();
  for (int64_t n = 0; n < n_frames + 7; ++n) {
    __m128 x = _mm_setzero_ps();
    if (n < n_frames) {
      const float* p = data + static_cast<size_t>(n) * nch;
      x = _mm_setr_ps(p[c0], p[c0], p[c1], p[c1]);
    }
    // Between the crossovers the gains go in: [gl·L1 + gm·H1, gl·L1 + gh·H1] per channel.
    const __m128 lo = _mm512_maskz_extractf32x4_ps(0xF, outa, 3);
    const __m128 w = _mm_fmadd_ps(g_rest, _mm_shuffle_ps(lo, lo, _MM_SHUFFLE(3, 3, 1, 1)),
                                  _mm_mul_ps(g_low, _mm_shuffle_ps(lo, lo, _MM_SHUFFLE(2, 2, 0, 0))));
    // Shifted up a quarter: step t takes step t - 1's output; the new input comes in at step 0.
    const __m512i xin = _mm512_castps_si512(_mm512_maskz_broadcast_f32x4(0xFFFF, x));
    const __m512i win = _mm512_castps_si512(_mm512_maskz_broadcast_f32x4(0xFFFF, w));
    const F16 ina = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(outa), xin, 12));
    const F16 inb = _mm512_castsi512_ps(_mm512_maskz_alignr_epi32(0xFFFF, _mm512_castps_si512(outb), win, 12));
    const F16 v3a = ina - s2a, v3b = inb - s2b;
    outa = _mm512_fmadd_ps(m3a, v3a, _mm512_fmadd_ps(q1a, s1a, q2a * s2a));
    outb = _mm512_fmadd_ps(m3b, v3b, _mm512_fmadd_ps(q1b, s1b, q2b * s2b));
    const F16 n1a = _mm512_fmadd_ps(da, v3a, c1a * s1a), n1b = _mm512_fmadd_ps(db, v3b, c1b * s1b);
    const F16 n2a = _mm512_fmadd_ps(ea, v3a, _mm512_fmadd_ps(da, s1a, s2a));
    const F16 n2b = _mm512_fmadd_ps(eb, v3b, _mm512_fmadd_ps(db, s1b, s2b));
    if (n < 7 || n >= n_frames) {
      // Only steps that have a frame (0 <= n - step < frames) move.
      unsigned ma = 0, mb = 0;
      for (int t = 0; t < 4; ++t) {
        if (n - t >= 0 && n - t < n_frames) ma |= 0xFu << (4 * t);
        if (n - 4 - t >= 0 && n - 4 - t < n_frames) mb |= 0xFu << (4 * t);
      }
      s1a = _mm512_mask_mov_ps(s1a, static_cast<__mmask16>(ma), n1a);
      s2a = _mm512_mask_mov_ps(s2a, static_cast<__mmask16>(ma), n2a);
      s1b = _mm512_mask_mov_ps(s1b, static_cast<__mmask16>(mb), n1b);
      s2b = _mm512_mask_mov_ps(s2b, static_cast<__mmask16>(mb), n2b);
    } else {
      s1a = n1a;
      s2a = n2a;
      s1b = n1b;
      s2b = n2b;
    }
    if (n >= 7) {
      // Step 7 finished frame n - 7: crossover 2's low-pass and high-pass lanes sum to the output.
      const __m128 hi = _mm512_maskz_extractf32x4_ps(0xF, outb, 3);
      const __m128 y = _mm_hadd_ps(hi, hi);
      float* q = data + static_cast<size_t>(n - 7) * nch;
      q[c1] = y[1];
      q[c0] = y[0];
    }
  }
#define DJU_JOIN(a, b, dst)                                                                   \
  {                                                                                           \
    const __m512 lo = _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, _MM_SHUFFLE(1, 0, 1, 0));      \
    const __m512 hi = _mm512_maskz_shuffle_f32x4(0xFFFF, a, b, _MM_SHUFFLE(3, 2, 3, 2));      \
    _mm512_storeu_ps(&(dst)[0][0], _mm512_maskz_shuffle_f32x4(0xFFFF, lo, lo, _MM_SHUFFLE(3, 1, 2, 0))); \
    _mm512_storeu_ps(&(dst)[2][0], _mm512_maskz_shuffle_f32x4(0xFFFF, hi, hi, _MM_SHUFFLE(3, 1, 2, 0))); \
  }
  DJU_JOIN(s1a, s1b, k.ic1)
  DJU_JOIN(s2a, s2b, k.ic2)
#undef DJU_JOIN
}

}  // namespace
#endif

namespace {

// Which steady kernel runs: 0 = the best this CPU has, else a forced one (tests).
std::atomic<int> g_forced_kernel{0};

IsolatorEq::Kernel best_kernel() {
#if DJU_EQ_HAVE_AVX2
  static const IsolatorEq::Kernel best = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma"))
      return IsolatorEq::Kernel::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return IsolatorEq::Kernel::Avx2;
    return IsolatorEq::Kernel::Portable;
  }();
  return best;
#else
  return IsolatorEq::Kernel::Portable;
#endif
}

}  // namespace

bool IsolatorEq::force_kernel(Kernel kernel) {
  const bool available = kernel == Kernel::Auto || kernel == Kernel::Portable ||
                         static_cast<int>(kernel) <= static_cast<int>(best_kernel());
  if (!available) return false;
  g_forced_kernel.store(static_cast<int>(kernel), std::memory_order_relaxed);
  return true;
}

void IsolatorEq::run_steady(float* data, uint32_t frames, float gl, float gm, float gh) {
  const int forced = g_forced_kernel.load(std::memory_order_relaxed);
  const Kernel kernel = forced ? static_cast<Kernel>(forced) : best_kernel();
  for (int c0 = 0; c0 < channels_; c0 += 2) {
    const int c1 = std::min(c0 + 1, channels_ - 1);
    PairState& ps = pairs_[c0 / 2];
#if DJU_EQ_HAVE_AVX2
    if (kernel == Kernel::Avx2 || kernel == Kernel::Avx512) {
      const KernelArgs k{co_.m3, co_.q1, co_.q2, co_.c1, co_.d, co_.e, ps.ic1, ps.ic2, data, frames,
                         channels_, c0, c1, gl, gm, gh};
      if (kernel == Kernel::Avx512)
        steady_pair_avx512(k);
      else
        steady_pair_avx2(k);
      continue;
    }
#endif
    run_pair<false>(ps, data, frames, c0, c1, &gl, &gm, &gh, nullptr);
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
  const DenormalsAreZero daz;
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
