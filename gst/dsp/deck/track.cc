#include "deck/track.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dju {

int16_t* Track::tail_space(size_t& room) {
  const size_t used = frames_ & kChunkMask;
  if (used == 0 && frames_ / kChunkFrames == chunks_.size())
    chunks_.emplace_back(new int16_t[kChunkFrames * kChannels]);
  room = kChunkFrames - used;
  return &chunks_[frames_ >> kChunkShift][used * kChannels];
}

void Track::append(const float* in, size_t n) {
  while (n > 0) {
    size_t room;
    int16_t* dst = tail_space(room);
    const size_t k = std::min(room, n);
    for (size_t i = 0; i < k * kChannels; ++i) {
      const float v = std::clamp(in[i], -1.0f, 1.0f) * 32767.0f;
      dst[i] = static_cast<int16_t>(std::lrint(v));
    }
    in += k * kChannels;
    frames_ += k;
    n -= k;
  }
}

void Track::append(const int16_t* in, size_t n) {
  while (n > 0) {
    size_t room;
    int16_t* dst = tail_space(room);
    const size_t k = std::min(room, n);
    std::memcpy(dst, in, k * kChannels * sizeof(int16_t));
    in += k * kChannels;
    frames_ += k;
    n -= k;
  }
}

namespace {

// 16-bit → float. Groups of 8 of a known count, so that -O2's cautious vectoriser turns each
// group into a few vector instructions (this runs for every frame fed to the stretcher).
void to_float(const int16_t* src, float* dst, size_t count) {
  size_t i = 0;
  for (; i + 8 <= count; i += 8)
    for (size_t k = 0; k < 8; ++k) dst[i + k] = static_cast<float>(src[i + k]) * (1.0f / 32768.0f);
  for (; i < count; ++i) dst[i] = static_cast<float>(src[i]) * (1.0f / 32768.0f);
}

}  // namespace

void Track::read(ptrdiff_t start, float* out, size_t n) const {
  // Before the start: silence.
  while (n > 0 && start < 0) {
    out[0] = out[1] = 0.0f;
    out += 2;
    ++start;
    --n;
  }
  // Inside: whole runs of a chunk at a time (a loop the compiler vectorises), no lookup per frame.
  while (n > 0) {
    size_t k = n;
    const int16_t* src = span(static_cast<size_t>(start), &k);
    if (!src) break;
    to_float(src, out, 2 * k);
    out += 2 * k;
    start += static_cast<ptrdiff_t>(k);
    n -= k;
  }
  // Past the end: silence.
  std::fill(out, out + 2 * n, 0.0f);
}

}  // namespace dju
