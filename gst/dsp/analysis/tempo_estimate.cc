#include "analysis/tempo_estimate.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace dju {

namespace {

// [1 2 1]/4 twice, then the mean removed: peaks span a few hops and interpolate well.
void smooth_centre(const float* in, int w, std::array<float, kTempoMaxFrames>& x,
                   std::array<float, kTempoMaxFrames>& tmp) {
  for (int i = 0; i < w; ++i) tmp[i] = in[i];
  for (int pass = 0; pass < 2; ++pass) {
    for (int i = 0; i < w; ++i) {
      const float a = tmp[std::max(0, i - 1)], b = tmp[i], c = tmp[std::min(w - 1, i + 1)];
      x[i] = 0.25f * a + 0.5f * b + 0.25f * c;
    }
    tmp = x;
  }
  double mean = 0;
  for (int i = 0; i < w; ++i) mean += x[i];
  mean /= w;
  for (int i = 0; i < w; ++i) x[i] = static_cast<float>(x[i] - mean);
}

// Autocorrelation of x (w values) at a fractional lag, normalised by the overlap.
double autocorr_at(const std::array<float, kTempoMaxFrames>& x, int w, double lag) {
  const int l0 = static_cast<int>(lag);
  if (l0 < 0 || l0 + 1 >= w) return 0.0;
  const double f = lag - l0;
  double a = 0, b = 0;
  for (int i = 0; i + l0 + 1 < w; ++i) {
    a += static_cast<double>(x[i]) * x[i + l0];
    b += static_cast<double>(x[i]) * x[i + l0 + 1];
  }
  const int n = w - l0 - 1;
  return ((1 - f) * a + f * b) / n;
}

// Where the snare falls, after the deck's offline analysis (snare on 2 and 4 of the slow reading:
// it is the beat; on every slow beat: double time), from the envelope of the band above 4 kHz
// (snare noise and hats; no kick, and still there when a deck's low EQ is killed). On the grid of
// half the slow beat `period` (hops), phased on that band's strongest attacks, each step's attack
// (the largest value within two hops) relative to the band's strong attacks (the 90th percentile
// over the grid), averaged four steps by four (two slow beats) into classes. Hats on every step
// raise all four alike, so the weakest class is the floor. Returns +1 when one class stands out
// alone (the backbeat on 2 and 4), -1 when the class opposite it stands out too (a snare on every
// slow beat), 0 when none stands out by kSnareClass.
constexpr int kMaxGrid = 256;       // steps: 8 s at 178 BPM is 48
constexpr double kSnareClass = 0.3;  // of the band's strong attacks, above the floor
constexpr double kSnareOpposite = 0.5;
constexpr double kSnareOverFloor = 3.0;
int snare_classes(const float* top_band, int w, double period) {
  const double step = period / 2;
  std::array<double, 16> fold{};
  for (int i = 0; i < w; ++i) fold[std::min(15, static_cast<int>(std::fmod(i, step) / step * 16))] += top_band[i];
  const int ph = static_cast<int>(std::max_element(fold.begin(), fold.end()) - fold.begin());
  constexpr int kReach = 2;
  std::array<float, kMaxGrid> hit{}, tmp{};
  int m = 0;
  for (double t = (ph + 0.5) * step / 16; t < w - kReach && m < kMaxGrid; t += step, ++m) {
    const int c = static_cast<int>(std::lround(t));
    float h = 0;
    for (int j = std::max(0, c - kReach); j <= std::min(w - 1, c + kReach); ++j) h = std::max(h, top_band[j]);
    hit[m] = h;
  }
  if (m < 8) return 0;
  std::copy(hit.begin(), hit.begin() + m, tmp.begin());
  std::nth_element(tmp.begin(), tmp.begin() + m * 9 / 10, tmp.begin() + m);
  const float h90 = tmp[m * 9 / 10];
  if (!(h90 > 0)) return 0;
  double cls[4] = {}, cnt[4] = {};
  for (int i = 0; i < m; ++i) {
    cls[i % 4] += hit[i] / h90;
    cnt[i % 4] += 1;
  }
  for (int c = 0; c < 4; ++c) cls[c] /= std::max(1.0, cnt[c]);
  const double floor = *std::min_element(cls, cls + 4);
  for (double& v : cls) v -= floor;
  const int top = static_cast<int>(std::max_element(cls, cls + 4) - cls);
  if (cls[top] <= kSnareClass || cls[top] <= kSnareOverFloor * floor) return 0;
  return cls[(top + 2) % 4] > kSnareOpposite * cls[top] ? -1 : 1;
}

}  // namespace

