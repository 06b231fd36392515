// Gain laws of the mixer: the crossfader and the channel fader. Pure functions, no GLib.
//
// The server links these too (it drives a `volume` in front of djjudge with fader × crossfader gain),
// so the element and everything that models it agree on one law.
#pragma once

namespace dju {

enum class CrossfaderCurve {
  // cos/sin law: left² + right² = 1 at every position, so the summed power of two uncorrelated
  // tracks stays constant across the throw (no dip in the middle). Centre: both at -3.01 dB.
  ConstantPower,
  // Additive law: left + right = 1. Centre: both at -6.02 dB (flat for identical, correlated material).
  Linear,
  // Scratch cut: both sides at full level over the whole throw except the last `cut_in` of travel
  // next to each edge, where the far side falls to silence. cut_in = 0 is a hard cut at the edge.
  Cut,
};

struct XfadeGains {
  float left;
  float right;
};

// position: -1 = full left … 0 = centre … +1 = full right (clamped).
// cut_in: only for Cut; distance from the edge, as a fraction (0..1) of the whole crossfader throw,
// over which the far side fades in. A typical scratch fader cuts in within 1–3 % of its travel.
// At an edge the far side is exactly 0 for every curve.
XfadeGains crossfader_gains(float position, CrossfaderCurve curve, float cut_in);

// Default cut-in distance of the Cut curve (fraction of the whole throw).
constexpr float kDefaultCutIn = 0.03f;

// Channel fader: position 0 (bottom) … 1 (top) → linear gain (1 at the top, 0 at the bottom).
//
// Law (an "audio taper", the shape DJs know from club mixers): the upper three quarters of the
// throw are linear in dB, from 0 dB at the top to -26.06 dB at the knee (fader 0.25); the bottom
// quarter is linear in amplitude from there to silence. The dB range is chosen so that the two
// pieces meet with the same slope (no kink you could hear or feel): with the knee at f0 the range
// R satisfies (1 - f0) / f0 = R · ln(10) / 20, i.e. R = 60 / ln(10) dB for f0 = 0.25.
// Points: 1.0 → 0 dB, 0.75 → -8.7 dB, 0.5 → -17.4 dB, 0.25 → -26.1 dB, 0 → silence.
float channel_fader_gain(float fader);

// The inverse of channel_fader_gain (gain ≥ 1 → 1, 0 → 0): for UIs and MIDI mappings that think in dB.
float channel_fader_position(float gain);

}  // namespace dju
