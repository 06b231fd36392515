#include "analysis/transition_judge.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/units.h"
#include "deck/analysis.h"
#include "analysis/sample_guard.h"
#include "analysis/tempo_estimate.h"
#include "mixer/simd.h"

namespace dju {

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kAudibleDb = -50.0;       // a deck below this is not heard
constexpr double kBlendRangeDb = 30.0;     // a deck within this of the current one is part of the mix
constexpr double kBothHeardDb = 20.0;      // phase errors count while the quieter deck is within this
constexpr double kBassFullDb = 8.0;        // basses within this of each other (and both present) clash
constexpr double kBassPresentDb = -40.0;
constexpr double kLevelTau = 0.4;          // seconds, level smoothing
constexpr double kOdfWindowS = 8.0;        // tempo estimate window
constexpr double kPhaseWindowS = 4.0;      // beat phase window
constexpr int kOdfCapacity = 2048;         // hops (10.9 s at 48 kHz)
constexpr int kChromaFft = 8192;          // 5.9 Hz bins: finer than a semitone from 150 Hz up
constexpr double kChromaTau = 30.0;        // seconds
constexpr double kMinBpm = 78.0, kMaxBpm = 178.0;
constexpr int64_t kHopHistory = 256;        // hops of level history (1.4 s)

// Sum of a[i] * b[i], four lanes at a time (the same order every call: deterministic).
double dot(const float* a, const float* b, int n) {
  F4 s0 = splat4(0.0f), s1 = s0;
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 += load4(a + i) * load4(b + i);
    s1 += load4(a + i + 4) * load4(b + i + 4);
  }
  const F4 s = s0 + s1;
  double acc = static_cast<double>(s[0]) + s[1] + s[2] + s[3];
  for (; i < n; ++i) acc += static_cast<double>(a[i]) * b[i];
  return acc;
}

double lin_score(double value, double good, double bad) {
  // 100 at or below `good`, 0 at or above `bad`, linear between.
  if (value <= good) return 100.0;
  if (value >= bad) return 0.0;
  return 100.0 * (bad - value) / (bad - good);
}

double median_of(const double* v, int n) {
  std::array<double, 64> tmp{};
  std::copy(v, v + n, tmp.begin());
  std::nth_element(tmp.begin(), tmp.begin() + n / 2, tmp.begin() + n);
  return tmp[n / 2];
}

void append(char* buf, size_t size, const char* text) {
  const size_t len = std::strlen(buf);
  if (len + 1 >= size) return;
  std::snprintf(buf + len, size - len, "%s%s", len ? " " : "", text);
}
}  // namespace

struct TransitionJudge::Deck {
  JudgeDeckHints hints;
  AnalysisBiquad low1, low2, high1, high2;  // 150 Hz low-pass and 4 kHz high-pass, each twice
  double e_low = 0, e_mid = 0, e_high = 0, e_all = 0;
  double prev_log[3] = {0, 0, 0};  // previous hop's RMS per band
  double rise_mean[3] = {0, 0, 0};
  std::vector<float> odf = std::vector<float>(kOdfCapacity, 0.0f);  // all bands: tempo
  std::vector<float> band_odf[3] = {std::vector<float>(kOdfCapacity, 0.0f), std::vector<float>(kOdfCapacity, 0.0f),
                                    std::vector<float>(kOdfCapacity, 0.0f)};  // per band: beat phase
  std::vector<float> above_odf = std::vector<float>(kOdfCapacity, 0.0f);  // above the low band: half time
  double prev_above = 0, above_mean = 0;
  int64_t odf_count = 0;
  double level_ms = 0, low_ms = 0;
  double level_db = kSilenceDb, low_db = kSilenceDb, hop_db = kSilenceDb;
  int64_t quiet_hops = 1 << 20;   // consecutive hops below -60 dB
  int64_t audible_since = -1;     // first hop of sound after at least a second of silence
  std::vector<float> mono = std::vector<float>(kChromaFft, 0.0f);
  size_t mono_fill = 0;
  double chroma[12] = {0};
  double bpm_measured = 0;
  TempoTracker tempo;
  int64_t warm_hops = 0;  // hops since the deck (re)started: the onset means' warm-up
  std::array<float, kHopHistory> hop_db_hist{};  // the last hops' levels (dB)

  float odf_at(int64_t i) const { return odf[static_cast<size_t>(i % kOdfCapacity)]; }
  float band_odf_at(int b, int64_t i) const { return band_odf[b][static_cast<size_t>(i % kOdfCapacity)]; }
};

