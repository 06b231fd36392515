// Feature extraction for what the crowd sees: levels, spectrum shape, timbre, harmony, rhythm.
//
// Pure C++, no GLib; aubio does the FFT (its complex output: no phase is computed, nothing here needs
// it) and the DCT of the MFCCs. The owner feeds interleaved float audio with process() and asks for
// the features of everything fed since the last call with finish_interval(). All memory is allocated
// in the constructor: process() and finish_interval() never allocate, so both may run on a streaming
// thread.
//
// Spectral features come from a 4096-point FFT (periodic Hann window) taken every 1024 samples of the
// mono downmix; the power spectra of all FFTs inside one interval are averaged (Welch), which keeps
// the display steady and makes flatness meaningful for noise. MFCCs use Slaney's 40-band mel
// filterbank (aubio's coefficients, applied sparsely: each band touches only the bins under its
// triangle). Onsets and the running tempo come from one kick-weighted onset envelope (512-sample
// hops): an onset is a rise well above the envelope's running mean, the tempo is estimate_tempo() of
// the last ~11 s, smoothed by a TempoTracker (octave folding, confidence, hold).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <aubio/aubio.h>

#include "analysis/biquad.h"
#include "analysis/tempo_estimate.h"

namespace dju {

// The seven bands a DJ talks about, in Hz (upper edge exclusive).
enum SpectrumBand { kSub, kBass, kLowMid, kMid, kHighMid, kTreble, kPresence, kNumBands };
extern const char* const kSpectrumBandNames[kNumBands];  // "sub", "bass", "low-mid", …
extern const float kSpectrumBandEdges[kNumBands + 1];    // 20, 60, 250, 500, 2000, 4000, 8000, 16000

constexpr int kMfccCount = 13;
constexpr int kChromaCount = 12;  // index 0 = C, 1 = C#, … 9 = A, 11 = B

struct SpectrumFeatures {
  uint64_t frames = 0;                       // audio frames covered by this interval
  std::array<float, kNumBands> band_db{};    // power in each band, dBFS (same scale as rms_db)
  std::vector<float> magnitude_db;           // display bands (log-spaced), dBFS; size = display bands
  float rms_db = -120.0f;                    // over all channels and samples of the interval
  float peak_db = -120.0f;                   // largest |sample|
  float crest_db = 0.0f;                     // peak_db - rms_db
  float dominant_hz = 0.0f;                  // strongest spectral peak (parabolic interpolation)
  float centroid_hz = 0.0f;                  // magnitude-weighted mean frequency
  float bandwidth_hz = 0.0f;                 // magnitude-weighted standard deviation around the centroid
  float rolloff_hz = 0.0f;                   // 85 % of the power lies below
  float flatness = 0.0f;                     // geometric / arithmetic mean of magnitudes, 0..1
  float zero_crossing_rate = 0.0f;           // fraction of sample pairs changing sign (mono), 0..1
  std::array<float, kMfccCount> mfcc{};
  std::array<float, kChromaCount> chroma{};  // normalised to max 1 (all 0 in silence)
  bool onset = false;                        // an onset was detected in the interval
  float tempo_bpm = 0.0f;                    // running tempo (0 until it locks)
  float tempo_confidence = 0.0f;             // 0..1, of the latest tempo estimate
};

class SpectrumAnalyzer {
 public:
  static constexpr int kFftSize = 4096;
  static constexpr int kHop = 1024;
  static constexpr int kBeatHop = 512;
  static constexpr int kOdfFrames = 1024;  // 10.9 s of onset envelope at 48 kHz

  SpectrumAnalyzer(int sample_rate, int channels, int display_bands);
  ~SpectrumAnalyzer();
  SpectrumAnalyzer(const SpectrumAnalyzer&) = delete;
  SpectrumAnalyzer& operator=(const SpectrumAnalyzer&) = delete;

  // Streaming thread: interleaved samples, `frames` frames of `channels` channels.
  void process(const float* interleaved, size_t frames);
  // Streaming thread: features of everything fed since the last call; resets the interval.
  // `out.magnitude_db` must already have display_bands() elements (make_features() does that).
  void finish_interval(SpectrumFeatures& out);
  // Forget all history (after a flush or a discontinuity).
  void reset();

  SpectrumFeatures make_features() const;
  int display_bands() const { return display_bands_; }
  int channels() const { return channels_; }
  int sample_rate() const { return rate_; }
  // Lower edge of display band i in Hz (band i spans edge(i) .. edge(i+1)), 20 Hz … 20 kHz log-spaced.
  static double display_band_edge(int i, int display_bands);

 private:
  void run_fft();
  void run_beat_hop();

  int rate_;
  int channels_;
  int display_bands_;

  // Mono ring of the last kFftSize samples, in time order once unrolled.
  std::vector<float> ring_;
  size_t ring_pos_ = 0;
  size_t since_fft_ = 0;
  std::vector<float> window_;
  fvec_t* frame_ = nullptr;
  fvec_t* complex_ = nullptr;      // aubio's packed complex spectrum
  aubio_fft_t* fft_ = nullptr;
  std::vector<double> power_acc_;  // sum over FFTs of |X_k|^2
  std::vector<float> mag_;         // mean magnitude per bin of the interval (for the MFCCs)
  std::vector<int8_t> bin_band_;   // band of each bin, or -1
  std::vector<int8_t> bin_chroma_; // pitch class of each bin (200 Hz – 5 kHz), or -1
  int ffts_in_interval_ = 0;
  double window_power_ = 0.0;      // sum of w^2

  // MFCC: sparse mel filterbank (per band: first bin, weights), log10, DCT.
  struct MelBand { int first = 0; int count = 0; size_t offset = 0; };
  std::vector<MelBand> mel_bands_;
  std::vector<float> mel_weights_;
  fvec_t* mel_ = nullptr;
  fvec_t* dct_out_ = nullptr;
  aubio_dct_t* dct_ = nullptr;

  // Onset envelope (kick-weighted band rise per beat hop): onsets and the running tempo.
  AnalysisBiquad lp1_, lp2_;
  AnalysisBiquad hlp1_, hlp2_;  // 4 kHz: the band above it (snare noise, hats) is mono less this
  size_t beat_fill_ = 0;
  uint64_t beat_hops_ = 0;
  double e_high_ = 0, prev_high_amp_ = 0;
  double e_low_ = 0, e_rest_ = 0, prev_amp_[2] = {0, 0}, rise_mean_[2] = {0, 0};
  double odf_mean_ = 0;
  uint64_t last_onset_hop_ = 0;
  std::vector<float> odf_;       // ring, kOdfFrames
  std::vector<float> odf_flat_;  // scratch, unrolled
  std::vector<float> backbeat_;       // ring, kOdfFrames: the envelope above the kick band alone (snares)
  std::vector<float> backbeat_flat_;  // scratch, unrolled
  std::vector<float> top_band_;       // ring, kOdfFrames: rise of the band above 4 kHz (where the snare falls)
  std::vector<float> top_band_flat_;  // scratch, unrolled
  uint64_t odf_count_ = 0;
  TempoTracker tempo_;
  float tempo_confidence_ = 0.0f;

  // Time-domain accumulators for the interval.
  uint64_t frames_ = 0;
  double sum_sq_ = 0.0;
  float peak_ = 0.0f;
  uint64_t zero_crossings_ = 0;
  float last_mono_ = 0.0f;
  bool have_last_ = false;
  bool onset_seen_ = false;
};

}  // namespace dju
