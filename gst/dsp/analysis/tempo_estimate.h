// Tempo from an onset envelope, as DJs count it (78–178 BPM), without allocation.
//
// The autocorrelation of the envelope is scored by a comb over multiples of each lag (plus half the
// lag, so a pulse of eighth notes picks the beat rather than one and a half beats) and a log-normal
// preference around 120 BPM, half an octave wide, that settles what the comb leaves open (the
// dotted-eighth percussion of house grooves); the winner is refined to a hundredth of a hop by the
// same comb over eight multiples with the autocorrelation interpolated between lags. The envelope is
// smoothed first so that its peaks span a few hops and interpolate well.
#pragma once

namespace dju {

constexpr int kTempoMaxFrames = 2048;

// `odf` holds n envelope values (oldest first) at `fps` values per second; n is clipped to the last
// kTempoMaxFrames. Returns BPM, or 0 with less than three seconds of envelope.
double estimate_tempo(const float* odf, int n, double fps, double min_bpm = 78.0, double max_bpm = 178.0);

}  // namespace dju
