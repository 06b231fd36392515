// Unit conversions shared by every DSP kernel. No GLib, no GStreamer.
#pragma once

#include <cmath>

namespace dju {

constexpr double kSampleRate = 48000.0;  // every battle runs at 48 kHz
constexpr float kSilenceDb = -120.0f;    // floor reported for digital silence

inline float db_to_gain(float db) { return std::pow(10.0f, db / 20.0f); }

// Gain to dB with a floor, so that silence reports kSilenceDb rather than -inf.
float gain_to_db(float gain);

// Power (mean square) to dB with the same floor.
float power_to_db(float power);

inline double semitones_to_ratio(double semitones) { return std::exp2(semitones / 12.0); }

}  // namespace dju