TransitionJudge::TransitionJudge(int sample_rate, int decks)
    : rate_(sample_rate > 0 ? sample_rate : 48000),
      ndecks_(std::clamp(decks, 1, kMaxDecks)),
      fps_(static_cast<double>(rate_) / kHop),
      sum_(2 * kHop, 0.0f),
      loud_(rate_),
      hann_(kChromaFft) {
  for (int d = 0; d < ndecks_; ++d) {
    Deck* k = new Deck();
    k->hop_db_hist.fill(-120.0f);
    k->low1 = k->low2 = AnalysisBiquad::lowpass(150.0, rate_, 0.7071);
    k->high1 = k->high2 = AnalysisBiquad::highpass(4000.0, rate_, 0.7071);
    deck_.push_back(k);
  }
  fft_ = new_aubio_fft(kChromaFft);
  fft_in_ = new_fvec(kChromaFft);
  fft_out_ = new_fvec(kChromaFft);
  for (int n = 0; n < kChromaFft; ++n) hann_[n] = static_cast<float>(0.5 - 0.5 * std::cos(2 * kPi * n / kChromaFft));
}

TransitionJudge::~TransitionJudge() {
  for (Deck* d : deck_) delete d;
  if (fft_) del_aubio_fft(fft_);
  if (fft_in_) del_fvec(fft_in_);
  if (fft_out_) del_fvec(fft_out_);
}

void TransitionJudge::set_hints(int deck, const JudgeDeckHints& h) {
  if (deck >= 0 && deck < ndecks_) deck_[deck]->hints = h;
}

void TransitionJudge::reset() {
  for (int d = 0; d < ndecks_; ++d) {
    const JudgeDeckHints h = deck_[d]->hints;
    Deck* k = deck_[d];
    k->e_low = k->e_mid = k->e_high = k->e_all = 0;
    for (double& p : k->prev_log) p = 0;
    for (double& m : k->rise_mean) m = 0;
    k->prev_above = k->above_mean = 0;
    std::fill(k->odf.begin(), k->odf.end(), 0.0f);
    std::fill(k->above_odf.begin(), k->above_odf.end(), 0.0f);
    for (auto& bo : k->band_odf) std::fill(bo.begin(), bo.end(), 0.0f);
    k->odf_count = 0;
    k->level_ms = k->low_ms = 0;
    k->level_db = k->low_db = k->hop_db = kSilenceDb;
    k->quiet_hops = 1 << 20;
    k->audible_since = -1;
    k->mono_fill = 0;
    std::fill(std::begin(k->chroma), std::end(k->chroma), 0.0);
    k->bpm_measured = 0;
    k->tempo.reset();
    k->warm_hops = 0;
    k->hop_db_hist.fill(-120.0f);
    for (AnalysisBiquad* b : {&k->low1, &k->low2, &k->high1, &k->high2}) b->clear();
    k->hints = h;
  }
  loud_.reset();
  fill_ = 0;
  hops_ = 0;
  loudness_ = -70;
  current_ = candidate_ = incoming_ = -1;
  blending_ = false;
  q_head_ = q_count_ = 0;
}

void TransitionJudge::process(const float* const* decks, size_t frames) {
  size_t i = 0;
  while (i < frames) {
    const size_t n = std::min(frames - i, static_cast<size_t>(kHop) - fill_);
    for (int d = 0; d < ndecks_; ++d) {
      Deck& k = *deck_[d];
      const float* x = decks ? decks[d] : nullptr;
      for (size_t j = 0; j < n; ++j) {
        const float l = x ? analysis_sample(x[2 * (i + j)]) : 0.0f, r = x ? analysis_sample(x[2 * (i + j) + 1]) : 0.0f;
        const double m = 0.5 * (static_cast<double>(l) + r);
        const double lo = k.low2.run(k.low1.run(m));
        const double hi = k.high2.run(k.high1.run(m));
        const double mid = m - lo - hi;
        k.e_low += lo * lo;
        k.e_high += hi * hi;
        k.e_mid += mid * mid;
        k.e_all += 0.5 * (static_cast<double>(l) * l + static_cast<double>(r) * r);
        float* s = &sum_[2 * (fill_ + j)];
        if (d == 0) { s[0] = l; s[1] = r; } else { s[0] += l; s[1] += r; }
        k.mono[k.mono_fill++] = static_cast<float>(m);
        if (k.mono_fill == static_cast<size_t>(kChromaFft)) {
          k.mono_fill = 0;
          // Chroma of this deck: 100 Hz – 2 kHz folded onto pitch classes, leaky over ~30 s.
          fvec_t* in = fft_in_;
          // aubio's packed complex output (real parts of bins 0..N/2, then the imaginary parts of bins
          // N/2-1..1): magnitudes of the bins used below only, no phases.
          const float* c = fft_out_->data;
          for (int t = 0; t < kChromaFft; ++t) in->data[t] = k.mono[t] * hann_[t];
          aubio_fft_do_complex(fft_, in, fft_out_);
          const double decay = std::exp(-kChromaFft / (kChromaTau * rate_));
          for (double& c : k.chroma) c *= decay;
          // Only bins near a semitone's centre count, log-compressed (as the deck's key analysis does),
          // so that one loud bass note does not outweigh the harmony.
          const double bin_hz = static_cast<double>(rate_) / kChromaFft;
          const double to_unit = 4.0 / kChromaFft;  // a full-scale sine peaks at 1
          for (int b = static_cast<int>(100.0 / bin_hz); b <= static_cast<int>(2000.0 / bin_hz); ++b) {
            const double midi = 69.0 + 12.0 * std::log2(b * bin_hz / 440.0);
            if (std::fabs(midi - std::round(midi)) > 0.35) continue;
            const int pc = static_cast<int>(std::lround(midi)) % 12;
            const double mag = std::sqrt(static_cast<double>(c[b]) * c[b] +
                                         static_cast<double>(c[kChromaFft - b]) * c[kChromaFft - b]);
            k.chroma[pc] += std::log1p(100.0 * mag * to_unit);
          }
        }
      }
    }
    fill_ += n;
    i += n;
    if (fill_ == static_cast<size_t>(kHop)) {
      fill_ = 0;
      end_of_hop();
    }
  }
}

