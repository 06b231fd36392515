// Four-float vectors (GCC vector extensions: SSE on x86-64, NEON on ARM, plain code elsewhere) and
// the few whole-buffer loops the mixer runs on every buffer. Unaligned data is fine: loads and
// stores go through memcpy, which the compiler turns into single vector moves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace dju {

// While alive, denormal floats count as zero on this thread (x86: MXCSR flush-to-zero and
// denormals-are-zero; elsewhere nothing). Recursive filters fed silence decay into denormals,
// where x86 arithmetic runs some hundred times slower: the EQ ran at 560 ns a frame instead of 6
// on digital silence. Values that small (< 1e-38) are far below anything audible.
class DenormalsAreZero {
 public:
#if defined(__SSE__) || defined(__x86_64__)
  DenormalsAreZero() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
  ~DenormalsAreZero() { _mm_setcsr(saved_); }
  DenormalsAreZero(const DenormalsAreZero&) = delete;
  DenormalsAreZero& operator=(const DenormalsAreZero&) = delete;

 private:
  unsigned saved_;
#endif
};

typedef float F4 __attribute__((vector_size(16)));
typedef int32_t I4 __attribute__((vector_size(16)));

inline F4 load4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, F4 v) { std::memcpy(p, &v, sizeof v); }
inline F4 splat4(float x) { return F4{x, x, x, x}; }
inline F4 abs4(F4 v) {
  const I4 magnitude = {0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff};
  return reinterpret_cast<F4>(reinterpret_cast<I4>(v) & magnitude);
}
inline F4 max4(F4 a, F4 b) { return a > b ? a : b; }
inline float hmax4(F4 v) {
  const float a = v[0] > v[1] ? v[0] : v[1];
  const float b = v[2] > v[3] ? v[2] : v[3];
  return a > b ? a : b;
}

// Largest |x[i]| (0 for n = 0).
inline float peak_abs(const float* x, size_t n) {
  F4 m0 = splat4(0.0f), m1 = m0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    m0 = max4(m0, abs4(load4(x + i)));
    m1 = max4(m1, abs4(load4(x + i + 4)));
  }
  float m = hmax4(max4(m0, m1));
  for (; i < n; ++i) {
    const float a = x[i] < 0.0f ? -x[i] : x[i];
    if (a > m) m = a;
  }
  return m;
}

// out[i] += g · in[i] (g == 1: out[i] += in[i], the same float result).
inline void mix_add(float* out, const float* in, size_t n, float g) {
  size_t i = 0;
  if (g == 1.0f) {
    for (; i + 8 <= n; i += 8) {
      store4(out + i, load4(out + i) + load4(in + i));
      store4(out + i + 4, load4(out + i + 4) + load4(in + i + 4));
    }
    for (; i < n; ++i) out[i] += in[i];
    return;
  }
  const F4 gv = splat4(g);
  for (; i + 8 <= n; i += 8) {
    store4(out + i, load4(out + i) + gv * load4(in + i));
    store4(out + i + 4, load4(out + i + 4) + gv * load4(in + i + 4));
  }
  for (; i < n; ++i) out[i] += g * in[i];
}

// x[i] *= g.
inline void scale(float* x, size_t n, float g) {
  const F4 gv = splat4(g);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) store4(x + i, load4(x + i) * gv);
  for (; i < n; ++i) x[i] *= g;
}

}  // namespace dju
