#include "deck/analysis.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dju {

namespace {

constexpr double kRate = 48000.0;
constexpr int kEnvHop = 64;           // onset envelope: one value per 1.33 ms
constexpr int kDecimation = 4;        // envelopes, key and the waveform's lows at 12 kHz
constexpr int kKeyDecimation = 8;     // key analysis at 6 kHz …
constexpr int kKeyFft = 4096;         // … with 1.46 Hz bins (semitones apart down to ~25 Hz)

// Krumhansl–Kessler probe-tone profiles (Krumhansl 1990), index 0 = tonic.
constexpr double kMajorProfile[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
constexpr double kMinorProfile[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};

const char* const kPitchNames[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};

// RBJ-cookbook biquad (direct form I).
struct Biquad {
  double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
  double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
  static Biquad lowpass(double f, double q, double rate = kRate) {
    Biquad b;
    const double w = 2.0 * M_PI * f / rate, c = std::cos(w), alpha = std::sin(w) / (2.0 * q);
    const double a0 = 1.0 + alpha;
    b.b0 = (1.0 - c) / 2.0 / a0;
    b.b1 = (1.0 - c) / a0;
    b.b2 = b.b0;
    b.a1 = -2.0 * c / a0;
    b.a2 = (1.0 - alpha) / a0;
    return b;
  }
  static Biquad highpass(double f, double q, double rate = kRate) {
    Biquad b;
    const double w = 2.0 * M_PI * f / rate, c = std::cos(w), alpha = std::sin(w) / (2.0 * q);
    const double a0 = 1.0 + alpha;
    b.b0 = (1.0 + c) / 2.0 / a0;
    b.b1 = -(1.0 + c) / a0;
    b.b2 = b.b0;
    b.a1 = -2.0 * c / a0;
    b.a2 = (1.0 - alpha) / a0;
    return b;
  }
  double run(double x) {
    // The last output's term added last: the chain from one sample to the next is one multiply
    // and one add (the other terms are ready early), where the textbook order makes it three.
    const double y = (b0 * x + b1 * x1 + b2 * x2 - a2 * y2) - a1 * y1;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
    return y;
  }
};

double pearson(const double* a, const double* b, int n) {
  double ma = 0, mb = 0;
  for (int i = 0; i < n; ++i) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  double num = 0, da = 0, db = 0;
  for (int i = 0; i < n; ++i) {
    num += (a[i] - ma) * (b[i] - mb);
    da += (a[i] - ma) * (a[i] - ma);
    db += (b[i] - mb) * (b[i] - mb);
  }
  return da > 0 && db > 0 ? num / std::sqrt(da * db) : 0.0;
}

// Score of a period: how concentrated the envelope is at one phase when folded by the period.
// Returns the score and writes the best phase (seconds from the start, in [0, period)).
double fold_score(const std::vector<float>& env, double hop_s, double period_s, double* phase_s) {
  constexpr int kBins = 96;
  double hist[kBins] = {};
  const double bins_per_hop = hop_s / period_s * kBins;
  double total = 0;
  double b = 0.0;  // bin of value i: i·bins_per_hop mod kBins, accumulated
  for (size_t i = 0; i < env.size(); ++i, b += bins_per_hop) {
    if (b >= kBins) b -= kBins;
    if (env[i] <= 0.0f) continue;
    hist[std::min(static_cast<int>(b), kBins - 1)] += env[i];  // b < kBins: no modulo needed
    total += env[i];
  }
  if (total <= 0) return 0.0;
  double best = -1;
  int best_bin = 0;
  for (int b = 0; b < kBins; ++b) {
    const double s = hist[(b + kBins - 1) % kBins] + hist[b] + hist[(b + 1) % kBins];
    if (s > best) {
      best = s;
      best_bin = b;
    }
  }
  if (phase_s) *phase_s = (best_bin + 0.5) / kBins * period_s;
  return best / total;
}

// Position of the onset-envelope peak nearest to t (seconds) within ±win_s, parabolically
// interpolated; returns the peak's height through *height (0 if none).
double local_peak(const std::vector<float>& env, double hop_s, double t, double win_s, float* height) {
  const ptrdiff_t c = static_cast<ptrdiff_t>(std::llround(t / hop_s));
  const ptrdiff_t w = static_cast<ptrdiff_t>(std::ceil(win_s / hop_s));
  ptrdiff_t best = -1;
  float bv = 0.0f;
  for (ptrdiff_t i = std::max<ptrdiff_t>(1, c - w); i <= c + w && i + 1 < static_cast<ptrdiff_t>(env.size()); ++i) {
    if (env[i] > bv) {
      bv = env[i];
      best = i;
    }
  }
  *height = bv;
  if (best < 0) return t;
  const double a = env[best - 1], b = env[best], d = env[best + 1];
  const double den = a - 2 * b + d;
  const double off = den < 0 ? 0.5 * (a - d) / den : 0.0;
  return (static_cast<double>(best) + std::clamp(off, -0.5, 0.5)) * hop_s;
}

}  // namespace

const char* pitch_class_name(int pc) { return pc >= 0 && pc < 12 ? kPitchNames[pc] : ""; }

std::string camelot_code(int tonic, bool minor) {
  if (tonic < 0 || tonic > 11) return "";
  // Each step of a fifth is one hour on the wheel; A minor and C major are 8.
  const int ref = minor ? 9 : 0;
  const int steps = (((tonic - ref) * 7) % 12 + 12) % 12;
  const int hour = (steps + 7) % 12 + 1;
  return std::to_string(hour) + (minor ? "A" : "B");
}

// A key profile as a spectrum-based chroma sees it: every scale degree also lights up its
// overtones (octaves, the fifth above from the 3rd harmonic, the major third from the 5th), with
// weights falling as 0.6^(h−1) (after Gómez's harmonic pitch class profiles). Without this, the
// fifth of a bright synth bass outweighs the tonic and the dominant key wins.
void harmonic_profile(const double* base, double* out) {
  static const int kHarmonicSemis[6] = {0, 12, 19, 24, 28, 31};
  for (int i = 0; i < 12; ++i) out[i] = 0;
  for (int n = 0; n < 12; ++n) {
    double w = 1.0;
    for (int h = 0; h < 6; ++h, w *= 0.6) out[(n + kHarmonicSemis[h]) % 12] += base[n] * w;
  }
}

namespace {

// The best of the 24 keys by correlation of the chroma with the rotated profiles.
KeyResult best_key(const double chroma[12], const double major[12], const double minor[12]) {
  KeyResult r;
  double sum = 0;
  for (int i = 0; i < 12; ++i) sum += chroma[i];
  if (!(sum > 0)) return r;
  double best = -2, second = -2;
  for (int mode = 0; mode < 2; ++mode) {
    const double* prof = mode ? minor : major;
    for (int tonic = 0; tonic < 12; ++tonic) {
      double rotated[12];
      for (int i = 0; i < 12; ++i) rotated[i] = prof[((i - tonic) % 12 + 12) % 12];
      const double c = pearson(chroma, rotated, 12);
      if (c > best) {
        second = best;
        best = c;
        r.tonic = tonic;
        r.minor = mode == 1;
      } else if (c > second) {
        second = c;
      }
    }
  }
  r.score = best;
  r.margin = best - second;
  r.name = std::string(kPitchNames[r.tonic]) + (r.minor ? " minor" : " major");
  r.camelot = camelot_code(r.tonic, r.minor);
  return r;
}

}  // namespace

KeyResult key_from_chroma(const double chroma[12]) {
  double major_h[12], minor_h[12];
  harmonic_profile(kMajorProfile, major_h);
  harmonic_profile(kMinorProfile, minor_h);
  return best_key(chroma, major_h, minor_h);
}

KeyResult key_from_frame_chroma(const double chroma[12]) { return best_key(chroma, kMajorProfile, kMinorProfile); }

// ---------------------------------------------------------------- tempo and beat grid

namespace {

// Sum of adjacent pairs: the envelope at half the rate (for the searches that do not need 1.3 ms).
std::vector<float> halve_rate(const std::vector<float>& x) {
  std::vector<float> y(x.size() / 2);
  for (size_t i = 0; i < y.size(); ++i) y[i] = x[2 * i] + x[2 * i + 1];
  return y;
}

// Autocorrelation of x (mean removed) for lags 0..max_lag, through one FFT pair.
std::vector<double> autocorrelation(const std::vector<float>& x, size_t max_lag) {
  size_t n = 1;
  while (n < 2 * x.size()) n <<= 1;
  double mean = 0;
  for (float v : x) mean += v;
  mean /= std::max<size_t>(1, x.size());
  aubio_fft_t* fft = new_aubio_fft(static_cast<uint_t>(n));
  fvec_t* in = new_fvec(static_cast<uint_t>(n));
  cvec_t* spec = new_cvec(static_cast<uint_t>(n));
  for (size_t i = 0; i < x.size(); ++i) in->data[i] = static_cast<smpl_t>(x[i] - mean);
  aubio_fft_do(fft, in, spec);
  for (size_t b = 0; b <= n / 2; ++b) {
    spec->norm[b] = spec->norm[b] * spec->norm[b];
    spec->phas[b] = 0;
  }
  aubio_fft_rdo(fft, spec, in);
  std::vector<double> r(std::min(max_lag + 1, n));
  for (size_t i = 0; i < r.size(); ++i) r[i] = in->data[i];
  del_aubio_fft(fft);
  del_fvec(in);
  del_cvec(spec);
  return r;
}

// Envelope summed at the beats of a grid (t = a + n·period) and half-way between them; each
// position takes the strongest value within ±10 ms.
void on_and_off(const std::vector<float>& env, double hop_s, double a, double period, double* on, double* off) {
  *on = *off = 0;
  const double len = static_cast<double>(env.size()) * hop_s;
  const ptrdiff_t w = static_cast<ptrdiff_t>(std::ceil(0.010 / hop_s));
  for (double t = a; t + period / 2 < len - hop_s; t += period) {
    for (int half = 0; half < 2; ++half) {
      const ptrdiff_t c = static_cast<ptrdiff_t>(std::llround((t + half * period / 2) / hop_s));
      float m = 0;
      for (ptrdiff_t i = std::max<ptrdiff_t>(0, c - w); i <= c + w && i < static_cast<ptrdiff_t>(env.size()); ++i)
        m = std::max(m, env[i]);
      // minus the level around it (±60 ms): a hit counts, a busy bass line's ripple does not
      double base = 0;
      int cnt = 0;
      for (ptrdiff_t i = std::max<ptrdiff_t>(0, c - 6 * w); i <= c + 6 * w && i < static_cast<ptrdiff_t>(env.size()); ++i, ++cnt)
        base += env[i];
      if (cnt > 0) base /= cnt;
      (half ? *off : *on) += std::max(0.0, m - 2.0 * base);
    }
  }
}

// The 90th percentile (the level of a band's strong attacks).
float percentile90(std::vector<float> v) {
  if (v.empty()) return 0.0f;
  std::nth_element(v.begin(), v.begin() + v.size() * 9 / 10, v.end());
  return v[v.size() * 9 / 10];
}

// The best period near `bpm` (±span, fractional) by folding, with its phase.
// Kick-band and mid-band attack heights at every step of a grid from `start`, each relative to
// its band's strong attacks (its 90th percentile), for telling kicks, snares and off-beats apart.
struct DrumHits {
  std::vector<float> kick, snare;
  float kick90 = 0, snare90 = 0;
};

DrumHits drum_hits(const std::vector<float>& kick_env, const std::vector<float>& mid_env, double hop_s,
                   double len_s, double start, double step) {
  DrumHits d;
  for (double t = start; t < len_s - 0.05; t += step) {
    float h;
    local_peak(kick_env, hop_s, t, 0.012, &h);
    d.kick.push_back(h);
    local_peak(mid_env, hop_s, t, 0.012, &h);
    d.snare.push_back(h);
  }
  d.kick90 = percentile90(d.kick);
  d.snare90 = percentile90(d.snare);
  return d;
}

double best_fold(const std::vector<float>& env, double hop_s, double lo, double hi, double step, double* phase) {
  double best_bpm = 0, best_score = -1;
  for (double bpm = lo; bpm <= hi; bpm += step) {
    double ph = 0.0;
    const double s = fold_score(env, hop_s, 60.0 / bpm, &ph);
    if (s > best_score) {
      best_score = s;
      best_bpm = bpm;
      *phase = ph;
    }
  }
  return best_bpm;
}

}  // namespace

BeatGrid fit_beat_grid(const OnsetEnvelopes& e, double min_bpm, double max_bpm, double* confidence) {
  BeatGrid grid;
  if (confidence) *confidence = 0.0;
  const size_t n = e.full.size();
  if (n < 64 || e.low.size() != n || e.mid.size() != n) return grid;
  const double hop_s = e.hop_s;
  // The drums' envelope: kick and snare/clap, without the hats (whose 8ths and 16ths would pull
  // the phase off the beat).
  std::vector<float> drums(n);
  for (size_t i = 0; i < n; ++i) drums[i] = e.low[i] + e.mid[i];
  // For the tempo search (steps 1–3): the kick band that a held bass note does not ripple.
  const bool smooth = e.low_smooth.size() == n;
  std::vector<float> drums_t(n);
  for (size_t i = 0; i < n; ++i) drums_t[i] = (smooth ? e.low_smooth[i] : e.low[i]) + e.mid[i];
  const std::vector<float> drums2 = halve_rate(drums_t);
  const double hop2 = 2 * hop_s;

  // 1. Tempo class: the strongest periodicity of the drums within one octave [min, 2·min), where
  //    each lag also counts its double and quadruple (a beat repeats every bar). The envelope is
  //    smoothed to ~10 ms first: attacks a few ms early or late (swing, a loose groove) still add up.
  constexpr int kCoarse = 8;  // 93.75 values a second
  std::vector<float> coarse(n / kCoarse);
  for (size_t i = 0; i < coarse.size(); ++i)
    for (int k = 0; k < kCoarse; ++k) coarse[i] += drums_t[i * kCoarse + k];
  for (size_t i = 1; i + 1 < coarse.size(); ++i) coarse[i - 1] = 0.25f * coarse[i - 1] + 0.5f * coarse[i] + 0.25f * coarse[i + 1];
  const double hopc = kCoarse * hop_s;
  const size_t max_lag = static_cast<size_t>(std::ceil(4 * 60.0 / min_bpm / hopc)) + 2;
  const std::vector<double> acf = autocorrelation(coarse, max_lag);
  if (acf.size() <= max_lag || acf[0] <= 0) return grid;
  auto acf_at = [&](double lag) {
    const size_t i = static_cast<size_t>(lag);
    if (i + 1 >= acf.size()) return 0.0;
    const double f = lag - static_cast<double>(i);
    return acf[i] * (1 - f) + acf[i + 1] * f;
  };
  double rough = 0, rough_score = -1e300;
  for (double bpm = min_bpm; bpm < 2 * min_bpm; bpm *= 1.001) {
    const double lag = 60.0 / bpm / hopc;
    const double s = acf_at(lag) + acf_at(2 * lag) + acf_at(4 * lag);
    if (s > rough_score) {
      rough_score = s;
      rough = bpm;
    }
  }
  // 2. Fine tempo and phase in that class by folding (±2 % in 0.04 BPM steps, then 0.01).
  double phase = 0;
  double slow = best_fold(drums2, hop2, rough * 0.98, rough * 1.02, 0.04, &phase);
  slow = best_fold(drums2, hop2, slow - 0.05, slow + 0.05, 0.01, &phase);
  if (slow <= 0) return grid;
  // The phase from the plain drums envelope (the short kick window places attacks better).
  fold_score(halve_rate(drums), hop2, 60.0 / slow, &phase);
  double bpm = slow;
  // 3. Octave: when this tempo's double is also in range (hip-hop at 85 or drum & bass at 170?),
  //    the drums decide, as a listener does: the backbeat snare falls on every other beat. On the
  //    faster grid, count the beats four by four (classes 0–3). A snare in two opposite classes
  //    (every second fast beat) makes the faster tempo the beat; a snare in one class only (every
  //    fourth fast beat: every second slow beat) the slower one, the beat being its class and the
  //    one opposite. Without a clear snare the kick decides: on every fast beat alike (four to
  //    the floor) the faster tempo, otherwise the slower, on the pair of classes the kick holds.
  if (slow * 2 < max_bpm) {
    double fast_phase = 0;
    const double fast = best_fold(drums2, hop2, slow * 2 - 0.05, slow * 2 + 0.05, 0.01, &fast_phase);
    const double fb = 60.0 / fast;
    // Each beat of the fast grid: its kick (low band) and snare (mid band) attack, each relative
    // to the band's strong attacks (its 90th percentile). A snare hit is a clear mid-band attack
    // that outweighs the low band's (a kick's attack reaches into the mid band too).
    const DrumHits d = drum_hits(smooth ? e.low_smooth : e.low, e.mid, hop_s, static_cast<double>(n) * hop_s,
                                 fast_phase, fb);
    const std::vector<float>&kh = d.kick, &sh = d.snare;
    const float k90 = d.kick90, s90 = d.snare90;
    double sn[4] = {}, kk[4] = {};
    for (size_t i = 0; i < kh.size() && k90 > 0 && s90 > 0; ++i) {
      const double K = kh[i] / k90, S = sh[i] / s90;
      if (S > 0.5 && S > 1.5 * K) sn[i % 4] += 1;
      if (K > 0.5) kk[i % 4] += 1;
    }
    const double beats = static_cast<double>(kh.size()) / 4;  // positions per class
    const int top = static_cast<int>(std::max_element(sn, sn + 4) - sn);
    const double s_top = sn[top], s_opp = sn[(top + 2) % 4];
    int beat_class = -1;  // fast-grid class of the slow beat, or -1 for the fast tempo
    if (s_top > 0.25 * beats) {
      beat_class = s_opp > 0.65 * s_top ? -1 : top % 2;
    } else {
      const double k_min = *std::min_element(kk, kk + 4), k_max = *std::max_element(kk, kk + 4);
      const bool four_to_the_floor = k_max > 0 && k_min > 0.6 * k_max;
      beat_class = four_to_the_floor ? -1 : (kk[0] + kk[2] >= kk[1] + kk[3] ? 0 : 1);
    }
    if (beat_class < 0) {
      bpm = fast;
      phase = fast_phase;
    } else {
      bpm = slow;
      phase = fast_phase + beat_class * fb;
    }
  }
  // 4. Half a beat: the beat is where the drums are (the kick and the backbeat snare land on
  //    beats; syncopated kicks and ghost notes between them).
  double period = 60.0 / bpm, a = phase;
  {
    // Drum hits on the beats against hits half a beat off: a kick (a clear attack in the kick
    // band) or a snare (a clear mid-band attack that outweighs the kick band's), each relative
    // to its band's strong attacks. Hip-hop's kick on the "and" of 3 is outvoted by its snare on
    // 2 and 4. A tie (house: open hats on every off-beat) leaves it to the kick band's levels.
    const DrumHits d = drum_hits(smooth ? e.low_smooth : e.low, e.mid, hop_s, static_cast<double>(n) * hop_s, a,
                                 period / 2);
    const std::vector<float>&kh = d.kick, &sh = d.snare;
    const float k90 = d.kick90, s90 = d.snare90;
    double hits[2] = {0, 0};
    for (size_t i = 0; i < kh.size() && k90 > 0 && s90 > 0; ++i) {
      const double K = kh[i] / k90, S = sh[i] / s90;
      if (K > 0.5 || (S > 0.5 && S > 1.5 * K)) hits[i % 2] += 1;
    }
    double on, off;
    on_and_off(e.low, hop_s, a, period, &on, &off);
    if (hits[0] > 1.5 * hits[1] || hits[1] > 1.5 * hits[0]) {
      on = hits[0];
      off = hits[1];
    }
    if (off > 1.3 * on) a += period / 2;
  }
  // 5. Exact period and phase: the attack nearest every predicted beat, fitted as
  //    t = a + n·period by least squares over the whole track, rejecting what lies off the line
  //    (fills, beats without a drum) with a tightening tolerance.
  const double len_s = static_cast<double>(n) * hop_s;
  std::vector<float> heights;
  std::vector<std::pair<double, double>> pts;  // (n, time)
  const double tolerances[] = {0.030, 0.012, 0.006, 0.004};
  for (int pass = 0; pass < 4; ++pass) {
    pts.clear();
    heights.clear();
    const double win = pass == 0 ? std::min(0.05, period * 0.1) : 0.02;
    const long n0 = -static_cast<long>(std::floor(a / period));
    for (long k = n0;; ++k) {
      const double t = a + static_cast<double>(k) * period;
      if (t > len_s - 0.05) break;
      if (t < 0.005) continue;
      float h;
      const double tp = local_peak(e.full, hop_s, t, win, &h);
      float hl;
      local_peak(drums, hop_s, t, 0.015, &hl);
      heights.push_back(hl);
      pts.emplace_back(static_cast<double>(k), tp);
    }
    if (pts.size() < 8) return grid;
    std::vector<float> sorted = heights;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() * 3 / 4, sorted.end());
    const float strong = sorted[sorted.size() * 3 / 4] * 0.35f;
    double sn = 0, st = 0, snn = 0, snt = 0, cnt = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (heights[i] < strong || heights[i] <= 0) continue;
      const double res = pts[i].second - (a + pts[i].first * period);
      if (std::fabs(res) > tolerances[pass]) continue;
      sn += pts[i].first;
      st += pts[i].second;
      snn += pts[i].first * pts[i].first;
      snt += pts[i].first * pts[i].second;
      cnt += 1;
    }
    if (cnt < 8) return grid;
    const double den = cnt * snn - sn * sn;
    if (den <= 0) return grid;
    period = (cnt * snt - sn * st) / den;
    a = (st - period * sn) / cnt;
    if (confidence) *confidence = cnt / static_cast<double>(pts.size());
  }
  bpm = 60.0 / period;
  // 6. Steady electronic music is produced at a round tempo: snap when the fit is that close,
  //    and re-fit the offset with the snapped period.
  const double rounded = std::round(bpm * 2.0) / 2.0;
  if (std::fabs(bpm - rounded) < 0.03) {
    const double new_period = 60.0 / rounded;
    double s = 0, c = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      const double res = pts[i].second - (a + pts[i].first * period);
      if (heights[i] <= 0 || std::fabs(res) > 0.006) continue;
      s += pts[i].second - pts[i].first * new_period;
      c += 1;
    }
    if (c > 0) {
      a = s / c;
      period = new_period;
      bpm = rounded;
    }
  }
  // 7. The first beat: the earliest beat of the grid at or after the start of the track (a track
  //    whose drums come in late still has its grid running from the start, as a DJ counts it).
  grid.bpm = bpm;
  grid.first_beat = (a - std::floor(a / period) * period) * kRate;
  return grid;
}

