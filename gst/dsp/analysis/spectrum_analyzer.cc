#include "analysis/spectrum_analyzer.h"

#include <algorithm>
#include <cmath>

#include "analysis/sample_guard.h"
#include "analysis/tempo_estimate.h"
#include "common/units.h"

namespace dju {

const char* const kSpectrumBandNames[kNumBands] = {"sub", "bass", "low-mid", "mid", "high-mid", "treble",
                                                   "presence"};
const float kSpectrumBandEdges[kNumBands + 1] = {20, 60, 250, 500, 2000, 4000, 8000, 16000};

namespace {
constexpr double kPi = 3.14159265358979323846;
constexpr double kRolloffFraction = 0.85;
constexpr double kChromaLowHz = 200.0;  // below, 4096-point bins are wider than a semitone
constexpr double kChromaHighHz = 5000.0;
constexpr double kDisplayLowHz = 20.0;
constexpr double kDisplayHighHz = 20000.0;
constexpr int kMelFilters = 40;          // Slaney's auditory toolbox bank (aubio's default)
}  // namespace

double SpectrumAnalyzer::display_band_edge(int i, int n) {
  return kDisplayLowHz * std::pow(kDisplayHighHz / kDisplayLowHz, static_cast<double>(i) / n);
}

SpectrumAnalyzer::SpectrumAnalyzer(int sample_rate, int channels, int display_bands)
    : rate_(sample_rate > 0 ? sample_rate : 48000),
      channels_(channels > 0 ? channels : 1),
      display_bands_(display_bands > 0 ? display_bands : 1),
      ring_(kFftSize, 0.0f),
      window_(kFftSize),
      power_acc_(kFftSize / 2 + 1, 0.0),
      mag_(kFftSize / 2 + 1, 0.0f) {
  // Periodic Hann window: w[n] = 0.5 - 0.5 cos(2 pi n / N).
  for (int n = 0; n < kFftSize; ++n) {
    window_[n] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * kPi * n / kFftSize));
    window_power_ += static_cast<double>(window_[n]) * window_[n];
  }
  // Which band and which pitch class each bin adds to (-1: none).
  const double bin_hz = static_cast<double>(rate_) / kFftSize;
  bin_band_.assign(kFftSize / 2 + 1, -1);
  bin_chroma_.assign(kFftSize / 2 + 1, -1);
  for (int k = 1; k <= kFftSize / 2; ++k) {
    const double f = k * bin_hz;
    for (int b = 0; b < kNumBands; ++b)
      if (f >= kSpectrumBandEdges[b] && f < kSpectrumBandEdges[b + 1]) bin_band_[k] = static_cast<int8_t>(b);
    if (f >= kChromaLowHz && f <= kChromaHighHz) {
      const double midi = 69.0 + 12.0 * std::log2(f / 440.0);
      int pc = static_cast<int>(std::lround(midi)) % 12;
      if (pc < 0) pc += 12;
      bin_chroma_[k] = static_cast<int8_t>(pc);
    }
  }
  frame_ = new_fvec(kFftSize);
  complex_ = new_fvec(kFftSize);
  fft_ = new_aubio_fft(kFftSize);
  // Slaney's mel filterbank as aubio computes it, kept sparse: each band's non-zero run of bins.
  {
    aubio_filterbank_t* fb = new_aubio_filterbank(kMelFilters, kFftSize);
    aubio_filterbank_set_mel_coeffs_slaney(fb, static_cast<smpl_t>(rate_));
    const fmat_t* c = aubio_filterbank_get_coeffs(fb);
    mel_bands_.resize(kMelFilters);
    for (int m = 0; m < kMelFilters; ++m) {
      int first = -1, last = -1;
      for (uint_t k = 0; k < c->length; ++k)
        if (c->data[m][k] != 0.0f) {
          if (first < 0) first = static_cast<int>(k);
          last = static_cast<int>(k);
        }
      MelBand& b = mel_bands_[m];
      b.offset = mel_weights_.size();
      if (first >= 0) {
        b.first = first;
        b.count = last - first + 1;
        for (int k = first; k <= last; ++k) mel_weights_.push_back(c->data[m][k]);
      }
    }
    del_aubio_filterbank(fb);
  }
  mel_ = new_fvec(kMelFilters);
  dct_out_ = new_fvec(kMelFilters);
  dct_ = new_aubio_dct(kMelFilters);
  // Low band for the onset envelope: low-pass at 150 Hz, Q 0.707, twice.
  lp1_ = lp2_ = AnalysisBiquad::lowpass(150.0, rate_, 0.7071);
  // The band above 4 kHz (snare noise, hats; the band djjudge calls its top one): mono less a
  // low-pass at 4 kHz, Q 0.707, twice.
  hlp1_ = hlp2_ = AnalysisBiquad::lowpass(4000.0, rate_, 0.7071);
  odf_.assign(kOdfFrames, 0.0f);
  odf_flat_.assign(kOdfFrames, 0.0f);
  backbeat_.assign(kOdfFrames, 0.0f);
  backbeat_flat_.assign(kOdfFrames, 0.0f);
  top_band_.assign(kOdfFrames, 0.0f);
  top_band_flat_.assign(kOdfFrames, 0.0f);
}

