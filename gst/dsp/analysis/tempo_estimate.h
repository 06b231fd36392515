// Tempo from an onset envelope, as DJs count it (78–178 BPM), without allocation.
//
// The autocorrelation of the envelope is scored by a comb over multiples of each lag (plus half the
// lag, so a pulse of eighth notes picks the beat rather than one and a half beats) and a log-normal
// preference around 120 BPM, half an octave wide, that settles what the comb leaves open (the
// dotted-eighth percussion of house grooves); the winner is refined to a hundredth of a hop by the
// same comb over eight multiples with the autocorrelation interpolated between lags. The envelope is
// smoothed first so that its peaks span a few hops and interpolate well.
//
// A single estimate can land on a wrong metrical level (2/3 or 4/3 of the beat when a syncopated
// part outweighs the kick, half or double in a breakdown). TempoTracker turns the estimates into a
// running tempo a display can show: it locks on once two confident estimates agree, holds the last
// confident value through breakdowns, folds estimates related to the held tempo by a simple ratio
// back onto it, and follows a real change only once it persists.
#pragma once

namespace dju {

constexpr int kTempoMaxFrames = 2048;

struct TempoEstimate {
  double bpm = 0.0;         // 0: not enough envelope
  double confidence = 0.0;  // 0..1: how periodic the envelope is at this tempo (normalised comb)
};

// `odf` holds n envelope values (oldest first) at `fps` values per second; n is clipped to the last
// kTempoMaxFrames. Returns BPM, or 0 with less than three seconds of envelope.
TempoEstimate estimate_tempo_ex(const float* odf, int n, double fps, double min_bpm = 78.0, double max_bpm = 178.0);
inline double estimate_tempo(const float* odf, int n, double fps, double min_bpm = 78.0, double max_bpm = 178.0) {
  return estimate_tempo_ex(odf, n, fps, min_bpm, max_bpm).bpm;
}

class TempoTracker {
 public:
  static constexpr double kMinConfidence = 0.12;  // below: a breakdown or no beat, hold the last value
  // Feeds one estimate (e.g. once a second); returns the running tempo (0 until locked).
  double update(const TempoEstimate& e);
  double bpm() const { return held_; }
  bool locked() const { return held_ > 0; }
  void reset() { *this = TempoTracker(); }

 private:
  double held_ = 0.0;
  double lock_confidence_ = 0.0;  // typical confidence of the held tempo
  double candidate_ = 0.0;  // a different tempo seen in a row…
  int candidate_count_ = 0; // …this many times
};

}  // namespace dju
