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

void Track::read(ptrdiff_t start, float* out, size_t n) const {
  for (size_t i = 0; i < n; ++i) frame(start + static_cast<ptrdiff_t>(i), out[2 * i], out[2 * i + 1]);
}

}  // namespace dju