SpectrumAnalyzer::~SpectrumAnalyzer() {
  if (dct_) del_aubio_dct(dct_);
  if (mel_) del_fvec(mel_);
  if (dct_out_) del_fvec(dct_out_);
  if (fft_) del_aubio_fft(fft_);
  if (frame_) del_fvec(frame_);
  if (complex_) del_fvec(complex_);
}

SpectrumFeatures SpectrumAnalyzer::make_features() const {
  SpectrumFeatures f;
  f.magnitude_db.assign(display_bands_, kSilenceDb);
  return f;
}

void SpectrumAnalyzer::reset() {
  std::fill(ring_.begin(), ring_.end(), 0.0f);
  ring_pos_ = 0;
  since_fft_ = 0;
  std::fill(power_acc_.begin(), power_acc_.end(), 0.0);
  ffts_in_interval_ = 0;
  beat_fill_ = 0;
  beat_hops_ = 0;
  std::fill(odf_.begin(), odf_.end(), 0.0f);
  std::fill(backbeat_.begin(), backbeat_.end(), 0.0f);
  std::fill(top_band_.begin(), top_band_.end(), 0.0f);
  odf_count_ = 0;
  odf_mean_ = 0;
  last_onset_hop_ = 0;
  tempo_.reset();
  tempo_confidence_ = 0.0f;
  e_low_ = e_rest_ = 0;
  prev_amp_[0] = prev_amp_[1] = rise_mean_[0] = rise_mean_[1] = 0;
  for (AnalysisBiquad* f : {&lp1_, &lp2_, &hlp1_, &hlp2_}) f->clear();
  e_high_ = prev_high_amp_ = 0;
  frames_ = 0;
  sum_sq_ = 0.0;
  peak_ = 0.0f;
  zero_crossings_ = 0;
  have_last_ = false;
  onset_seen_ = false;
}

void SpectrumAnalyzer::process(const float* x, size_t frames) {
  const int ch = channels_;
  const float inv_ch = 1.0f / ch;
  for (size_t i = 0; i < frames; ++i) {
    float mono = 0.0f;
    for (int c = 0; c < ch; ++c) {
      const float s = analysis_sample(x[i * ch + c]);
      sum_sq_ += static_cast<double>(s) * s;
      const float a = std::fabs(s);
      if (a > peak_) peak_ = a;
      mono += s;
    }
    mono *= inv_ch;
    if (have_last_ && ((mono >= 0.0f) != (last_mono_ >= 0.0f))) ++zero_crossings_;
    last_mono_ = mono;
    have_last_ = true;

    ring_[ring_pos_] = mono;
    ring_pos_ = (ring_pos_ + 1) % kFftSize;
    if (++since_fft_ == kHop) {
      since_fft_ = 0;
      run_fft();
    }
    {
      const double low = lp2_.run(lp1_.run(mono));
      e_low_ += low * low;
      e_rest_ += (mono - low) * (mono - low);
      const double high = mono - hlp2_.run(hlp1_.run(mono));
      e_high_ += high * high;
    }
    if (++beat_fill_ == kBeatHop) {
      beat_fill_ = 0;
      run_beat_hop();
    }
  }
  frames_ += frames;
}

