// The judge's ears: finds each transition between decks in what the audience hears and scores it.
//
// Pure C++, no GLib. Input: each deck's contribution to the master (after EQ, channel fader and
// crossfader), time-aligned, stereo interleaved float at one sample rate. The judge works in hops of
// 256 samples and keeps, per deck: a multi-band onset envelope (for tempo and beat phase), short-term
// levels of the full band and of the bass, and a chroma (for the key); for the sum it keeps the EBU
// R128 short-term loudness (ShortTermLoudness) and counts samples over full scale.
//
// A transition (the "blend") starts when a second deck becomes audible next to the one playing (the
// outgoing), holds its handover when the incoming deck gets louder than the outgoing, and ends when
// the outgoing one is gone. Its score, 0–100, is a weighted mean of seven parts (each 0–100), capped
// when the beats or the tempos clash — a trainwreck is never saved by clean levels:
//   beat alignment  30  mean phase error between the decks' beats while both are audible
//   tempo match     20  relative tempo difference
//   key             10  Camelot wheel distance
//   bass clash      15  seconds with both bass bands full
//   level           10  jump or dip of the master's short-term loudness against before/after
//   clipping        10  share of the blend with the sum over 0 dBFS
//   phrase           5  the blend starting on a 16-bar phrase of the outgoing track
// Deterministic: the same audio gives the same reports. No allocation after construction.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "analysis/biquad.h"
#include "analysis/camelot.h"
#include "analysis/loudness.h"

#include <aubio/aubio.h>

namespace dju {

struct JudgeBreakdown {
  double beat = 100, tempo = 100, key = 100, bass = 100, level = 100, clipping = 100, phrase = 100;
};

struct JudgeReport {
  bool final = false;
  const char* event = "";    // "start", "progress", "handover" (live) or "end" (final)
  int incoming = -1, outgoing = -1;
  double start_s = 0, handover_s = -1, end_s = 0, now_s = 0;  // judge time (seconds since first audio)
  double score = 0;
  JudgeBreakdown parts;
  // What was measured.
  double phase_error_ms = 0;        // |phase error| while both audible (median, weighted by audibility)
  double phase_offset_ms = 0;       // last signed offset: + = incoming late
  int phase_measurements = 0;
  double incoming_bpm = 0, outgoing_bpm = 0, tempo_diff_pct = 0;
  CamelotKey incoming_key, outgoing_key;
  double bass_clash_s = 0;
  double loudness_jump_lu = 0, loudness_dip_lu = 0, loudness_before = 0, loudness_after = 0;
  double clipped_pct = 0;  // share of the blend's hops with the sum over 0 dBFS
  double peak_dbfs = -120;
  double phrase_offset_beats = 0;  // from the nearest 16-bar boundary of the outgoing track
  const char* weakest = "";        // name of the weakest part ("" when nothing is weak)
  char feedback[768] = {0};        // one sentence per weakness, or praise
  char hint[192] = {0};            // live: what to do now
};

struct JudgeDeckHints {
  double bpm = 0;    // tempo as played (0: measure from the audio)
  CamelotKey key;    // unknown: measure from the audio
};

class TransitionJudge {
 public:
  static constexpr int kHop = 256;
  static constexpr int kMaxDecks = 4;

  TransitionJudge(int sample_rate, int decks);
  ~TransitionJudge();
  TransitionJudge(const TransitionJudge&) = delete;
  TransitionJudge& operator=(const TransitionJudge&) = delete;

  // Known tempo/key of a deck (any time between process() calls).
  void set_hints(int deck, const JudgeDeckHints& h);
  // `decks[d]` points to `frames` stereo interleaved frames of deck d, or is null for silence.
  void process(const float* const* decks, size_t frames);
  // Ends an open blend now (end of stream).
  void finish();
  // Reports produced since the last call, oldest first; false when none is left.
  bool pop_report(JudgeReport& out);
  void reset();

  int decks() const { return ndecks_; }
  double now_s() const { return static_cast<double>(hops_) * kHop / rate_; }

 private:
  struct Deck;

  void end_of_hop();
  void tick();
  void deck_tempo(Deck& d);
  bool measure_phase(Deck& out, Deck& in, double period_frames, double* offset_frames);
  void start_blend(int incoming, int64_t start_hop);
  void end_blend(bool final);
  void fill_report(JudgeReport& r, bool final, const char* event);
  void push_report(const JudgeReport& r);
  double deck_bpm(const Deck& d) const;
  CamelotKey deck_key(const Deck& d) const;

  int rate_;
  int ndecks_;
  double fps_;  // hops per second
  std::vector<Deck*> deck_;
  std::vector<float> sum_;  // one hop of the master (stereo)
  size_t fill_ = 0;
  int64_t hops_ = 0;
  ShortTermLoudness loud_;  // the master's
  aubio_fft_t* fft_ = nullptr;
  fvec_t* fft_in_ = nullptr;
  fvec_t* fft_out_ = nullptr;  // packed complex spectrum
  std::vector<float> hann_;
  double loudness_ = -70;  // latest short-term loudness of the master, LUFS
  bool hop_clipped_ = false;
  float hop_peak_ = 0;

  // Transition state.
  int current_ = -1;     // the deck the crowd hears (outgoing once a blend starts)
  int candidate_ = -1;   // a deck becoming audible
  int64_t candidate_hop_ = 0;
  bool blending_ = false;
  int incoming_ = -1;
  int64_t blend_start_hop_ = 0, handover_hop_ = -1, out_gone_hop_ = -1, in_gone_hop_ = -1;
  // Blend accumulators.
  double phase_w_ = 0, phase_werr_ = 0, phase_signed_ = 0, last_offset_ms_ = 0;
  int phase_n_ = 0;
  std::array<double, 64> phase_err_{}, phase_wt_{};
  std::array<double, 64> bpm_in_{}, bpm_out_{};
  int bpm_n_ = 0;
  CamelotKey key_in_seen_, key_out_seen_;
  int64_t clash_hops_ = 0, clip_hops_ = 0, blend_hops_ = 0;
  double loud_before_ = -70, loud_max_ = -70, loud_min_ = 0;
  double peak_ = 0;
  double phrase_offset_ = 0;
  int64_t last_live_hop_ = 0;

  std::array<JudgeReport, 8> queue_;
  size_t q_head_ = 0, q_count_ = 0;
  JudgeReport scratch_;
};

}  // namespace dju