void TransitionJudge::end_of_hop() {
  const double alpha = 1.0 - std::exp(-1.0 / (kLevelTau * fps_));
  // Master: loudness, clipping.
  loud_.add(sum_.data(), kHop);
  hop_clipped_ = false;
  hop_peak_ = 0;
  for (float s : sum_) {
    const float a = std::fabs(s);
    if (a > hop_peak_) hop_peak_ = a;
  }
  hop_clipped_ = hop_peak_ > 1.0f;
  if (hops_ % 20 == 0) loudness_ = loud_.lufs();

  for (int d = 0; d < ndecks_; ++d) {
    Deck& k = *deck_[d];
    const double e_all = k.e_all / kHop;
    k.hop_db = power_to_db(static_cast<float>(e_all));
    k.level_ms += alpha * (e_all - k.level_ms);
    k.low_ms += alpha * (k.e_low / kHop - k.low_ms);
    k.level_db = power_to_db(static_cast<float>(k.level_ms));
    k.low_db = power_to_db(static_cast<float>(k.low_ms));
    // Onset envelope per band: half-wave rectified rise of the RMS amplitude (linear, so a kick stands
    // above the bass line in the low band). For tempo the bands are summed, each divided by its own
    // running mean so that a quiet band counts as much as a loud one.
    const double e[3] = {k.e_low / kHop, k.e_mid / kHop, k.e_high / kHop};
    // The running means start as plain averages (after silence too), so the first hops of a deck
    // fading in do not produce one huge value that swamps its tempo estimate; each band's value is
    // capped at 30 means. A bass the EQ has killed (far below the deck's level) is no beat.
    ++k.warm_hops;
    const double beta = std::max(1.0 - std::exp(-1.0 / (5.0 * fps_)), 1.0 / static_cast<double>(k.warm_hops));
    const bool bass_heard = k.low_db > k.level_db - 30.0;
    double o = 0;
    for (int b = 0; b < 3; ++b) {
      const double amp = std::sqrt(e[b]);
      const double rise = std::max(0.0, amp - k.prev_log[b]);
      k.band_odf[b][static_cast<size_t>(k.odf_count % kOdfCapacity)] = static_cast<float>(rise);
      k.rise_mean[b] += beta * (rise - k.rise_mean[b]);
      // Kicks carry the beat in dance music: the low band weighs four times the others.
      const double w = b == 0 ? (bass_heard ? 1.0 : 0.0) : 0.25;
      o += w * std::min(30.0, rise / (k.rise_mean[b] + 1e-9));
      k.prev_log[b] = amp;
    }
    {
      // Everything above the low band as one envelope (snares, hats, the bass's upper harmonics).
      const double amp = std::sqrt(e[1] + e[2]);
      const double rise = std::max(0.0, amp - k.prev_above);
      k.prev_above = amp;
      k.above_mean += beta * (rise - k.above_mean);
      k.above_odf[static_cast<size_t>(k.odf_count % kOdfCapacity)] =
          static_cast<float>(std::min(30.0, rise / (k.above_mean + 1e-9)));
    }
    k.odf[static_cast<size_t>(k.odf_count % kOdfCapacity)] = static_cast<float>(o);
    ++k.odf_count;
    k.e_low = k.e_mid = k.e_high = k.e_all = 0;
    // A new start after at least a second of silence: the anchor for phrase counting and the blend's
    // start. A fader opening from silence crosses -60 dB a little after it starts moving (0.1–0.4 s
    // into a 16-beat fade): the start is traced back through the hops just before that were above
    // -90 dB without a break (at most a second).
    k.hop_db_hist[static_cast<size_t>(hops_ % kHopHistory)] = static_cast<float>(k.hop_db);
    if (k.hop_db > -60.0) {
      if (k.quiet_hops > fps_) {
        int64_t from = hops_;
        const int64_t limit = std::min<int64_t>(static_cast<int64_t>(fps_), kHopHistory - 1);
        while (hops_ - from < limit && from > 0 &&
               k.hop_db_hist[static_cast<size_t>((from - 1) % kHopHistory)] > -90.0f)
          --from;
        k.audible_since = from;
        std::fill(std::begin(k.chroma), std::end(k.chroma), 0.0);
        k.bpm_measured = 0;
        k.tempo.reset();
        k.warm_hops = 0;
      }
      k.quiet_hops = 0;
    } else {
      ++k.quiet_hops;
    }
  }

  // --- transitions ---
  if (current_ < 0) {
    int loudest = -1;
    for (int d = 0; d < ndecks_; ++d)
      if (deck_[d]->level_db > kAudibleDb && (loudest < 0 || deck_[d]->level_db > deck_[loudest]->level_db)) loudest = d;
    current_ = loudest;
  }
  if (!blending_ && current_ >= 0) {
    Deck& cur = *deck_[current_];
    int cand = -1;
    for (int d = 0; d < ndecks_; ++d) {
      if (d == current_) continue;
      const Deck& k = *deck_[d];
      if (k.level_db > kAudibleDb && k.level_db > cur.level_db - kBlendRangeDb) {
        if (cand < 0 || k.level_db > deck_[cand]->level_db) cand = d;
      }
    }
    if (cand != candidate_) {
      candidate_ = cand;
      candidate_hop_ = hops_;
    }
    if (candidate_ >= 0 && hops_ - candidate_hop_ >= static_cast<int64_t>(fps_)) {
      const Deck& in = *deck_[candidate_];
      // The blend began where the incoming deck's sound began, if that was recent.
      int64_t start = candidate_hop_;
      if (in.audible_since >= 0 && in.audible_since <= candidate_hop_ &&
          candidate_hop_ - in.audible_since < static_cast<int64_t>(20 * fps_))
        start = in.audible_since;
      start_blend(candidate_, start);
    } else if (cur.level_db < kAudibleDb) {
      current_ = -1;  // the music stopped; whoever starts next is simply playing
      candidate_ = -1;
    }
  }
  if (blending_) {
    Deck& out = *deck_[current_];
    Deck& in = *deck_[incoming_];
    ++blend_hops_;
    if (hop_clipped_) ++clip_hops_;
    peak_ = std::max(peak_, static_cast<double>(hop_peak_));
    if (out.low_db > kBassPresentDb && in.low_db > kBassPresentDb && std::fabs(out.low_db - in.low_db) < kBassFullDb)
      ++clash_hops_;
    if (hops_ % 20 == 0) {
      loud_max_ = std::max(loud_max_, loudness_);
      loud_min_ = std::min(loud_min_, loudness_);
    }
    if (handover_hop_ < 0 && in.level_db > out.level_db) {
      handover_hop_ = hops_;
      fill_report(scratch_, false, "handover");
      push_report(scratch_);
    }
    const bool out_gone = out.level_db < kAudibleDb || out.level_db < in.level_db - kBlendRangeDb;
    const bool in_gone = in.level_db < kAudibleDb || in.level_db < out.level_db - kBlendRangeDb;
    if (out_gone) {
      if (out_gone_hop_ < 0) out_gone_hop_ = hops_;
    } else {
      out_gone_hop_ = -1;
    }
    if (in_gone) {
      if (in_gone_hop_ < 0) in_gone_hop_ = hops_;
    } else {
      in_gone_hop_ = -1;
    }
    if (out_gone_hop_ >= 0 && hops_ - out_gone_hop_ >= static_cast<int64_t>(0.5 * fps_)) {
      end_blend(true);
    } else if (in_gone_hop_ >= 0 && hops_ - in_gone_hop_ >= static_cast<int64_t>(1.5 * fps_)) {
      end_blend(false);  // the incoming deck went away again: no transition happened
    }
  }

  ++hops_;
  const int64_t tick_hops = static_cast<int64_t>(std::lround(fps_ / 2));
  if (hops_ % tick_hops == 0) tick();
}