void SpectrumAnalyzer::run_fft() {
  for (int n = 0; n < kFftSize; ++n) frame_->data[n] = ring_[(ring_pos_ + n) % kFftSize] * window_[n];
  // Packed complex output: real parts of bins 0..N/2, then the imaginary parts of bins N/2-1..1.
  aubio_fft_do_complex(fft_, frame_, complex_);
  const float* c = complex_->data;
  power_acc_[0] += static_cast<double>(c[0]) * c[0];
  for (int k = 1; k < kFftSize / 2; ++k)
    power_acc_[k] += static_cast<double>(c[k]) * c[k] + static_cast<double>(c[kFftSize - k]) * c[kFftSize - k];
  power_acc_[kFftSize / 2] += static_cast<double>(c[kFftSize / 2]) * c[kFftSize / 2];
  ++ffts_in_interval_;
}

void SpectrumAnalyzer::run_beat_hop() {
  ++beat_hops_;
  // Onset envelope: rise of the RMS amplitude in the low band and in the rest, each divided by its
  // running mean (a plain average over the first hops, so the start of a stream or a fade-in from
  // silence does not produce one huge value that swamps the tempo estimate), capped at 30 means;
  // kicks weigh four times the rest.
  const double fps = static_cast<double>(rate_) / kBeatHop;
  const double beta = std::max(1.0 - std::exp(-1.0 / (5.0 * fps)), 1.0 / static_cast<double>(beat_hops_));
  const double e[2] = {e_low_ / kBeatHop, e_rest_ / kBeatHop};
  double o = 0, rise_abs = 0, band[2] = {0, 0};
  for (int b = 0; b < 2; ++b) {
    const double amp = std::sqrt(e[b]);
    const double rise = std::max(0.0, amp - prev_amp_[b]);
    prev_amp_[b] = amp;
    rise_mean_[b] += beta * (rise - rise_mean_[b]);
    band[b] = std::min(30.0, rise / (rise_mean_[b] + 1e-9));
    o += (b == 0 ? 1.0 : 0.25) * band[b];
    rise_abs = std::max(rise_abs, rise);
  }
  e_low_ = e_rest_ = 0;
  // The top band's rise, as it is: snare_classes compares it with itself only.
  const double high_amp = std::sqrt(e_high_ / kBeatHop);
  const float high_rise = static_cast<float>(std::max(0.0, high_amp - prev_high_amp_));
  prev_high_amp_ = high_amp;
  e_high_ = 0;
  // An onset: a clear rise (above -80 dBFS) well over the envelope's running mean, at most one per
  // 100 ms.
  if (o > 3.0 * odf_mean_ && o > 2.0 && rise_abs > 1e-4 &&
      (last_onset_hop_ == 0 || beat_hops_ - last_onset_hop_ >= static_cast<uint64_t>(0.1 * fps))) {
    onset_seen_ = true;
    last_onset_hop_ = beat_hops_;
  }
  odf_mean_ += beta * (o - odf_mean_);
  odf_[odf_count_ % kOdfFrames] = static_cast<float>(o);
  backbeat_[odf_count_ % kOdfFrames] = static_cast<float>(band[1]);
  top_band_[odf_count_ % kOdfFrames] = high_rise;
  ++odf_count_;
  // Once a second: the tempo over the envelope so far (up to ~11 s), through the tracker.
  if (odf_count_ % static_cast<uint64_t>(fps) == 0) {
    const int n = static_cast<int>(std::min<uint64_t>(odf_count_, kOdfFrames));
    for (int i = 0; i < n; ++i) {
      odf_flat_[i] = odf_[(odf_count_ - n + i) % kOdfFrames];
      backbeat_flat_[i] = backbeat_[(odf_count_ - n + i) % kOdfFrames];
      top_band_flat_[i] = top_band_[(odf_count_ - n + i) % kOdfFrames];
    }
    const TempoEstimate est =
        estimate_tempo_ex(odf_flat_.data(), n, fps, kTempoMinBpm, kTempoMaxBpm, backbeat_flat_.data(),
                          top_band_flat_.data());
    tempo_confidence_ = static_cast<float>(est.confidence);
    tempo_.update(est);
  }
}