TempoEstimate estimate_tempo_ex(const float* odf, int n, double fps, double min_bpm, double max_bpm,
                                const float* backbeat, const float* top_band) {
  TempoEstimate res;
  if (n > kTempoMaxFrames) {
    odf += n - kTempoMaxFrames;
    if (backbeat) backbeat += n - kTempoMaxFrames;
    if (top_band) top_band += n - kTempoMaxFrames;
    n = kTempoMaxFrames;
  }
  const int w = n;
  if (w < static_cast<int>(3 * fps)) return res;
  std::array<float, kTempoMaxFrames> raw{}, x{};
  smooth_centre(odf, w, x, raw);
  const int lmin = static_cast<int>(std::floor(60.0 * fps / max_bpm));
  const int lmax = static_cast<int>(std::ceil(60.0 * fps / min_bpm));
  // Autocorrelation for every lag we may need (normalised by the overlap).
  const int max_lag = std::min(w - static_cast<int>(2 * fps), kTempoMaxFrames - 1);
  std::array<double, kTempoMaxFrames> ac{};
  for (int lag = 0; lag <= max_lag; ++lag) {
    double sum = 0;
    for (int i = 0; i + lag < w; ++i) sum += static_cast<double>(x[i]) * x[i + lag];
    ac[lag] = sum / (w - lag);
  }
  auto at = [&](double lag) {
    if (lag < 0 || lag >= max_lag) return 0.0;
    const int i = static_cast<int>(lag);
    const double f = lag - i;
    return ac[i] * (1 - f) + ac[i + 1] * f;
  };
  // Half the lag counts too, so that a pulse of eighth notes picks the beat rather than one and a half
  // beats; a log-normal preference around 120 BPM (half an octave wide) settles what the comb leaves
  // open, such as the dotted-eighth percussion of house grooves.
  int best = -1;
  double bv = 0, best_comb = 0;
  for (int lag = lmin; lag <= lmax; ++lag) {
    double v = at(lag / 2.0);
    for (int m = 1; m <= 4; ++m) v += at(static_cast<double>(m) * lag);
    const double comb = v;
    const double octaves = std::log2(60.0 * fps / lag / 120.0);
    v *= std::exp(-0.5 * octaves * octaves / (0.5 * 0.5));
    if (v > bv) { bv = v; best = lag; best_comb = comb; }
  }
  if (best < 0 || !(ac[0] > 0)) return res;
  res.confidence = std::clamp(best_comb / (5.0 * ac[0]), 0.0, 1.0);
  // Mean autocorrelation over the first eight multiples of a period, at its best fractional value
  // within ±1 lag (`step` apart); writes that period.
  auto comb8 = [&](double centre, double step, double* period) {
    double bestv = -1e300;
    for (double lag = centre - 1.0; lag <= centre + 1.0; lag += step) {
      double v = 0;
      int used = 0;
      for (int m = 1; m <= 8 && m * lag < max_lag; ++m, ++used) v += at(m * lag);
      if (used == 0) break;
      v /= used;
      if (v > bestv) { bestv = v; *period = lag; }
    }
    return bestv;
  };
  double fine = best;
  double fv = comb8(best, 0.05, &fine);
  // Metrical level: a syncopated part (hip-hop kicks, a dotted bass line, a gated or bass-less mix)
  // can make 3/4 or 4/3 of the beat (or 2/3, 3/2) win the comb above. The beat is the period all of
  // whose multiples land on strong lags; a related period clearly better on that count replaces it.
  for (double r : {4.0 / 3.0, 0.75, 1.5, 2.0 / 3.0}) {
    const double lag = fine * r;
    if (lag < lmin || lag > lmax) continue;
    double period = lag;
    const double v = comb8(lag, 0.05, &period);
    if (v > 1.15 * fv) { fv = v; fine = period; }
  }
  // Where the snare falls (see snare_classes) settles the octave before the envelope's own
  // periodicity does: a fast reading whose half has its backbeat on 2 and 4 is that half (eighth-note
  // hats on hip-hop at 85 or rock at 80 make 170 and 160 look strong), and a slow reading with its
  // backbeat on 2 and 4 is not doubled by the octave rule below. (A snare on every slow beat is not
  // taken as double time by itself: hip-hop's hats can look like that; the rules below decide.)
  int snare_says = 0;
  if (top_band && 60.0 * fps / fine / 2.0 >= min_bpm && snare_classes(top_band, w, 2 * fine) > 0) {
    fine *= 2;
    snare_says = 1;
  } else if (top_band && 60.0 * fps / fine * 2.0 <= kTempoMaxDoubledBpm) {
    snare_says = std::max(0, snare_classes(top_band, w, fine));
  }
  // Octave: beats as strong half-way between as on them (drum & bass: the snare on the 174 grid
  // against a kick on the 87 one) mean twice the tempo, when that is still in range.
  if (snare_says == 0 && 60.0 * fps / fine * 2.0 <= max_bpm) {
    const double on = at(fine), half = std::max({at(fine / 2 - 1), at(fine / 2), at(fine / 2 + 1)});
    if (on > 0 && half >= 0.45 * on) fine /= 2;
  }
  // Half time: a slow reading whose two beats repeat almost exactly in the band above the kicks
  // (snares, hats, the bass's upper harmonics) while one beat does not is one bar of twice that tempo.
  // Drum & bass's two-step (kick on 1 and the and of 3, snare on 2 and 4) reads as 87 on the kicks;
  // its bar is two of those beats. Hip-hop's bar spans four of its 90 BPM beats, and two of them do
  // not repeat. (A 90 BPM groove whose half bar repeats exactly would be doubled too.) "Almost
  // exactly" is 40 % of the envelope's power: a deck whose bass has just come back after a kill (its
  // envelope changes within the window) repeats at 0.43-0.49 on drum & bass at 179, while hip-hop's
  // half bar stays under 0.15 on the demo track (24 tracks, 165 readings: no decision turned wrong).
  // Where the snare says the slow reading is the beat, only a near-perfect two-beat loop that does
  // not repeat beat to beat (under 10 %) overrides it: the demo drum & bass intro, a half-time
  // groove, repeats under 0.06; rock at 80 repeats at 0.18-0.20 beat to beat in djspectrum's band
  // above the kicks. Without that band (a deck whose bass is killed) the top band is used.
  const float* repeat_env = backbeat ? backbeat : snare_says > 0 ? top_band : nullptr;
  if (repeat_env && 60.0 * fps / fine * 2.0 <= kTempoMaxDoubledBpm && 60.0 * fps / fine * 2.0 > 0.85 * max_bpm) {
    std::array<float, kTempoMaxFrames> r{}, tmp{};
    smooth_centre(repeat_env, w, r, tmp);
    auto peak = [&](double lag) {
      return std::max({autocorr_at(r, w, lag - 1), autocorr_at(r, w, lag), autocorr_at(r, w, lag + 1)});
    };
    const double r0 = autocorr_at(r, w, 0), one = peak(fine), two = peak(2 * fine);
    if (r0 > 0 && two >= 0.4 * r0 && one < (snare_says > 0 ? 0.1 : 0.5) * two) fine /= 2;
  }
  double refined = fine;
  comb8(fine, 0.01, &refined);
  res.bpm = 60.0 * fps / refined;
  return res;
}