// Tempo of one deck: the onset envelope since it started (at most kOdfWindowS seconds).
void TransitionJudge::deck_tempo(Deck& d) {
  const int64_t avail = std::min<int64_t>(d.odf_count, static_cast<int64_t>(kOdfWindowS * fps_));
  const int64_t since = d.audible_since >= 0 ? hops_ - d.audible_since : avail;
  const int w = static_cast<int>(std::min(avail, since));
  if (w < static_cast<int>(3 * fps_)) return;
  std::array<float, kOdfCapacity> env{}, above{}, top{};
  for (int i = 0; i < w; ++i) env[i] = d.odf_at(d.odf_count - w + i);
  // The envelope above the low band tells drum & bass from half its tempo, when the deck's bass is
  // heard: with its low EQ killed (an incoming deck before the bass swap) the kicks' upper half
  // alone can make hip-hop look like half time, so a slow reading stays as it is.
  const bool bass_heard = d.low_db > d.level_db - 30.0;
  for (int i = 0; i < w; ++i) above[i] = d.above_odf[static_cast<size_t>((d.odf_count - w + i) % kOdfCapacity)];
  // The band above 4 kHz (snare noise, hats) places the backbeat, killed bass or not.
  for (int i = 0; i < w; ++i) top[i] = d.band_odf_at(2, d.odf_count - w + i);
  // Through the deck's tracker: a breakdown, a gated fade or a syncopated passage does not throw
  // the tempo onto another metrical level; a level decided from the deck's first seconds is
  // provisional until an estimate over the full window confirms or corrects it.
  const double before = d.bpm_measured;
  const bool full_window = w >= static_cast<int>(kOdfWindowS * fps_);
  d.bpm_measured = d.tempo.update(
      estimate_tempo_ex(env.data(), w, fps_, kMinBpm, kMaxBpm, bass_heard ? above.data() : nullptr, top.data()),
      full_window);
  // A corrected metrical level (half or double time) corrects what the open blend recorded of this
  // deck at the old one: it was the same beat, counted wrong.
  if (blending_ && before > 0 && d.bpm_measured > 0) {
    const double r = d.bpm_measured / before;
    if (std::fabs(r / 2.0 - 1.0) < 0.03 || std::fabs(r * 2.0 - 1.0) < 0.03) {
      std::array<double, 64>& seen = &d == deck_[incoming_] ? bpm_in_ : bpm_out_;
      if (&d == deck_[incoming_] || &d == deck_[current_])
        for (int i = 0; i < bpm_n_; ++i)
          if (std::fabs(seen[i] / before - 1.0) < 0.03) seen[i] *= r;
    }
  }
}

