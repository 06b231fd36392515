// What the analysers read of a sample. A corrupt float file or a faulty upstream element can deliver
// NaN, infinity or values like 1e35 (the stock audiotestsrc's `ticks` wave leaves one sample per tick
// unwritten); one such sample would turn the analysers' recursive filters and running means into NaN
// for the rest of the stream. NaN counts as silence; infinities and samples beyond ±16 are held to
// ±16 (+24 dBFS): far above any real mix, so clipping is still seen for what it is.
#pragma once

#include <cmath>

namespace dju {

constexpr float kAnalysisSampleLimit = 16.0f;

inline float analysis_sample(float s) {
  if (std::fabs(s) <= kAnalysisSampleLimit) return s;  // false for NaN
  if (std::isnan(s)) return 0.0f;
  return std::copysign(kAnalysisSampleLimit, s);
}

}  // namespace dju