namespace {
// The simple ratio (as new/held) that relates two tempos within 2 %, or 0.
double related_ratio(double bpm, double held) {
  for (double r : {2.0, 0.5, 1.5, 2.0 / 3.0, 4.0 / 3.0, 0.75, 3.0, 1.0 / 3.0})
    if (std::fabs(bpm / (held * r) - 1.0) < 0.02) return r;
  return 0.0;
}
}  // namespace

double TempoTracker::update(const TempoEstimate& e, bool full_window) {
  if (held_ <= 0 && e.bpm > 0 && e.confidence >= kMinFirstConfidence && e.confidence < kMinConfidence) {
    // Not locked yet, a weakly periodic groove (syncopated kicks, a swung hip-hop verse): estimates
    // that agree closely, again and again, are evidence enough.
    if (weak_count_ > 0 && std::fabs(e.bpm / weak_ - 1.0) < 0.005) {
      if (++weak_count_ >= kWeakAgreeing) {
        held_ = e.bpm;
        lock_confidence_ = e.confidence;
        weak_count_ = candidate_count_ = 0;
        provisional_ = !full_window;
      }
    } else {
      weak_ = e.bpm;
      weak_count_ = 1;
    }
    return held_;
  }
  if (!(e.bpm > 0) || e.confidence < kMinConfidence) {
    candidate_count_ = weak_count_ = 0;  // a change must be heard without a gap
    return held_;                        // hold through breakdowns
  }
  if (held_ > 0 && std::fabs(e.bpm / held_ - 1.0) < 0.03) {
    // The same tempo (or a small pitch move): follow it.
    held_ = e.bpm;
    lock_confidence_ += 0.2 * (e.confidence - lock_confidence_);
    candidate_count_ = 0;
    if (full_window) provisional_ = false;  // confirmed by an estimate that saw the whole window
    return held_;
  }
  // Something else: a start, a real tempo change, or another metrical level of the same beat (a
  // breakdown without its kick). Only estimates about as confident as the locked ones count.
  if (held_ > 0 && e.confidence < 0.6 * lock_confidence_) {
    candidate_count_ = 0;
    return held_;
  }
  if (candidate_count_ > 0 && std::fabs(e.bpm / candidate_ - 1.0) < 0.02) {
    ++candidate_count_;
  } else {
    candidate_ = e.bpm;
    candidate_count_ = 1;
  }
  // Only full-window estimates count against a provisional lock.
  if (provisional_ && !full_window) {
    candidate_count_ = 0;
    return held_;
  }
  // First lock (or over a provisional one): two agreeing estimates. A new tempo: four in a row; a
  // simple ratio of the held one: twelve in a row.
  const int need = held_ <= 0 || provisional_ ? 2 : related_ratio(e.bpm, held_) > 0 ? 12 : 4;
  if (candidate_count_ >= need) {
    held_ = e.bpm;
    lock_confidence_ = e.confidence;
    candidate_count_ = 0;
    provisional_ = !full_window;
  }
  return held_;
}

}  // namespace dju