double TransitionJudge::deck_bpm(const Deck& d) const { return d.hints.bpm > 0 ? d.hints.bpm : d.bpm_measured; }

CamelotKey TransitionJudge::deck_key(const Deck& d) const {
  if (d.hints.key.known()) return d.hints.key;
  // The deck's own key finder (profiles correlated with the chroma).
  const KeyResult k = key_from_chroma(d.chroma);
  if (k.tonic < 0 || k.score < 0.5) return CamelotKey();  // drums only, or no clear key
  return camelot_from_tonic(k.tonic, k.minor);
}

// Lag (in hops, + = incoming late) that best lines up the incoming deck's onsets with the outgoing
// deck's over the last few seconds, searched within half a beat either way.
bool TransitionJudge::measure_phase(Deck& out, Deck& in, double period, double* offset) {
  const int w = static_cast<int>(kPhaseWindowS * fps_);
  if (out.odf_count < w || in.odf_count < w) return false;
  const int half = static_cast<int>(std::lround(period / 2));
  constexpr int kMaxLag = 320;
  const int span = std::min(2 * half + 2, kMaxLag);
  const int lim = std::min(half, kMaxLag / 2 - 2);
  const int n = std::min(w, 1024);
  // Each band is matched with the same band of the other deck (kick with kick, hats with hats), as a
  // correlation coefficient. What tells the beat from the off-beat is how much better a lag fits
  // than the lags half a beat away: hats on every eighth fit both equally and so cast no vote, a kick
  // on the beat fits only one. The lag with the best such margin, summed over the bands, wins.
  std::array<double, 2 * kMaxLag + 1> margin{};
  for (int b = 0; b < 3; ++b) {
    std::array<float, 1024> xo{}, xi{};
    double mo = 0, mi = 0;
    for (int i = 0; i < n; ++i) {
      xo[i] = out.band_odf_at(b, out.odf_count - n + i);
      xi[i] = in.band_odf_at(b, in.odf_count - n + i);
      mo += xo[i];
      mi += xi[i];
    }
    mo /= n;
    mi /= n;
    double so = 0, si = 0;
    for (int i = 0; i < n; ++i) {
      xo[i] -= static_cast<float>(mo);
      xi[i] -= static_cast<float>(mi);
      so += static_cast<double>(xo[i]) * xo[i];
      si += static_cast<double>(xi[i]) * xi[i];
    }
    if (!(so > 1e-12 && si > 1e-12)) continue;
    const double norm = 1.0 / std::sqrt(so * si);
    std::array<double, 2 * kMaxLag + 1> c{};
    for (int lag = -span; lag <= span; ++lag) {
      const int i0 = std::max(0, -lag), i1 = std::min(n, n - lag);
      c[lag + kMaxLag] = dot(&xo[i0], &xi[i0 + lag], i1 - i0) * norm;
    }
    for (int lag = -lim - 1; lag <= lim + 1; ++lag)
      margin[lag + kMaxLag] += c[lag + kMaxLag] - 0.5 * (c[lag - half + kMaxLag] + c[lag + half + kMaxLag]);
  }
  int best = 0;
  double bv = -1e300;
  for (int lag = -lim; lag <= lim; ++lag) {
    if (margin[lag + kMaxLag] > bv) { bv = margin[lag + kMaxLag]; best = lag; }
  }
  if (!(bv > 0.1)) return false;  // no band says which beat is which
  const double a = margin[best - 1 + kMaxLag], c = margin[best + 1 + kMaxLag], dd = a - 2 * bv + c;
  *offset = best + (dd < 0 ? std::clamp(0.5 * (a - c) / dd, -0.5, 0.5) : 0.0);
  return true;
}