void SpectrumAnalyzer::finish_interval(SpectrumFeatures& out) {
  out.frames = frames_;
  // --- time domain ---
  const double samples = static_cast<double>(frames_) * channels_;
  const double ms = samples > 0 ? sum_sq_ / samples : 0.0;
  out.rms_db = power_to_db(static_cast<float>(ms));
  out.peak_db = gain_to_db(peak_);
  out.crest_db = (ms > 0 && peak_ > 0) ? out.peak_db - out.rms_db : 0.0f;
  out.zero_crossing_rate = frames_ > 1 ? static_cast<float>(zero_crossings_) / (frames_ - 1) : 0.0f;
  out.onset = onset_seen_;
  out.tempo_bpm = static_cast<float>(tempo_.bpm());
  out.tempo_confidence = tempo_confidence_;

  // --- frequency domain: mean power spectrum of the interval ---
  if (ffts_in_interval_ == 0) run_fft();  // interval shorter than a hop: analyse the latest window
  const int nbins = kFftSize / 2 + 1;
  const double bin_hz = static_cast<double>(rate_) / kFftSize;
  // One-sided power per bin scaled so that the bins sum to the mean square of the signal:
  // sum_k |X_k|^2 = N sum_n (w x)^2, and mean square = sum (w x)^2 / sum w^2.
  const double scale = 1.0 / (static_cast<double>(ffts_in_interval_) * kFftSize * window_power_);
  double total_p = 0.0, sum_m = 0.0, sum_fm = 0.0, sum_log_m = 0.0, sum_flat_m = 0.0;
  int flat_bins = 0, dom_k = 1;
  double dom_p = -1.0, log_prod = 1.0;
  long log_exp = 0;
  std::array<double, kNumBands> band_p{};
  std::array<double, kChromaCount> chroma{};
  for (int k = 0; k < nbins; ++k) {
    const double raw = power_acc_[k] / ffts_in_interval_;  // mean |X_k|^2
    const double p = power_acc_[k] * scale * ((k == 0 || k == nbins - 1) ? 1.0 : 2.0);
    power_acc_[k] = p;  // reuse the array for the per-bin power below
    mag_[k] = static_cast<float>(std::sqrt(raw));
    if (k == 0) continue;
    const double f = k * bin_hz;
    const double m = std::sqrt(p);
    total_p += p;
    sum_m += m;
    sum_fm += f * m;
    if (f >= kSpectrumBandEdges[0]) {
      // The geometric mean without a log per bin: a running product, renormalised every bin.
      log_prod *= p + 1e-40;
      int e = 0;
      log_prod = std::frexp(log_prod, &e);
      log_exp += e;
      sum_flat_m += m;
      ++flat_bins;
    }
    if (p > dom_p) { dom_p = p; dom_k = k; }
    if (bin_band_[k] >= 0) band_p[bin_band_[k]] += p;
    if (bin_chroma_[k] >= 0) chroma[bin_chroma_[k]] += p;
  }
  // sum of log(m) = 0.5 * sum of log(p)
  sum_log_m = 0.5 * (std::log(log_prod) + log_exp * std::log(2.0));
  for (int b = 0; b < kNumBands; ++b) out.band_db[b] = power_to_db(static_cast<float>(band_p[b]));

  if (total_p > 1e-14) {
    // Dominant frequency: parabola through the log power of the peak and its neighbours.
    double delta = 0.0;
    if (dom_k > 1 && dom_k < nbins - 1) {
      const double a = std::log(power_acc_[dom_k - 1] + 1e-30), b = std::log(power_acc_[dom_k] + 1e-30),
                   c = std::log(power_acc_[dom_k + 1] + 1e-30);
      const double den = a - 2 * b + c;
      if (den < 0) delta = std::clamp(0.5 * (a - c) / den, -0.5, 0.5);
    }
    out.dominant_hz = static_cast<float>((dom_k + delta) * bin_hz);
    const double centroid = sum_fm / sum_m;
    out.centroid_hz = static_cast<float>(centroid);
    double var = 0.0, cum = 0.0;
    int roll_k = nbins - 1;
    bool roll_found = false;
    for (int k = 1; k < nbins; ++k) {
      const double f = k * bin_hz;
      const double p = power_acc_[k];
      var += (f - centroid) * (f - centroid) * std::sqrt(p);
      cum += p;
      if (!roll_found && cum >= kRolloffFraction * total_p) { roll_k = k; roll_found = true; }
    }
    out.bandwidth_hz = static_cast<float>(std::sqrt(var / sum_m));
    out.rolloff_hz = static_cast<float>(roll_k * bin_hz);
    const double mean_m = flat_bins > 0 ? sum_flat_m / flat_bins : 0.0;
    out.flatness = flat_bins > 0 && mean_m > 0
                       ? static_cast<float>(std::min(1.0, std::exp(sum_log_m / flat_bins) / mean_m))
                       : 0.0f;
    double cmax = 0.0;
    for (double c : chroma) cmax = std::max(cmax, c);
    for (int i = 0; i < kChromaCount; ++i)
      out.chroma[i] = cmax > 0 ? static_cast<float>(chroma[i] / cmax) : 0.0f;
  } else {
    out.dominant_hz = out.centroid_hz = out.bandwidth_hz = out.rolloff_hz = out.flatness = 0.0f;
    out.chroma.fill(0.0f);
  }

  // Display bands: power summed over the bins whose centre falls inside the band; a band narrower than
  // a bin takes its share of the bin it sits in (power density times width), so low bands stay smooth.
  const int nd = static_cast<int>(out.magnitude_db.size());
  for (int i = 0; i < nd; ++i) {
    const double lo = display_band_edge(i, nd), hi = display_band_edge(i + 1, nd);
    const int k_lo = static_cast<int>(std::ceil(lo / bin_hz)), k_hi = static_cast<int>(std::ceil(hi / bin_hz));
    double p = 0.0;
    if (k_hi > k_lo) {
      for (int k = k_lo; k < k_hi && k < nbins; ++k) p += power_acc_[k];
    } else {
      const int k = std::min(nbins - 1, static_cast<int>(std::lround(0.5 * (lo + hi) / bin_hz)));
      p = power_acc_[k] * (hi - lo) / bin_hz;
    }
    out.magnitude_db[i] = power_to_db(static_cast<float>(p));
  }

  // MFCCs of the interval's mean magnitude spectrum (raw FFT magnitudes): mel bands, log10, DCT.
  for (int m = 0; m < kMelFilters; ++m) {
    const MelBand& b = mel_bands_[m];
    const float* w = &mel_weights_[b.offset];
    float acc = 0.0f;
    for (int i = 0; i < b.count; ++i) acc += w[i] * mag_[b.first + i];
    mel_->data[m] = acc;
  }
  fvec_log10(mel_);
  aubio_dct_do(dct_, mel_, dct_out_);
  for (int i = 0; i < kMfccCount; ++i) out.mfcc[i] = dct_out_->data[i];

  // Reset the interval.
  std::fill(power_acc_.begin(), power_acc_.end(), 0.0);
  ffts_in_interval_ = 0;
  frames_ = 0;
  sum_sq_ = 0.0;
  peak_ = 0.0f;
  zero_crossings_ = 0;
  onset_seen_ = false;
}

}  // namespace dju
