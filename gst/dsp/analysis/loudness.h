// Short-term loudness of a stereo signal, as EBU R128 defines it (ITU-R BS.1770-4): both channels
// K-weighted (a high shelf of +4 dB above ~1.7 kHz, then a high-pass at ~38 Hz), their mean squares
// over the last 3 s summed with weight 1, L = -0.691 + 10 log10(sum) LUFS.
//
// Made for a judge that reads the loudness a few times a second while it analyses audio: the
// weighted energy is kept in blocks of 5 ms and the 3 s window is a running sum over 600 of them,
// so a reading costs nothing and a sample costs two biquads per channel. Readings agree with
// libebur128's short-term loudness to within a few hundredths of a LU (the window moves in 5 ms
// steps). No allocation after construction.
#pragma once

#include <cstddef>
#include <vector>

namespace dju {

class ShortTermLoudness {
 public:
  static constexpr double kWindowS = 3.0;
  static constexpr double kFloorLufs = -70.0;  // reported for silence (and below)

  explicit ShortTermLoudness(int sample_rate);
  void reset();
  // `frames` stereo interleaved frames.
  void add(const float* interleaved, size_t frames);
  // The loudness of the last 3 s (of whatever has been added, counting the rest as silence), in
  // LUFS, never below kFloorLufs.
  double lufs() const;

  // The filter coefficients at this rate (b0, b1, b2, a1, a2 of each stage), for tests.
  struct Biquad {
    double b0, b1, b2, a1, a2;
  };
  const Biquad& shelf() const { return shelf_; }
  const Biquad& highpass() const { return highpass_; }

 private:
  Biquad shelf_{}, highpass_{};
  double z_[2][4] = {};  // per channel: the two stages' transposed direct form II states
  int block_frames_ = 0;
  int block_fill_ = 0;
  double block_energy_ = 0;  // sum over both channels of the weighted squares in the current block
  std::vector<double> blocks_;  // the window's complete blocks, a ring
  size_t next_ = 0;
  double window_sum_ = 0;
  size_t blocks_done_ = 0;  // since the window sum was last summed afresh (drift control)
};

}  // namespace dju