void TransitionJudge::tick() {
  // Tempo once a second (every other tick), as the tracker expects.
  const bool tempo_tick = (hops_ / static_cast<int64_t>(std::lround(fps_ / 2))) % 2 == 0;
  for (int d = 0; d < ndecks_; ++d)
    if (tempo_tick && deck_[d]->level_db > kAudibleDb && deck_[d]->hints.bpm <= 0) deck_tempo(*deck_[d]);
  if (!blending_) return;
  Deck& out = *deck_[current_];
  Deck& in = *deck_[incoming_];
  const double bo = deck_bpm(out), bi = deck_bpm(in);
  const bool both_heard = out.level_db > kAudibleDb && in.level_db > kAudibleDb &&
                          std::fabs(out.level_db - in.level_db) < kBothHeardDb;
  const bool settled = hops_ - blend_start_hop_ >= static_cast<int64_t>(3 * fps_);
  if (both_heard && settled && bo > 0 && bi > 0 && bpm_n_ < static_cast<int>(bpm_in_.size())) {
    bpm_out_[bpm_n_] = bo;
    bpm_in_[bpm_n_] = bi;
    ++bpm_n_;
  }
  if (both_heard && settled) {
    // The keys the crowd hears clash or not while both play: remember them from the overlap.
    const CamelotKey ko = deck_key(out), ki = deck_key(in);
    if (ko.known()) key_out_seen_ = ko;
    if (ki.known()) key_in_seen_ = ki;
  }
  if (both_heard && settled && bo > 0) {
    double off = 0;
    if (measure_phase(out, in, 60.0 * fps_ / bo, &off)) {
      const double ms = off * 1000.0 / fps_;
      const double w = std::pow(10.0, -std::fabs(out.level_db - in.level_db) / 20.0);
      phase_w_ += w;
      phase_werr_ += w * std::fabs(ms);
      phase_signed_ += w * ms;
      last_offset_ms_ = ms;
      if (phase_n_ < static_cast<int>(phase_err_.size())) {
        phase_err_[phase_n_] = std::fabs(ms);
        phase_wt_[phase_n_] = w;
      }
      ++phase_n_;
    }
  }
  if (hops_ - last_live_hop_ >= static_cast<int64_t>(fps_)) {
    last_live_hop_ = hops_;
    fill_report(scratch_, false, "progress");
    push_report(scratch_);
  }
}

void TransitionJudge::start_blend(int incoming, int64_t start_hop) {
  blending_ = true;
  incoming_ = incoming;
  candidate_ = -1;
  blend_start_hop_ = start_hop;
  handover_hop_ = out_gone_hop_ = in_gone_hop_ = -1;
  phase_w_ = phase_werr_ = phase_signed_ = last_offset_ms_ = 0;
  phase_n_ = 0;
  bpm_n_ = 0;
  key_in_seen_ = key_out_seen_ = CamelotKey();
  clash_hops_ = clip_hops_ = 0;
  blend_hops_ = hops_ - start_hop;
  loud_before_ = loud_max_ = loud_min_ = loudness_;
  peak_ = 0;
  last_live_hop_ = hops_;
  // Phrase: beats of the outgoing track since it started, against its 16-bar (64-beat) grid.
  const Deck& out = *deck_[current_];
  const double bo = deck_bpm(out);
  phrase_offset_ = 0;
  if (bo > 0 && out.audible_since >= 0) {
    const double beats = (start_hop - out.audible_since) / fps_ * bo / 60.0;
    phrase_offset_ = beats - 64.0 * std::round(beats / 64.0);
  }
  fill_report(scratch_, false, "start");
  push_report(scratch_);
}

void TransitionJudge::end_blend(bool final) {
  if (final) {
    loud_max_ = std::max(loud_max_, loudness_);
    loud_min_ = std::min(loud_min_, loudness_);
    fill_report(scratch_, true, "end");
    push_report(scratch_);
    current_ = incoming_;
  }
  blending_ = false;
  incoming_ = -1;
  candidate_ = -1;
}