// ---------------------------------------------------------------- the whole track

TrackAnalysis analyse_track(const Track& track, const AnalysisOptions& opts) {
  TrackAnalysis res;
  const size_t frames = track.frames();
  res.duration_s = static_cast<double>(frames) / kRate;
  if (frames == 0) return res;

  // Waveform overview: 10 points a second, within 1000..4000.
  const size_t points = std::clamp<size_t>(static_cast<size_t>(res.duration_s * 10.0), 1000, 4000);
  const double frames_per_point = static_cast<double>(frames) / static_cast<double>(points);
  res.waveform_point_s = frames_per_point / kRate;
  std::vector<double> wl(points, 0.0), wm(points, 0.0), wh(points, 0.0);
  std::vector<uint32_t> wn(points, 0);
  // Band split as a coloured waveform shows it: lows below ~250 Hz, highs above ~2.5 kHz
  // (Mixxx's default EQ crossovers), one-pole filters are plenty for a display.
  const double a_high = 1.0 - std::exp(-2.0 * M_PI * 2500.0 / kRate), keep_high = 1.0 - a_high;
  double lp_low = 0, lp_high = 0;

  // Most of the analysis runs on a 12 kHz mono signal (a 5 kHz low-pass, every 4th sample): the
  // kick, the snare, the key's 50 Hz–2 kHz and the waveform's lows all live below 5 kHz, and a
  // quarter of the samples costs a quarter of the filtering. Only the waveform's highs and the
  // levels use the full rate.
  constexpr double kRate12 = kRate / kDecimation;
  Biquad anti_alias = Biquad::lowpass(5000.0, 0.707);
  const double a_low12 = 1.0 - std::exp(-2.0 * M_PI * 250.0 / kRate12);

  // Onset envelopes: the rise of log energy over 128-frame windows every 64 frames (1.33 ms), for
  // the full band (up to 5 kHz), the low band (kick: below 150 Hz) and the mid band (snare, clap:
  // 200 Hz–3 kHz).
  constexpr int kEnvHop12 = kEnvHop / kDecimation;
  OnsetEnvelopes env;
  env.hop_s = kEnvHop / kRate;
  const size_t env_len = frames / kEnvHop + 1;
  if (opts.tempo) {
    env.full.reserve(env_len);
    env.low.reserve(env_len);
    env.mid.reserve(env_len);
  }
  double e_half[3] = {}, log_prev[3] = {};
  // The kick band once more over 8 hops (10.7 ms) for the tempo search: a held bass note (an 808,
  // a sub) measured over 2.7 ms rises and falls with every cycle, and those ripples, not the
  // drums, then set the tempo (rock at 80 read 123.7, drum & bass at 172 137.5). Over 10.7 ms
  // the ripple is a tenth as deep; the attacks' timing still comes from the short windows.
  constexpr int kSmoothHops = 8;
  double low_ring[kSmoothHops] = {}, low_sum = 0.0, low_log_prev = 0.0;
  int ring_pos = 0;
  if (opts.tempo) env.low_smooth.reserve(env_len);
  double e_prev[3] = {};
  Biquad kick_lp = Biquad::lowpass(150.0, 0.707, kRate12);
  Biquad mid_hp = Biquad::highpass(200.0, 0.707, kRate12), mid_lp = Biquad::lowpass(3000.0, 0.707, kRate12);

  // Key: 6 kHz (a 4th-order low-pass at 2.4 kHz on the 12 kHz signal, every 2nd sample),
  // Hann-windowed 4096-point FFTs every 2048 samples; each frame's magnitude per pitch class
  // (50 Hz–2 kHz), normalised so that loud passages do not outvote the rest, summed over the
  // track. (Power instead of magnitude lets a loud bass root drown the chord's third: A minor
  // heard as A major.)
  Biquad dec1 = Biquad::lowpass(2400.0, 0.541, kRate12), dec2 = Biquad::lowpass(2400.0, 1.307, kRate12);
  aubio_fft_t* fft = opts.key ? new_aubio_fft(kKeyFft) : nullptr;
  fvec_t* kin = new_fvec(kKeyFft);
  fvec_t* kspec = new_fvec(kKeyFft);  // packed complex spectrum (aubio_fft_do_complex)
  std::vector<float> kbuf(kKeyFft, 0.0f);
  uint_t kfill = 0;
  bool key_odd = false;
  std::vector<float> hann(kKeyFft);
  for (int i = 0; i < kKeyFft; ++i) hann[i] = 0.5f - 0.5f * std::cos(2.0f * static_cast<float>(M_PI) * i / kKeyFft);
  std::vector<int8_t> bin_pc(kKeyFft / 2 + 1, -1);
  const double key_rate = kRate / kKeyDecimation;
  for (int b = 1; b <= kKeyFft / 2; ++b) {
    const double f = b * key_rate / kKeyFft;
    if (f < 50.0 || f > 2000.0) continue;
    const double midi = 69.0 + 12.0 * std::log2(f / 440.0);
    if (std::fabs(midi - std::round(midi)) > 0.35) continue;
    bin_pc[b] = static_cast<int8_t>(std::lround(midi) % 12);
  }
  double chroma[12] = {};

  int64_t sumsq_i = 0;  // Σ (l + r)²: mono (l + r) / 65536, so Σ m² = sumsq_i / 2³²
  int peak_i = 0;
  int phase4 = 0;
  size_t n12 = 0;  // samples of the 12 kHz signal so far
  size_t p = 0;    // waveform point of frame i
  double next_point = frames_per_point;
  // The loop runs in two passes per block: the 48 kHz pass (levels, the waveform's highs, the
  // anti-alias filter) keeps every 4th filtered sample with its waveform point and its high-pass
  // state, and the 12 kHz pass works on those. Each pass keeps its state in registers, and the
  // waveform sums run in locals flushed once per point (a sum through memory at every sample was
  // most of the loop's time); the arithmetic and its order are those of one pass.
  constexpr size_t kBlock = 4096;  // frames
  double x12[kBlock / kDecimation], lph12[kBlock / kDecimation];
  uint32_t p12[kBlock / kDecimation];
  double acc_h = 0.0;  // wh[p], wn[p] of the current point
  uint32_t cnt_h = 0;
  size_t acc_p = 0;
  double acc_l = 0.0, acc_m = 0.0;  // wl[acc_lp], wm[acc_lp]
  size_t acc_lp = 0;
  for (size_t i0 = 0; i0 < frames;) {
    if (opts.cancel && opts.cancel->load()) break;
    size_t len = std::min(frames - i0, kBlock);
    const int16_t* pcm = track.span(i0, &len);
    if (!pcm || len == 0) break;
    size_t k12 = 0;
    for (size_t j = 0; j < len; ++j) {
      const size_t i = i0 + j;
      const int li = pcm[2 * j], ri = pcm[2 * j + 1];
      peak_i = std::max(peak_i, std::max(std::abs(li), std::abs(ri)));
      const double m = (li + ri) * (0.5 / 32768.0);
      sumsq_i += static_cast<int64_t>(li + ri) * (li + ri);  // exact, and no float chain
      while (p + 1 < points && static_cast<double>(i) >= next_point)
        next_point = static_cast<double>(++p + 1) * frames_per_point;
      if (opts.waveform) {
        if (p != acc_p) {
          wh[acc_p] = acc_h;
          wn[acc_p] = cnt_h;
          acc_p = p;
          acc_h = wh[p];
          cnt_h = wn[p];
        }
        lp_high = keep_high * lp_high + a_high * m;  // one-pole; the same as += a·(m − lp), a shorter chain
        const double hi = m - lp_high;
        acc_h += hi * hi;
        cnt_h++;
      }
      const double x = anti_alias.run(m);
      if (++phase4 < kDecimation) continue;
      phase4 = 0;
      x12[k12] = x;
      lph12[k12] = lp_high;
      p12[k12] = static_cast<uint32_t>(p);
      ++k12;
    }
    for (size_t k = 0; k < k12; ++k) {
      const double x = x12[k];
      ++n12;
      if (opts.waveform) {
        if (p12[k] != acc_lp) {
          wl[acc_lp] = acc_l;
          wm[acc_lp] = acc_m;
          acc_lp = p12[k];
          acc_l = wl[acc_lp];
          acc_m = wm[acc_lp];
        }
        lp_low += a_low12 * (x - lp_low);
        const double mid = lph12[k] - lp_low;
        acc_l += kDecimation * lp_low * lp_low;
        acc_m += kDecimation * mid * mid;
      }
      if (opts.tempo) {
        const double kk = kick_lp.run(x);
        const double md = mid_lp.run(mid_hp.run(x));
        e_half[0] += x * x;
        e_half[1] += kk * kk;
        e_half[2] += md * md;
        if (n12 % kEnvHop12 == 0) {
          float rise[3];
          for (int b = 0; b < 3; ++b) {
            if (b == 1) {
              low_sum += e_half[1] - low_ring[ring_pos];
              low_ring[ring_pos] = e_half[1];
              const double lg = std::log1p(1000.0 * kDecimation * std::max(0.0, low_sum) / (kSmoothHops * kEnvHop));
              env.low_smooth.push_back(static_cast<float>(std::max(0.0, lg - low_log_prev)));
              low_log_prev = lg;
            }
            const double lg = std::log1p(1000.0 * kDecimation * (e_half[b] + e_prev[b]) / (2 * kEnvHop));
            rise[b] = static_cast<float>(std::max(0.0, lg - log_prev[b]));
            log_prev[b] = lg;
            e_prev[b] = e_half[b];
            e_half[b] = 0;
          }
          ring_pos = (ring_pos + 1) % kSmoothHops;
          env.full.push_back(rise[0] + rise[1]);
          env.low.push_back(rise[1]);
          env.mid.push_back(rise[2]);
        }
      }
      if (fft) {
        const double d = dec2.run(dec1.run(x));
        key_odd = !key_odd;
        if (key_odd) continue;
        kbuf[kfill++] = static_cast<float>(d);
        if (kfill == kKeyFft) {
          for (int j = 0; j < kKeyFft; ++j) kin->data[j] = kbuf[j] * hann[j];
          // The complex output, not aubio_fft_do: that one also computes every bin's phase (an
          // atan2 each), which the chroma never reads. Packed: real parts of bins 0..N/2, then
          // the imaginary parts of bins N/2-1..1.
          aubio_fft_do_complex(fft, kin, kspec);
          const float* c = kspec->data;
          double frame_pc[12] = {}, total = 0;
          for (int b = 1; b <= kKeyFft / 2; ++b) {
            if (bin_pc[b] < 0) continue;
            const float im = b < kKeyFft / 2 ? c[kKeyFft - b] : 0.0f;
            const double e = std::sqrt(static_cast<double>(c[b]) * c[b] + static_cast<double>(im) * im);
            frame_pc[bin_pc[b]] += e;
            total += e;
          }
          if (total > 1e-9)
            for (int c = 0; c < 12; ++c) chroma[c] += frame_pc[c] / total;
          // hop 2048: the second half is the next frame's first
          std::copy(kbuf.begin() + kKeyFft / 2, kbuf.end(), kbuf.begin());
          kfill = kKeyFft / 2;
        }
      }
    }
    i0 += len;
  }
  if (opts.waveform) {
    wh[acc_p] = acc_h;
    wn[acc_p] = cnt_h;
    wl[acc_lp] = acc_l;
    wm[acc_lp] = acc_m;
  }
  res.peak = peak_i / 32768.0;
  const double sumsq = static_cast<double>(sumsq_i) / 4294967296.0;
  res.rms_db = 10.0 * std::log10(std::max(1e-12, sumsq / static_cast<double>(frames)));

  if (opts.tempo) {
    res.grid = fit_beat_grid(env, opts.min_bpm, opts.max_bpm, &res.bpm_confidence);
    if (res.grid.valid() && res.grid.first_beat < 0) res.grid.first_beat += res.grid.period();
  }

  if (fft) {
    del_aubio_fft(fft);
    std::copy(chroma, chroma + 12, res.chroma.begin());
    res.key = key_from_frame_chroma(chroma);
  }
  del_fvec(kin);
  del_fvec(kspec);

  if (opts.waveform) {
    double ml = 1e-12, mm = 1e-12, mh = 1e-12;
    for (size_t p = 0; p < points; ++p) {
      const double n = std::max<uint32_t>(1, wn[p]);
      wl[p] = std::sqrt(wl[p] / n);
      wm[p] = std::sqrt(wm[p] / n);
      wh[p] = std::sqrt(wh[p] / n);
      ml = std::max(ml, wl[p]);
      mm = std::max(mm, wm[p]);
      mh = std::max(mh, wh[p]);
    }
    const double mx = std::max({ml, mm, mh});
    res.waveform.resize(points);
    for (size_t p = 0; p < points; ++p) {
      auto q = [mx](double v) { return static_cast<uint8_t>(std::lround(255.0 * std::sqrt(v / mx))); };
      res.waveform[p] = {q(wl[p]), q(wm[p]), q(wh[p])};
    }
    // Intro/outro: bars whose lows reach half of the loud part's level carry the groove.
    std::vector<double> sorted(wl.begin(), wl.end());
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() * 9 / 10, sorted.end());
    const double loud = sorted[sorted.size() * 9 / 10];
    const double bar_s = res.grid.valid() ? res.grid.period() * 4 / kRate : 2.0;
    const double origin = res.grid.valid() ? res.grid.first_beat / kRate : 0.0;
    const int bars = static_cast<int>((res.duration_s - origin) / bar_s);
    auto bar_level = [&](int b) {
      const size_t p0 = static_cast<size_t>((origin + b * bar_s) / res.waveform_point_s);
      const size_t p1 = std::min(points, static_cast<size_t>((origin + (b + 1) * bar_s) / res.waveform_point_s));
      double s = 0;
      size_t c = 0;
      for (size_t p = p0; p < p1; ++p, ++c) s += wl[p];
      return c ? s / c : 0.0;
    };
    int first_full = -1, last_full = -1;
    for (int b = 0; b < bars; ++b) {
      if (bar_level(b) >= 0.5 * loud) {
        if (first_full < 0) first_full = b;
        last_full = b;
      }
    }
    res.intro_end_s = first_full >= 0 ? origin + first_full * bar_s : 0.0;
    res.outro_start_s = last_full >= 0 ? std::min(res.duration_s, origin + (last_full + 1) * bar_s) : res.duration_s;
  }
  return res;
}

}  // namespace dju
