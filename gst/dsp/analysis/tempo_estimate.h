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
// confident value through breakdowns (or, before that, once three weaker ones agree closely), folds
// estimates related to the held tempo by a simple ratio back onto it, and follows a real change only
// once it persists.
#pragma once

namespace dju {

constexpr int kTempoMaxFrames = 2048;
constexpr double kTempoMinBpm = 78.0, kTempoMaxBpm = 178.0;  // the range searched, as DJs count
// A slow candidate whose snare falls on every beat is doubled up to here (drum & bass at 174, +6 %).
constexpr double kTempoMaxDoubledBpm = 185.0;

struct TempoEstimate {
  double bpm = 0.0;         // 0: not enough envelope
  double confidence = 0.0;  // 0..1: how periodic the envelope is at this tempo (normalised comb)
};

// `odf` holds n envelope values (oldest first) at `fps` values per second; n is clipped to the last
// kTempoMaxFrames. Returns BPM, or 0 with less than three seconds of envelope. `backbeat` (optional,
// n values in step with `odf`) is the envelope of the band above the kicks: where the snare falls
// settles half against double time below ~92 BPM (drum & bass against hip-hop). `top_band`
// (optional, in step too) is the onset envelope of the band above 4 kHz (snare noise and hats, any
// scale): where its attacks fall on two beats of a slow reading (the backbeat on 2 and 4, as the
// deck's offline analysis decides it) keeps eighth-note hats from doubling hip-hop or rock.
TempoEstimate estimate_tempo_ex(const float* odf, int n, double fps, double min_bpm = kTempoMinBpm,
                                double max_bpm = kTempoMaxBpm, const float* backbeat = nullptr,
                                const float* top_band = nullptr);
inline double estimate_tempo(const float* odf, int n, double fps, double min_bpm = kTempoMinBpm,
                             double max_bpm = kTempoMaxBpm) {
  return estimate_tempo_ex(odf, n, fps, min_bpm, max_bpm).bpm;
}

class TempoTracker {
 public:
  static constexpr double kMinConfidence = 0.12;  // below: a breakdown or no beat, hold the last value
  // Before the first lock, weaker estimates (down to this) lock on once kWeakAgreeing in a row agree
  // within 0.5 %.
  static constexpr double kMinFirstConfidence = 0.07;
  static constexpr int kWeakAgreeing = 3;
  // Feeds one estimate (e.g. once a second); returns the running tempo (0 until locked).
  // `full_window`: the estimate saw the whole envelope window the caller keeps. One made from the
  // first seconds of a deck (a few bars, often under a fader still rising from silence) decides the
  // metrical level on little evidence: a lock made from such estimates is provisional, and the first
  // full-window estimates on another level take it over as a first lock would (two in a row) rather
  // than only after the twelve that keep a breakdown from flipping a settled tempo.
  double update(const TempoEstimate& e, bool full_window = true);
  double bpm() const { return held_; }
  bool locked() const { return held_ > 0; }
  void reset() { *this = TempoTracker(); }

 private:
  double held_ = 0.0;
  double lock_confidence_ = 0.0;  // typical confidence of the held tempo
  double candidate_ = 0.0;  // a different tempo seen in a row…
  int candidate_count_ = 0; // …this many times
  double weak_ = 0.0;       // before the first lock: a weakly confident tempo seen in a row…
  int weak_count_ = 0;      // …this many times
  bool provisional_ = false;  // locked from estimates that saw less than the full window
};

}  // namespace dju
