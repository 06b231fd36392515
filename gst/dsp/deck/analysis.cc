#include "deck/analysis.h"

#include <aubio/aubio.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dju {

namespace {

constexpr double kRate = 48000.0;
constexpr int kEnvHop = 64;           // onset envelope: one value per 1.33 ms
constexpr double kOnsetLag = 0.0;     // frames, see analyse_track
constexpr int kAubioHop = 512;        // aubio tempo: hop and window as in aubio's own CLI
constexpr int kAubioWin = 1024;
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
  static Biquad lowpass(double f, double q) {
    Biquad b;
    const double w = 2.0 * M_PI * f / kRate, c = std::cos(w), alpha = std::sin(w) / (2.0 * q);
    const double a0 = 1.0 + alpha;
    b.b0 = (1.0 - c) / 2.0 / a0;
    b.b1 = (1.0 - c) / a0;
    b.b2 = b.b0;
    b.a1 = -2.0 * c / a0;
    b.a2 = (1.0 - alpha) / a0;
    return b;
  }
  double run(double x) {
    const double y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
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
  for (size_t i = 0; i < env.size(); ++i) {
    if (env[i] <= 0.0f) continue;
    const double b = std::fmod(static_cast<double>(i) * bins_per_hop, static_cast<double>(kBins));
    hist[static_cast<int>(b) % kBins] += env[i];
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

// Envelope summed at the grid's beats and half-way between them (seconds grid a + n·period).
void on_and_off_beat(const std::vector<float>& env, double hop_s, double a, double period, double* on, double* off) {
  *on = *off = 0;
  const double len = static_cast<double>(env.size()) * hop_s;
  for (double t = a; t + period / 2 < len - hop_s; t += period) {
    for (int half = 0; half < 2; ++half) {
      const double c = (t + half * period / 2) / hop_s;
      // best value within ±8 ms of the position
      const ptrdiff_t lo = std::max<ptrdiff_t>(0, static_cast<ptrdiff_t>(c - 0.008 / hop_s));
      const ptrdiff_t hi = std::min<ptrdiff_t>(static_cast<ptrdiff_t>(env.size()) - 1, static_cast<ptrdiff_t>(c + 0.008 / hop_s));
      float m = 0;
      for (ptrdiff_t i = lo; i <= hi; ++i) m = std::max(m, env[i]);
      (half ? *off : *on) += m;
    }
  }
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

KeyResult key_from_chroma(const double chroma[12]) {
  KeyResult r;
  double sum = 0;
  for (int i = 0; i < 12; ++i) sum += chroma[i];
  if (!(sum > 0)) return r;
  double best = -2, second = -2;
  double major_h[12], minor_h[12];
  harmonic_profile(kMajorProfile, major_h);
  harmonic_profile(kMinorProfile, minor_h);
  for (int mode = 0; mode < 2; ++mode) {
    const double* prof = mode ? minor_h : major_h;
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

BeatGrid fit_beat_grid(const std::vector<float>& env, double hop_s, double rough_bpm, double min_bpm,
                       double max_bpm, double* confidence, const std::vector<float>* kick_env) {
  BeatGrid grid;
  if (confidence) *confidence = 0.0;
  if (env.size() < 16) return grid;
  // 1. Coarse tempo: the rough estimate folded into [min, max), then the best-folding period
  //    within ±4 % of it (or over the whole range when there is no estimate).
  double lo = min_bpm, hi = max_bpm;
  if (rough_bpm > 0) {
    double b = rough_bpm;
    while (b < min_bpm) b *= 2;
    while (b >= max_bpm) b /= 2;
    lo = b * 0.96;
    hi = b * 1.04;
  }
  double best_bpm = 0, best_score = -1, best_phase = 0;
  for (double bpm = lo; bpm <= hi; bpm += 0.05) {
    double ph = 0.0;
    const double s = fold_score(env, hop_s, 60.0 / bpm, &ph);
    if (s > best_score) {
      best_score = s;
      best_bpm = bpm;
      best_phase = ph;
    }
  }
  if (best_bpm <= 0) return grid;
  // Octave: when the half-way points between these beats are about as strong as the beats (drum &
  // bass's snare on the 174 grid against a kick on the 87 one), the tempo is twice this.
  if (best_bpm * 2 < max_bpm) {
    double on, off;
    on_and_off_beat(env, hop_s, best_phase, 60.0 / best_bpm, &on, &off);
    if (off >= 0.45 * on) {
      best_bpm *= 2;
      best_phase = std::fmod(best_phase, 60.0 / best_bpm);
      double ph = 0.0;
      fold_score(env, hop_s, 60.0 / best_bpm, &ph);
      best_phase = ph;
    }
  }
  // 2. Refine: find the onset near every predicted beat and fit beat time = a + n·period by least
  //    squares, twice, dropping outliers (fills, off-beat hits) in between.
  double period = 60.0 / best_bpm, a = best_phase;
  const double len_s = static_cast<double>(env.size()) * hop_s;
  std::vector<float> heights;
  std::vector<std::pair<double, double>> pts;  // (n, time)
  for (int pass = 0; pass < 3; ++pass) {
    pts.clear();
    heights.clear();
    const double win = pass == 0 ? period * 0.12 : 0.02;
    for (long n = 0;; ++n) {
      const double t = a + static_cast<double>(n) * period;
      if (t > len_s - 0.05) break;
      float h;
      const double tp = local_peak(env, hop_s, t, win, &h);
      heights.push_back(h);
      pts.emplace_back(static_cast<double>(n), tp);
    }
    if (pts.size() < 8) return grid;
    std::vector<float> sorted = heights;
    std::nth_element(sorted.begin(), sorted.begin() + sorted.size() * 3 / 4, sorted.end());
    const float strong = sorted[sorted.size() * 3 / 4] * 0.35f;
    double sn = 0, st = 0, snn = 0, snt = 0, cnt = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      if (heights[i] < strong || heights[i] <= 0) continue;
      const double res = pts[i].second - (a + pts[i].first * period);
      if (pass > 0 && std::fabs(res) > 0.012) continue;
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
  // The beat is where the kick is: if the low band hits harder half a beat later (an off-beat
  // bass or open hat fooled the full-band envelope), move the grid by half a beat.
  if (kick_env) {
    double on, off;
    on_and_off_beat(*kick_env, hop_s, a, period, &on, &off);
    if (off > 1.3 * on) {
      a += period / 2;
      for (size_t i = 0; i < pts.size(); ++i) {
        float h;
        pts[i].second = local_peak(env, hop_s, a + pts[i].first * period, 0.02, &h);
        heights[i] = h;
      }
    }
  }
  // 3. Steady electronic music is produced at a round tempo: snap when the fit is that close,
  //    and re-fit the offset with the snapped period.
  double bpm = 60.0 / period;
  const double rounded = std::round(bpm * 2.0) / 2.0;
  if (std::fabs(bpm - rounded) < 0.04) {
    bpm = rounded;
    period = 60.0 / bpm;
    double s = 0, c = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
      const double res = pts[i].second - (a + pts[i].first * period);
      float h = heights[i];
      if (h <= 0 || std::fabs(res) > 0.012) continue;
      s += res;
      c += 1;
    }
    if (c > 0) a += s / c;
  }
  // 4. The first beat: the earliest beat of the grid at or after the start of the track (a track
  // whose drums come in late still has its grid running from the start, as a DJ counts it).
  const double first = a - std::floor(a / period) * period;
  grid.bpm = bpm;
  grid.first_beat = first * kRate;
  return grid;
}

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
  const double a_low = 1.0 - std::exp(-2.0 * M_PI * 250.0 / kRate);
  const double a_high = 1.0 - std::exp(-2.0 * M_PI * 2500.0 / kRate);
  double lp_low = 0, lp_high = 0;

  // Onset envelope: log-compressed energy rise over 128-frame windows every 64 frames, full band
  // plus a low band (the kick) so four-on-the-floor and broken beats both show up.
  std::vector<float> env, kick_env;
  env.reserve(frames / kEnvHop + 2);
  kick_env.reserve(frames / kEnvHop + 2);
  double e_prev_half = 0, el_prev_half = 0, e_half = 0, el_half = 0;
  double log_prev = 0, logl_prev = 0;
  Biquad kick_lp = Biquad::lowpass(150.0, 0.707);

  // aubio for the rough tempo.
  aubio_tempo_t* tempo = opts.tempo ? new_aubio_tempo("default", kAubioWin, kAubioHop, 48000) : nullptr;
  fvec_t* tin = new_fvec(kAubioHop);
  fvec_t* tout = new_fvec(1);
  uint_t tfill = 0;

  // Key: 6 kHz mono via two biquads (4th-order low-pass at 2.4 kHz), Hann-windowed 4096-point FFT.
  Biquad dec1 = Biquad::lowpass(2400.0, 0.541), dec2 = Biquad::lowpass(2400.0, 1.307);
  aubio_fft_t* fft = opts.key ? new_aubio_fft(kKeyFft) : nullptr;
  fvec_t* kin = new_fvec(kKeyFft);
  cvec_t* kspec = new_cvec(kKeyFft);
  uint_t kfill = 0;
  int dec_phase = 0;
  std::vector<float> hann(kKeyFft);
  for (int i = 0; i < kKeyFft; ++i) hann[i] = 0.5f - 0.5f * std::cos(2.0f * static_cast<float>(M_PI) * i / kKeyFft);
  // Bin → semitone (MIDI note; −1 outside 50 Hz … 2 kHz or far from a semitone centre). Each
  // semitone counts once, with its strongest bin: summing bins would favour the upper pitch
  // classes of every octave, which span more bins.
  std::vector<int8_t> bin_pc(kKeyFft / 2 + 1, -1);
  const double key_rate = kRate / kKeyDecimation;
  for (int b = 1; b <= kKeyFft / 2; ++b) {
    const double f = b * key_rate / kKeyFft;
    if (f < 50.0 || f > 2000.0) continue;
    const double midi = 69.0 + 12.0 * std::log2(f / 440.0);
    if (std::fabs(midi - std::round(midi)) > 0.35) continue;
    bin_pc[b] = static_cast<int8_t>(std::lround(midi));
  }
  double chroma[12] = {};

  double peak = 0, sumsq = 0;
  float l, r;
  for (size_t i = 0; i < frames; ++i) {
    if ((i & 0xffff) == 0 && opts.cancel && opts.cancel->load()) break;
    track.frame(static_cast<ptrdiff_t>(i), l, r);
    const double m = 0.5 * (static_cast<double>(l) + r);
    peak = std::max(peak, static_cast<double>(std::max(std::fabs(l), std::fabs(r))));
    sumsq += m * m;
    if (opts.waveform) {
      lp_low += a_low * (m - lp_low);
      lp_high += a_high * (m - lp_high);
      const double hi = m - lp_high, mid = lp_high - lp_low;
      const size_t p = std::min(points - 1, static_cast<size_t>(static_cast<double>(i) / frames_per_point));
      wl[p] += lp_low * lp_low;
      wm[p] += mid * mid;
      wh[p] += hi * hi;
      wn[p]++;
    }
    if (opts.tempo) {
      const double k = kick_lp.run(m);
      e_half += m * m;
      el_half += k * k;
      if ((i + 1) % kEnvHop == 0) {
        const double e = e_half + e_prev_half, el = el_half + el_prev_half;
        const double lg = std::log1p(1000.0 * e / (2 * kEnvHop));
        const double lgl = std::log1p(1000.0 * el / (2 * kEnvHop));
        const double rise = std::max(0.0, lg - log_prev) + std::max(0.0, lgl - logl_prev);
        env.push_back(static_cast<float>(rise));
        kick_env.push_back(static_cast<float>(std::max(0.0, lgl - logl_prev)));
        log_prev = lg;
        logl_prev = lgl;
        e_prev_half = e_half;
        el_prev_half = el_half;
        e_half = el_half = 0;
      }
      tin->data[tfill++] = static_cast<smpl_t>(m);
      if (tfill == kAubioHop) {
        aubio_tempo_do(tempo, tin, tout);
        tfill = 0;
      }
    }
    if (fft) {
      const double d = dec2.run(dec1.run(m));
      if (++dec_phase == kKeyDecimation) {
        dec_phase = 0;
        kin->data[kfill++] = static_cast<smpl_t>(d);
        if (kfill == kKeyFft) {
          for (int j = 0; j < kKeyFft; ++j) kin->data[j] *= hann[j];
          aubio_fft_do(fft, kin, kspec);
          double note[128] = {};
          for (int b = 1; b <= kKeyFft / 2; ++b)
            if (bin_pc[b] >= 0) note[bin_pc[b]] = std::max(note[bin_pc[b]], std::log1p(100.0 * kspec->norm[b]));
          for (int m = 0; m < 128; ++m) chroma[m % 12] += note[m];
          kfill = 0;
        }
      }
    }
  }
  res.peak = peak;
  res.rms_db = 10.0 * std::log10(std::max(1e-12, sumsq / static_cast<double>(frames)));

  if (opts.tempo) {
    const double rough = aubio_tempo_get_bpm(tempo);
    const double hop_s = kEnvHop / kRate;
    res.grid = fit_beat_grid(env, hop_s, rough, opts.min_bpm, opts.max_bpm, &res.bpm_confidence, &kick_env);
    // Envelope value k compares frames [64k-64, 64k+64) with the 128 frames before: its rise
    // peaks when the attack falls in [64k, 64k+64). kOnsetLag (measured on click tracks by the
    // dsp tests) moves the grid onto the start of the attack.
    if (res.grid.valid()) res.grid.first_beat += kOnsetLag;
    if (res.grid.valid() && res.grid.first_beat < 0) res.grid.first_beat += res.grid.period();
  }
  if (tempo) del_aubio_tempo(tempo);
  del_fvec(tin);
  del_fvec(tout);

  if (fft) {
    del_aubio_fft(fft);
    std::copy(chroma, chroma + 12, res.chroma.begin());
    res.key = key_from_chroma(chroma);
  }
  del_fvec(kin);
  del_cvec(kspec);

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
