/**
 * SECTION:element-djspectrum
 * @title: djspectrum
 *
 * A pass-through analyser for the battle's master: every #GstDjSpectrum:interval nanoseconds it
 * posts an element message named `djspectrum` describing the audio of that interval, and one last
 * message on EOS for the remainder. The audio is not changed. FFT-based fields use a 4096-point
 * periodic Hann window of the mono downmix taken every 1024 samples; the power spectra inside an
 * interval are averaged. Levels are in dBFS with a floor of -120 (digital silence). Like the stock
 * `level` and `spectrum` elements it takes 16- and 32-bit integer or 32- and 64-bit float samples, at
 * any rate from 8 to 192 kHz and 1 to 8 channels. Samples no audio holds are analysed as what they
 * stand for: NaN as silence, infinities and samples beyond ±16 as ±16 (+24 dBFS), so one such
 * sample (a corrupt float file) colours the figures of the intervals whose window holds it, never the
 * analyser's running state.
 *
 * The message structure has these fields:
 *
 * - `timestamp` (#guint64): timestamp of the first sample of the interval.
 * - `stream-time` (#guint64): stream time of that sample.
 * - `running-time` (#guint64): running time of that sample.
 * - `duration` (#guint64): length of the interval in nanoseconds.
 * - `sub`, `bass`, `low-mid`, `mid`, `high-mid`, `treble`, `presence` (#gdouble): power in 20–60,
 *   60–250, 250–500, 500–2000, 2000–4000, 4000–8000 and 8000–16000 Hz in dBFS, on the same scale as
 *   `rms` (a full-scale sine gives -3.01 dB in its band).
 * - `magnitude` (#GstValueArray of #gfloat): #GstDjSpectrum:bands log-spaced display bands from 20 Hz
 *   to 20 kHz (band i spans 20·1000^(i/n) to 20·1000^((i+1)/n) Hz), power in dBFS.
 * - `rms` (#gdouble): RMS level over all channels, dBFS.
 * - `peak` (#gdouble): largest absolute sample of any channel, dBFS.
 * - `crest-factor` (#gdouble): `peak` - `rms` in dB (3.01 for a sine).
 * - `dominant-frequency` (#gdouble): frequency of the strongest spectral peak in Hz (interpolated
 *   between bins).
 * - `centroid` (#gdouble): magnitude-weighted mean frequency in Hz.
 * - `bandwidth` (#gdouble): magnitude-weighted standard deviation around the centroid in Hz.
 * - `rolloff` (#gdouble): frequency below which 85 % of the power lies, Hz.
 * - `flatness` (#gdouble): geometric over arithmetic mean of the magnitudes above 20 Hz, 0–1 (near 0
 *   for a pure tone, about 0.85 or more for white noise).
 * - `zero-crossing-rate` (#gdouble): fraction of consecutive mono samples whose sign differs, 0–1.
 * - `mfcc` (#GstValueArray of 13 #gfloat): mel-frequency cepstral coefficients of the interval's mean
 *   magnitude spectrum (raw FFT magnitudes), Slaney's 40-band mel filterbank (aubio's coefficients,
 *   applied sparsely), log10, orthonormal DCT-II (aubio).
 * - `chroma` (#GstValueArray of 12 #gfloat): power per pitch class from 200 Hz (where FFT bins get narrower than a semitone) to 5 kHz, C first
 *   (C, C♯, D, … B), normalised so the strongest class is 1 (all 0 in silence).
 * - `onset` (#gboolean): a note or drum onset was detected during the interval: a rise of the
 *   kick-weighted onset envelope (512-sample hops) well above its running mean.
 * - `tempo` (#gdouble): running tempo in BPM, 78–178 (up to 185 for double time): the
 *   autocorrelation of that onset envelope over the last ~11 s, estimated every second with a check
 *   of the metrical level (3/4, 4/3, 2/3, 3/2 of the beat; double when the half-beats are as strong
 *   as the beats, or when a reading under ~92 repeats every two beats above the kick band, as drum &
 *   bass does at half time), then tracked: it locks once two confident estimates agree (about 5 s in;
 *   three agreeing weaker ones do too, for a syncopated groove), holds its value through breakdowns,
 *   and follows a different tempo only after 4 consistent confident estimates (12 for a simple ratio
 *   of the held one). 0 until it locks.
 * - `tempo-confidence` (#gdouble): 0–1, how periodic the envelope was at the latest estimate (about
 *   0.5–0.7 in a four-on-the-floor groove, under 0.12 in a breakdown).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m audiotestsrc wave=sine freq=440 num-buffers=100 ! audioconvert ! \
 *   audio/x-raw,format=F32LE,rate=48000,channels=2 ! djspectrum interval=100000000 ! fakesink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdjspectrum.h"

#include <memory>
#include <mutex>
#include <vector>

#include "analysis/spectrum_analyzer.h"

GST_DEBUG_CATEGORY_STATIC(gst_dj_spectrum_debug);
#define GST_CAT_DEFAULT gst_dj_spectrum_debug

enum { PROP_0, PROP_INTERVAL, PROP_BANDS, PROP_POST_MESSAGES };

#define DEFAULT_INTERVAL (GST_SECOND / 20)
#define DEFAULT_BANDS 64
#define DEFAULT_POST_MESSAGES TRUE

// As the stock level and spectrum elements: 16- and 32-bit integer and float samples (analysed as
// float, the buffers passed on untouched).
#define DJ_SPECTRUM_CAPS \
  "audio/x-raw, format = (string) { " GST_AUDIO_NE(F32) ", " GST_AUDIO_NE(S16) ", " GST_AUDIO_NE(S32) ", " \
  GST_AUDIO_NE(F64) " }, rate = (int) [ 8000, 192000 ], channels = (int) [ 1, 8 ], layout = (string) interleaved"

static constexpr guint64 kConvertFrames = 1024;  // samples other than F32 are converted this many frames at a time

struct GstDjSpectrumPrivate {
  // Settings (GST_OBJECT_LOCK).
  guint64 interval = DEFAULT_INTERVAL;
  guint bands = DEFAULT_BANDS;
  bool post_messages = DEFAULT_POST_MESSAGES;

  // Streaming-thread state: built in setup(), used only by the streaming thread after that.
  std::unique_ptr<dju::SpectrumAnalyzer> analyzer;
  GstAudioFormat format = GST_AUDIO_FORMAT_UNKNOWN;
  std::vector<float> scratch;  // kConvertFrames frames, for formats other than F32
  dju::SpectrumFeatures features;
  guint64 frames_in_interval = 0;
  GstClockTime interval_start = GST_CLOCK_TIME_NONE;
  // Timestamps come from a sample counter since the last discontinuity, not from each buffer's PTS.
  GstClockTime base_ts = GST_CLOCK_TIME_NONE;
  guint64 frames_since_base = 0;
  bool have_base = false;
};

struct _GstDjSpectrum {
  GstAudioFilter parent;
  GstDjSpectrumPrivate* priv;
};

G_DEFINE_TYPE(GstDjSpectrum, gst_dj_spectrum, GST_TYPE_AUDIO_FILTER);
GST_ELEMENT_REGISTER_DEFINE(djspectrum, "djspectrum", GST_RANK_NONE, GST_TYPE_DJ_SPECTRUM);

static void set_float_array(GstStructure* s, const char* name, const float* v, size_t n) {
  GValue arr = G_VALUE_INIT;
  GValue item = G_VALUE_INIT;
  g_value_init(&arr, GST_TYPE_ARRAY);
  g_value_init(&item, G_TYPE_FLOAT);
  for (size_t i = 0; i < n; ++i) {
    g_value_set_float(&item, v[i]);
    gst_value_array_append_value(&arr, &item);
  }
  gst_structure_take_value(s, name, &arr);
  g_value_unset(&item);
}

static GstMessage* build_message(GstDjSpectrum* self, GstClockTime start, guint64 frames, int rate) {
  GstDjSpectrumPrivate* p = self->priv;
  GstSegment* seg = &GST_BASE_TRANSFORM(self)->segment;
  const dju::SpectrumFeatures& f = p->features;
  GstClockTime duration = gst_util_uint64_scale_int(frames, GST_SECOND, rate);
  GstClockTime stream_time = GST_CLOCK_TIME_NONE, running_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(start)) {
    stream_time = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, start);
    running_time = gst_segment_to_running_time(seg, GST_FORMAT_TIME, start);
  }
  GstStructure* s = gst_structure_new("djspectrum", "timestamp", G_TYPE_UINT64, start, "stream-time",
                                      G_TYPE_UINT64, stream_time, "running-time", G_TYPE_UINT64,
                                      running_time, "duration", G_TYPE_UINT64, duration, NULL);
  for (int b = 0; b < dju::kNumBands; ++b)
    gst_structure_set(s, dju::kSpectrumBandNames[b], G_TYPE_DOUBLE, static_cast<double>(f.band_db[b]), NULL);
  set_float_array(s, "magnitude", f.magnitude_db.data(), f.magnitude_db.size());
  gst_structure_set(s, "rms", G_TYPE_DOUBLE, static_cast<double>(f.rms_db), "peak", G_TYPE_DOUBLE,
                    static_cast<double>(f.peak_db), "crest-factor", G_TYPE_DOUBLE, static_cast<double>(f.crest_db),
                    "dominant-frequency", G_TYPE_DOUBLE, static_cast<double>(f.dominant_hz), "centroid",
                    G_TYPE_DOUBLE, static_cast<double>(f.centroid_hz), "bandwidth", G_TYPE_DOUBLE,
                    static_cast<double>(f.bandwidth_hz), "rolloff", G_TYPE_DOUBLE,
                    static_cast<double>(f.rolloff_hz), "flatness", G_TYPE_DOUBLE, static_cast<double>(f.flatness),
                    "zero-crossing-rate", G_TYPE_DOUBLE, static_cast<double>(f.zero_crossing_rate), NULL);
  set_float_array(s, "mfcc", f.mfcc.data(), f.mfcc.size());
  set_float_array(s, "chroma", f.chroma.data(), f.chroma.size());
  gst_structure_set(s, "onset", G_TYPE_BOOLEAN, f.onset ? TRUE : FALSE, "tempo", G_TYPE_DOUBLE,
                    static_cast<double>(f.tempo_bpm), "tempo-confidence", G_TYPE_DOUBLE,
                    static_cast<double>(f.tempo_confidence), NULL);
  return gst_message_new_element(GST_OBJECT(self), s);
}

// Ends the current interval: features are computed, then the message is built and posted with no
// lock held.
static void finish_interval(GstDjSpectrum* self, bool post, int rate) {
  GstDjSpectrumPrivate* p = self->priv;
  if (!p->analyzer || p->frames_in_interval == 0) return;
  p->analyzer->finish_interval(p->features);
  if (post) {
    GstMessage* m = build_message(self, p->interval_start, p->frames_in_interval, rate);
    gst_element_post_message(GST_ELEMENT(self), m);
  }
  p->frames_in_interval = 0;
  p->interval_start = GST_CLOCK_TIME_NONE;
}

static GstFlowReturn gst_dj_spectrum_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstDjSpectrum* self = GST_DJ_SPECTRUM(trans);
  GstDjSpectrumPrivate* p = self->priv;
  GstAudioFilter* filter = GST_AUDIO_FILTER(trans);
  if (!p->analyzer) return GST_FLOW_NOT_NEGOTIATED;
  const int rate = GST_AUDIO_INFO_RATE(&filter->info);
  const int channels = GST_AUDIO_INFO_CHANNELS(&filter->info);

  // One snapshot of the settings per buffer.
  GST_OBJECT_LOCK(self);
  const guint64 interval = p->interval;
  const bool post = p->post_messages;
  GST_OBJECT_UNLOCK(self);
  guint64 interval_frames = gst_util_uint64_scale_round(interval, rate, GST_SECOND);
  if (interval_frames == 0) interval_frames = 1;

  const GstClockTime pts = GST_BUFFER_PTS(buf);
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DISCONT) || !p->have_base) {
    if (p->frames_in_interval > 0) finish_interval(self, post, rate);
    p->base_ts = pts;
    p->frames_since_base = 0;
    p->have_base = true;
  }

  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return GST_FLOW_ERROR;
  const bool f32 = p->format == GST_AUDIO_FORMAT_F32;
  const guint64 frames = map.size / (GST_AUDIO_INFO_BPF(&filter->info));
  guint64 done = 0;
  while (done < frames) {
    if (p->frames_in_interval == 0)
      p->interval_start = GST_CLOCK_TIME_IS_VALID(p->base_ts)
                              ? p->base_ts + gst_util_uint64_scale_int(p->frames_since_base, GST_SECOND, rate)
                              : GST_CLOCK_TIME_NONE;
    guint64 n = MIN(frames - done, interval_frames - p->frames_in_interval);
    if (f32) {
      p->analyzer->process(reinterpret_cast<const float*>(map.data) + done * channels, n);
    } else {
      n = MIN(n, kConvertFrames);
      const size_t count = static_cast<size_t>(n) * channels, first = static_cast<size_t>(done) * channels;
      float* out = p->scratch.data();
      switch (p->format) {
        case GST_AUDIO_FORMAT_S16: {
          const gint16* in = reinterpret_cast<const gint16*>(map.data) + first;
          for (size_t i = 0; i < count; ++i) out[i] = in[i] * (1.0f / 32768.0f);
          break;
        }
        case GST_AUDIO_FORMAT_S32: {
          const gint32* in = reinterpret_cast<const gint32*>(map.data) + first;
          for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i] * (1.0 / 2147483648.0));
          break;
        }
        default: {  // F64
          const gdouble* in = reinterpret_cast<const gdouble*>(map.data) + first;
          for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(in[i]);
          break;
        }
      }
      p->analyzer->process(out, n);
    }
    p->frames_in_interval += n;
    p->frames_since_base += n;
    done += n;
    if (p->frames_in_interval >= interval_frames) finish_interval(self, post, rate);
  }
  gst_buffer_unmap(buf, &map);
  return GST_FLOW_OK;
}

static gboolean gst_dj_spectrum_setup(GstAudioFilter* filter, const GstAudioInfo* info) {
  GstDjSpectrum* self = GST_DJ_SPECTRUM(filter);
  GstDjSpectrumPrivate* p = self->priv;
  GST_OBJECT_LOCK(self);
  const guint bands = p->bands;
  GST_OBJECT_UNLOCK(self);
  // Caps (re)negotiation: a new analyser for the new format (allocation happens here, not per buffer).
  p->analyzer = std::make_unique<dju::SpectrumAnalyzer>(GST_AUDIO_INFO_RATE(info), GST_AUDIO_INFO_CHANNELS(info),
                                                        static_cast<int>(bands));
  p->features = p->analyzer->make_features();
  p->format = GST_AUDIO_INFO_FORMAT(info);
  p->scratch.assign(p->format == GST_AUDIO_FORMAT_F32 ? 0 : kConvertFrames * GST_AUDIO_INFO_CHANNELS(info), 0.0f);
  p->frames_in_interval = 0;
  p->interval_start = GST_CLOCK_TIME_NONE;
  GST_DEBUG_OBJECT(self, "analysing %d Hz, %d channels, %u display bands", GST_AUDIO_INFO_RATE(info),
                   GST_AUDIO_INFO_CHANNELS(info), bands);
  return TRUE;
}

static gboolean gst_dj_spectrum_sink_event(GstBaseTransform* trans, GstEvent* event) {
  GstDjSpectrum* self = GST_DJ_SPECTRUM(trans);
  GstDjSpectrumPrivate* p = self->priv;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_EOS: {
      GST_OBJECT_LOCK(self);
      const bool post = p->post_messages;
      GST_OBJECT_UNLOCK(self);
      finish_interval(self, post, GST_AUDIO_INFO_RATE(&GST_AUDIO_FILTER(trans)->info));
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      if (p->analyzer) {
        p->analyzer->reset();
        p->frames_in_interval = 0;
        p->interval_start = GST_CLOCK_TIME_NONE;
      }
      p->have_base = false;
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_dj_spectrum_parent_class)->sink_event(trans, event);
}

static gboolean gst_dj_spectrum_stop(GstBaseTransform* trans) {
  GstDjSpectrumPrivate* p = GST_DJ_SPECTRUM(trans)->priv;
  p->analyzer.reset();
  p->frames_in_interval = 0;
  p->have_base = false;
  return TRUE;
}

static void gst_dj_spectrum_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstDjSpectrum* self = GST_DJ_SPECTRUM(object);
  GstDjSpectrumPrivate* p = self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_INTERVAL:
      p->interval = g_value_get_uint64(value);
      break;
    case PROP_BANDS:
      p->bands = g_value_get_uint(value);
      break;
    case PROP_POST_MESSAGES:
      p->post_messages = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_dj_spectrum_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstDjSpectrum* self = GST_DJ_SPECTRUM(object);
  GstDjSpectrumPrivate* p = self->priv;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_INTERVAL:
      g_value_set_uint64(value, p->interval);
      break;
    case PROP_BANDS:
      g_value_set_uint(value, p->bands);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, p->post_messages);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_dj_spectrum_finalize(GObject* object) {
  delete GST_DJ_SPECTRUM(object)->priv;
  G_OBJECT_CLASS(gst_dj_spectrum_parent_class)->finalize(object);
}

static void gst_dj_spectrum_class_init(GstDjSpectrumClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstAudioFilterClass* filter_class = GST_AUDIO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_dj_spectrum_debug, "djspectrum", 0, "DJ Universe spectrum analyser");

  gobject_class->set_property = gst_dj_spectrum_set_property;
  gobject_class->get_property = gst_dj_spectrum_get_property;
  gobject_class->finalize = gst_dj_spectrum_finalize;

  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint64("interval", "Interval", "Time between djspectrum messages in nanoseconds", 1000000,
                          G_MAXUINT64, DEFAULT_INTERVAL,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_BANDS,
      g_param_spec_uint("bands", "Bands", "Number of log-spaced display bands (20 Hz - 20 kHz) in `magnitude`", 1,
                        1024, DEFAULT_BANDS,
                        static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                 GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages", "Post djspectrum element messages",
                           DEFAULT_POST_MESSAGES,
                           static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata(element_class, "DJ spectrum analyser", "Filter/Analyzer/Audio",
                                        "Posts levels, band energies, spectral shape, MFCCs, chroma, onsets "
                                        "and tempo of the audio passing through",
                                        "DJ Universe");
  GstCaps* caps = gst_caps_from_string(DJ_SPECTRUM_CAPS);
  gst_audio_filter_class_add_pad_templates(filter_class, caps);
  gst_caps_unref(caps);

  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_dj_spectrum_transform_ip);
  trans_class->passthrough_on_same_caps = TRUE;
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->sink_event = GST_DEBUG_FUNCPTR(gst_dj_spectrum_sink_event);
  trans_class->stop = GST_DEBUG_FUNCPTR(gst_dj_spectrum_stop);
  filter_class->setup = GST_DEBUG_FUNCPTR(gst_dj_spectrum_setup);
}

static void gst_dj_spectrum_init(GstDjSpectrum* self) {
  self->priv = new GstDjSpectrumPrivate();
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
}
