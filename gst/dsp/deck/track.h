// A decoded track held in memory: 48 kHz stereo, 16-bit, in fixed-size chunks.
//
// Why 16-bit: a 6-minute track as float stereo is 138 MB; as 16-bit it is 69 MB, which keeps a
// loaded deck inside its memory budget (CD-quality sources lose nothing). Why chunks: the decoder
// does not always know the length up front, and appending chunks never copies what is already
// there (a growing vector would briefly need twice the memory).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace dju {

class Track {
 public:
  static constexpr int kChunkShift = 16;  // 65536 frames per chunk (256 KiB)
  static constexpr size_t kChunkFrames = size_t(1) << kChunkShift;
  static constexpr size_t kChunkMask = kChunkFrames - 1;
  static constexpr int kChannels = 2;

  Track() = default;
  Track(const Track&) = delete;
  Track& operator=(const Track&) = delete;

  size_t frames() const { return frames_; }
  double duration_s() const { return static_cast<double>(frames_) / 48000.0; }

  // Appends interleaved stereo frames (float, clamped to [-1, 1]).
  void append(const float* interleaved, size_t n);
  // Appends interleaved stereo 16-bit frames.
  void append(const int16_t* interleaved, size_t n);

  // Sample of channel c at frame i; 0 outside the track.
  float sample(ptrdiff_t i, int c) const {
    if (i < 0 || static_cast<size_t>(i) >= frames_) return 0.0f;
    const size_t u = static_cast<size_t>(i);
    return chunks_[u >> kChunkShift][((u & kChunkMask) << 1) + c] * (1.0f / 32768.0f);
  }
  // Both channels of frame i.
  void frame(ptrdiff_t i, float& l, float& r) const {
    if (i < 0 || static_cast<size_t>(i) >= frames_) {
      l = r = 0.0f;
      return;
    }
    const size_t u = static_cast<size_t>(i);
    const int16_t* p = &chunks_[u >> kChunkShift][(u & kChunkMask) << 1];
    l = p[0] * (1.0f / 32768.0f);
    r = p[1] * (1.0f / 32768.0f);
  }

  // The stored frames from `start` on (interleaved 16-bit), as many as the chunk holding `start`
  // has, at most *n (written back): whole-track loops read it without a lookup per frame.
  // nullptr (and *n = 0) at or past the end.
  const int16_t* span(size_t start, size_t* n) const {
    if (start >= frames_) {
      *n = 0;
      return nullptr;
    }
    const size_t off = start & kChunkMask;
    *n = std::min(*n, std::min(kChunkFrames - off, frames_ - start));
    return &chunks_[start >> kChunkShift][off << 1];
  }

  // Copies frames [start, start+n) as float, zero outside the track.
  void read(ptrdiff_t start, float* interleaved, size_t n) const;

  size_t memory_bytes() const { return chunks_.size() * kChunkFrames * kChannels * sizeof(int16_t); }

 private:
  int16_t* tail_space(size_t& room);
  std::vector<std::unique_ptr<int16_t[]>> chunks_;
  size_t frames_ = 0;
};

using TrackPtr = std::shared_ptr<const Track>;

}  // namespace dju