void TransitionJudge::finish() {
  if (blending_) end_blend(true);
}

void TransitionJudge::fill_report(JudgeReport& r, bool final, const char* event) {
  r = JudgeReport();
  r.final = final;
  r.event = event;
  r.incoming = incoming_;
  r.outgoing = current_;
  r.start_s = blend_start_hop_ / fps_;
  r.handover_s = handover_hop_ >= 0 ? handover_hop_ / fps_ : -1;
  r.now_s = hops_ / fps_;
  r.end_s = r.now_s;
  const Deck& out = *deck_[current_];
  const Deck& in = *deck_[incoming_];
  JudgeBreakdown& p = r.parts;

  // Beat alignment.
  r.phase_measurements = phase_n_;
  if (phase_w_ > 0) {
    // Weighted median of the measurements: a stray measurement (a break, a fill) does not decide.
    const int m = std::min(phase_n_, static_cast<int>(phase_err_.size()));
    std::array<int, 64> idx{};
    for (int i = 0; i < m; ++i) idx[i] = i;
    std::sort(idx.begin(), idx.begin() + m, [&](int x, int y) { return phase_err_[x] < phase_err_[y]; });
    double total = 0, acc = 0;
    for (int i = 0; i < m; ++i) total += phase_wt_[idx[i]];
    r.phase_error_ms = phase_err_[idx[m - 1]];
    for (int i = 0; i < m; ++i) {
      acc += phase_wt_[idx[i]];
      if (acc >= 0.5 * total) { r.phase_error_ms = phase_err_[idx[i]]; break; }
    }
    r.phase_offset_ms = last_offset_ms_;
    p.beat = lin_score(r.phase_error_ms, 8.0, 40.0);
  }
  // Tempo.
  if (bpm_n_ > 0) {
    r.outgoing_bpm = median_of(bpm_out_.data(), bpm_n_);
    r.incoming_bpm = median_of(bpm_in_.data(), bpm_n_);
  } else {
    r.outgoing_bpm = deck_bpm(out);
    r.incoming_bpm = deck_bpm(in);
  }
  if (r.outgoing_bpm > 0 && r.incoming_bpm > 0) {
    double best = 1e9;
    for (double mult : {0.5, 1.0, 2.0}) best = std::min(best, std::fabs(r.incoming_bpm * mult / r.outgoing_bpm - 1.0));
    r.tempo_diff_pct = 100.0 * best;
    p.tempo = lin_score(r.tempo_diff_pct, 0.3, 3.0);
  }
  // Key.
  r.outgoing_key = key_out_seen_.known() ? key_out_seen_ : deck_key(out);
  r.incoming_key = key_in_seen_.known() ? key_in_seen_ : deck_key(in);
  p.key = camelot_compatibility(r.outgoing_key, r.incoming_key);
  // Bass clash.
  r.bass_clash_s = clash_hops_ / fps_;
  p.bass = lin_score(r.bass_clash_s, 1.0, 6.0);
  // Level continuity.
  r.loudness_before = loud_before_;
  r.loudness_after = loudness_;
  const double hi = std::max(loud_before_, loudness_), lo = std::min(loud_before_, loudness_);
  r.loudness_jump_lu = std::max(0.0, loud_max_ - hi);
  r.loudness_dip_lu = std::max(0.0, lo - loud_min_);
  p.level = lin_score(std::max(r.loudness_jump_lu, r.loudness_dip_lu), 4.0, 10.0);
  // Clipping.
  r.peak_dbfs = gain_to_db(static_cast<float>(peak_));
  r.clipped_pct = blend_hops_ > 0 ? 100.0 * clip_hops_ / blend_hops_ : 0.0;
  p.clipping = lin_score(r.clipped_pct, 0.0, 10.0);
  // Phrase.
  r.phrase_offset_beats = phrase_offset_;
  const double off = std::fabs(phrase_offset_);
  const double off8 = std::fabs(phrase_offset_ - 32.0 * std::round(phrase_offset_ / 32.0));
  const double off4 = std::fabs(phrase_offset_ - 16.0 * std::round(phrase_offset_ / 16.0));
  p.phrase = off <= 1.0 ? 100 : off8 <= 1.0 ? 70 : off4 <= 1.0 ? 40 : 10;

  // Total: weighted mean, capped by the parts that make a transition fall apart.
  const double mean = (30 * p.beat + 20 * p.tempo + 10 * p.key + 15 * p.bass + 10 * p.level + 10 * p.clipping +
                       5 * p.phrase) / 100.0;
  double score = std::min({mean, 40.0 + 0.6 * std::min(p.beat, p.tempo), 50.0 + 0.5 * p.bass});
  r.score = std::round(score * 10.0) / 10.0;

  // Feedback: weakest first.
  struct Part { const char* name; double v; };
  std::array<Part, 7> parts = {{{"beat-alignment", p.beat}, {"tempo-match", p.tempo}, {"key-compatibility", p.key},
                                {"bass-clash", p.bass}, {"level-continuity", p.level}, {"clipping", p.clipping},
                                {"phrase-alignment", p.phrase}}};
  std::stable_sort(parts.begin(), parts.end(), [](const Part& a, const Part& b) { return a.v < b.v; });
  r.weakest = parts[0].v < 80 ? parts[0].name : "";
  char line[256];
  char kin[8], kout[8];
  camelot_format(r.incoming_key, kin, sizeof kin);
  camelot_format(r.outgoing_key, kout, sizeof kout);
  for (const Part& part : parts) {
    if (part.v >= 80) break;
    const char* n = part.name;
    line[0] = 0;
    if (!std::strcmp(n, "beat-alignment")) {
      const double mean_signed = phase_w_ > 0 ? phase_signed_ / phase_w_ : 0;
      std::snprintf(line, sizeof line,
                    "Beats were ~%.0f ms apart during the blend (incoming %s) — nudge or sync before you bring it in.",
                    r.phase_error_ms, mean_signed >= 0 ? "late" : "early");
    } else if (!std::strcmp(n, "tempo-match")) {
      std::snprintf(line, sizeof line,
                    "Tempos differ by %.1f %% (%.1f vs %.1f BPM) — match the pitch before the blend.",
                    r.tempo_diff_pct, r.incoming_bpm, r.outgoing_bpm);
    } else if (!std::strcmp(n, "key-compatibility")) {
      std::snprintf(line, sizeof line,
                    "Keys clash: %s against %s, %d hours apart on the Camelot wheel — pick a track within one hour.",
                    kin, kout, camelot_hours_apart(r.incoming_key, r.outgoing_key));
    } else if (!std::strcmp(n, "bass-clash")) {
      std::snprintf(line, sizeof line, "Bass clash for %.0f s — cut the incoming low EQ until the swap.",
                    r.bass_clash_s);
    } else if (!std::strcmp(n, "level-continuity")) {
      if (r.loudness_jump_lu >= r.loudness_dip_lu)
        std::snprintf(line, sizeof line,
                      "The master got %.1f LU louder during the blend — bring the incoming fader up more gently.",
                      r.loudness_jump_lu);
      else
        std::snprintf(line, sizeof line, "The master dipped by %.1f LU during the blend — bring the incoming up sooner.",
                      r.loudness_dip_lu);
    } else if (!std::strcmp(n, "clipping")) {
      std::snprintf(line, sizeof line, "The master clipped during %.0f %% of the blend (peak %+.1f dBFS) — lower the gains.",
                    r.clipped_pct, r.peak_dbfs);
    } else if (!std::strcmp(n, "phrase-alignment")) {
      std::snprintf(line, sizeof line,
                    "The blend started %.1f beats off a 16-bar phrase of the outgoing track — start on the phrase.",
                    std::fabs(r.phrase_offset_beats));
    }
    append(r.feedback, sizeof r.feedback, line);
  }
  if (!r.feedback[0])
    std::snprintf(r.feedback, sizeof r.feedback, "Clean blend: beats locked, tempos matched, basses swapped, keys in harmony.");

  // Live hint: what to do right now.
  const bool clash_now = out.low_db > kBassPresentDb && in.low_db > kBassPresentDb &&
                         std::fabs(out.low_db - in.low_db) < kBassFullDb;
  if (phase_n_ > 0 && std::fabs(last_offset_ms_) > 15.0)
    std::snprintf(r.hint, sizeof r.hint, "Incoming is %.0f ms %s — nudge it %s.", std::fabs(last_offset_ms_),
                  last_offset_ms_ > 0 ? "late" : "early", last_offset_ms_ > 0 ? "forward" : "back");
  else if (r.tempo_diff_pct > 0.5)
    std::snprintf(r.hint, sizeof r.hint, "Tempos differ by %.1f %% — adjust the pitch.", r.tempo_diff_pct);
  else if (clash_now)
    std::snprintf(r.hint, sizeof r.hint, "Both basses are full — cut one low EQ.");
  else
    std::snprintf(r.hint, sizeof r.hint, "Locked in — keep it smooth.");
}

void TransitionJudge::push_report(const JudgeReport& r) {
  if (q_count_ == queue_.size()) {  // drop the oldest live report rather than block
    q_head_ = (q_head_ + 1) % queue_.size();
    --q_count_;
  }
  queue_[(q_head_ + q_count_) % queue_.size()] = r;
  ++q_count_;
}

bool TransitionJudge::pop_report(JudgeReport& out) {
  if (q_count_ == 0) return false;
  out = queue_[q_head_];
  q_head_ = (q_head_ + 1) % queue_.size();
  --q_count_;
  return true;
}

}  // namespace dju
