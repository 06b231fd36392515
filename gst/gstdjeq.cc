/**
 * SECTION:element-djeq
 * @title: djeq
 * @short_description: 3-band isolator EQ with kills and a one-knob resonant filter, as on a club mixer
 *
 * djeq splits the audio into low, mid and high bands with Linkwitz-Riley crossovers (8th order,
 * 48 dB/octave; defaults 246 Hz and 2.5 kHz as in Mixxx) and scales each band. The bands are kept in
 * phase, so at equal gains they sum flat; a killed band is gone (a 50 Hz kick under `low-kill` drops
 * by more than 100 dB). With every band at 0 dB and the filter at its centre the element steps out of
 * the signal path: the audio passes bit-exact and costs nothing.
 *
 * After the EQ comes the one-knob `filter`: left of centre a resonant low-pass sweeping down from
 * 20 kHz to 30 Hz, right of centre a resonant high-pass sweeping up from 20 Hz to 12 kHz.
 *
 * Every property is controllable and smoothed on the audio thread: band gains and kills ramp over
 * 10 ms, the filter knob glides over 64 ms, crossover frequencies glide over 50 ms (the filters are
 * state-variable filters, whose coefficients may move every few samples without clicks), and going
 * in and out of the bypass crossfades over ~20 ms. Nothing clicks however fast a control jumps.
 *
 * ## Properties
 * - `low`, `mid`, `high` (double dB, -40 … +6, default 0, controllable): band gains; the bottom of
 *   the range (-40) is a full kill, like an isolator knob turned fully left.
 * - `low-kill`, `mid-kill`, `high-kill` (boolean, default false, controllable): kill switches; a
 *   killed band is silent whatever its gain, and comes back at its gain when released.
 * - `low-mid-crossover` (double Hz, 20 … 16000, default 246) and `mid-high-crossover` (double Hz,
 *   20 … 20000, default 2500), controllable. The upper one is kept at least 1.5× the lower.
 * - `filter` (double -1 … +1, default 0, controllable): -1 low-pass fully down, 0 off, +1 high-pass
 *   fully up, with a little resonance (Q rising from 0.71 to 1.0 over the first half turn).
 *
 * Caps: 32-bit float, interleaved, 1–8 channels, any rate; in place.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 audiotestsrc wave=pink-noise ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! \
 *   djeq low-kill=true filter=0.3 ! audioconvert ! autoaudiosink
 * ]| Pink noise with the bass killed and the high-pass a little open.
 */
#include "gstdjeq.h"

#include <gst/audio/audio.h>
#include <gst/base/gstbasetransform.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <new>

#include "common/units.h"
#include "mixer/isolator_eq.h"

GST_DEBUG_CATEGORY_STATIC(gst_dj_eq_debug);
#define GST_CAT_DEFAULT gst_dj_eq_debug

namespace {

constexpr double kMinBandDb = -40.0;  // the bottom of the knob is a full kill
constexpr double kMaxBandDb = 6.0;

}  // namespace

struct GstDjEqPrivate {
  // Control values, as set; guarded by `lock` (the audio thread never takes it: it only reads the
  // kernels' lock-free targets).
  std::mutex lock;
  double band_db[3] = {0.0, 0.0, 0.0};
  bool kill[3] = {false, false, false};
  double low_mid_hz = dju::kDefaultLowMidHz;
  double mid_high_hz = dju::kDefaultMidHighHz;
  double filter = 0.0;

  dju::IsolatorEq eq;
  dju::OneKnobFilter knob;
};

struct _GstDjEq {
  GstAudioFilter parent;
  GstDjEqPrivate* priv;
};

enum {
  PROP_0,
  PROP_LOW,
  PROP_MID,
  PROP_HIGH,
  PROP_LOW_KILL,
  PROP_MID_KILL,
  PROP_HIGH_KILL,
  PROP_LOW_MID_CROSSOVER,
  PROP_MID_HIGH_CROSSOVER,
  PROP_FILTER,
};

G_DEFINE_TYPE(GstDjEq, gst_dj_eq, GST_TYPE_AUDIO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(djeq, "djeq", GST_RANK_NONE, GST_TYPE_DJ_EQ);

#define DJ_EQ_CAPS                              \
  "audio/x-raw, "                               \
  "format = (string) " GST_AUDIO_NE(F32) ", "   \
  "rate = (int) [ 1, MAX ], "                   \
  "channels = (int) [ 1, 8 ], "                 \
  "layout = (string) interleaved"

// Pushes one band's effective gain to the kernel. Called with priv->lock held.
static void push_band(GstDjEqPrivate* p, int band) {
  const double db = p->band_db[band];
  const float gain = p->kill[band] || db <= kMinBandDb ? 0.0f : dju::db_to_gain(static_cast<float>(db));
  p->eq.set_band_gain(static_cast<dju::IsolatorEq::Band>(band), gain);
}

static void gst_dj_eq_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstDjEqPrivate* p = GST_DJ_EQ(object)->priv;
  std::lock_guard<std::mutex> guard(p->lock);
  switch (prop_id) {
    case PROP_LOW:
    case PROP_MID:
    case PROP_HIGH: {
      const int band = prop_id - PROP_LOW;
      p->band_db[band] = g_value_get_double(value);
      push_band(p, band);
      break;
    }
    case PROP_LOW_KILL:
    case PROP_MID_KILL:
    case PROP_HIGH_KILL: {
      const int band = prop_id - PROP_LOW_KILL;
      p->kill[band] = g_value_get_boolean(value);
      push_band(p, band);
      break;
    }
    case PROP_LOW_MID_CROSSOVER:
      p->low_mid_hz = g_value_get_double(value);
      p->eq.set_crossovers(static_cast<float>(p->low_mid_hz), static_cast<float>(p->mid_high_hz));
      break;
    case PROP_MID_HIGH_CROSSOVER:
      p->mid_high_hz = g_value_get_double(value);
      p->eq.set_crossovers(static_cast<float>(p->low_mid_hz), static_cast<float>(p->mid_high_hz));
      break;
    case PROP_FILTER:
      p->filter = g_value_get_double(value);
      p->knob.set_position(static_cast<float>(p->filter));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_dj_eq_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstDjEqPrivate* p = GST_DJ_EQ(object)->priv;
  std::lock_guard<std::mutex> guard(p->lock);
  switch (prop_id) {
    case PROP_LOW:
    case PROP_MID:
    case PROP_HIGH:
      g_value_set_double(value, p->band_db[prop_id - PROP_LOW]);
      break;
    case PROP_LOW_KILL:
    case PROP_MID_KILL:
    case PROP_HIGH_KILL:
      g_value_set_boolean(value, p->kill[prop_id - PROP_LOW_KILL]);
      break;
    case PROP_LOW_MID_CROSSOVER:
      g_value_set_double(value, p->low_mid_hz);
      break;
    case PROP_MID_HIGH_CROSSOVER:
      g_value_set_double(value, p->mid_high_hz);
      break;
    case PROP_FILTER:
      g_value_set_double(value, p->filter);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static gboolean gst_dj_eq_setup(GstAudioFilter* filter, const GstAudioInfo* info) {
  GstDjEqPrivate* p = GST_DJ_EQ(filter)->priv;
  p->eq.configure(GST_AUDIO_INFO_RATE(info), GST_AUDIO_INFO_CHANNELS(info));
  p->knob.configure(GST_AUDIO_INFO_RATE(info), GST_AUDIO_INFO_CHANNELS(info));
  return TRUE;
}

// Before each buffer: sync controlled properties to its stream time, then step in or out of the
// signal path. In passthrough the base class does not even make the buffer writable.
static void gst_dj_eq_before_transform(GstBaseTransform* trans, GstBuffer* buf) {
  GstDjEqPrivate* p = GST_DJ_EQ(trans)->priv;
  const GstClockTime ts = GST_BUFFER_TIMESTAMP(buf);
  if (GST_CLOCK_TIME_IS_VALID(ts)) {
    GstClockTime stream_time = gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, ts);
    if (GST_CLOCK_TIME_IS_VALID(stream_time)) gst_object_sync_values(GST_OBJECT(trans), stream_time);
  }
  const bool idle = p->eq.idle() && p->knob.idle();
  gst_base_transform_set_passthrough(trans, idle);
}

static GstFlowReturn gst_dj_eq_transform_ip(GstBaseTransform* trans, GstBuffer* buf) {
  GstDjEqPrivate* p = GST_DJ_EQ(trans)->priv;
  GstAudioFilter* filter = GST_AUDIO_FILTER(trans);
  const int bpf = GST_AUDIO_INFO_BPF(&filter->info);
  if (bpf <= 0) return GST_FLOW_NOT_NEGOTIATED;
  if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP) && p->eq.idle() && p->knob.idle()) return GST_FLOW_OK;

  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE)) return GST_FLOW_ERROR;
  float* data = reinterpret_cast<float*>(map.data);
  const guint frames = static_cast<guint>(map.size / bpf);
  p->eq.process(data, frames);
  p->knob.process(data, frames);
  gst_buffer_unmap(buf, &map);
  return GST_FLOW_OK;
}

static gboolean gst_dj_eq_start(GstBaseTransform* trans) {
  GstDjEqPrivate* p = GST_DJ_EQ(trans)->priv;
  p->eq.reset();
  p->knob.reset();
  return TRUE;
}

static void gst_dj_eq_finalize(GObject* object) {
  GstDjEq* self = GST_DJ_EQ(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(gst_dj_eq_parent_class)->finalize(object);
}

static void gst_dj_eq_class_init(GstDjEqClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass* trans_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstAudioFilterClass* filter_class = GST_AUDIO_FILTER_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_dj_eq_debug, "djeq", 0, "DJ isolator EQ and filter");

  gobject_class->set_property = gst_dj_eq_set_property;
  gobject_class->get_property = gst_dj_eq_get_property;
  gobject_class->finalize = gst_dj_eq_finalize;

  const auto flags =
      static_cast<GParamFlags>(G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE | G_PARAM_STATIC_STRINGS);
  const char* band_names[3] = {"low", "mid", "high"};
  const char* band_blurbs[3] = {"Low band gain in dB (-40 = full kill)", "Mid band gain in dB (-40 = full kill)",
                                "High band gain in dB (-40 = full kill)"};
  const char* kill_names[3] = {"low-kill", "mid-kill", "high-kill"};
  const char* kill_blurbs[3] = {"Kill the low band", "Kill the mid band", "Kill the high band"};
  for (int b = 0; b < 3; ++b) {
    g_object_class_install_property(
        gobject_class, PROP_LOW + b,
        g_param_spec_double(band_names[b], band_names[b], band_blurbs[b], kMinBandDb, kMaxBandDb, 0.0, flags));
    g_object_class_install_property(
        gobject_class, PROP_LOW_KILL + b,
        g_param_spec_boolean(kill_names[b], kill_names[b], kill_blurbs[b], FALSE, flags));
  }
  g_object_class_install_property(
      gobject_class, PROP_LOW_MID_CROSSOVER,
      g_param_spec_double("low-mid-crossover", "Low/mid crossover", "Low/mid crossover frequency in Hz", 20.0,
                          16000.0, dju::kDefaultLowMidHz, flags));
  g_object_class_install_property(
      gobject_class, PROP_MID_HIGH_CROSSOVER,
      g_param_spec_double("mid-high-crossover", "Mid/high crossover", "Mid/high crossover frequency in Hz", 20.0,
                          20000.0, dju::kDefaultMidHighHz, flags));
  g_object_class_install_property(
      gobject_class, PROP_FILTER,
      g_param_spec_double("filter", "Filter",
                          "One-knob filter: -1 = low-pass fully down, 0 = off, +1 = high-pass fully up", -1.0, 1.0,
                          0.0, flags));

  GstCaps* caps = gst_caps_from_string(DJ_EQ_CAPS);
  gst_audio_filter_class_add_pad_templates(filter_class, caps);
  gst_caps_unref(caps);
  gst_element_class_set_static_metadata(element_class, "DJ isolator EQ", "Filter/Effect/Audio",
                                        "3-band Linkwitz-Riley isolator EQ with kills and a one-knob filter",
                                        "DJ Universe");

  trans_class->transform_ip = GST_DEBUG_FUNCPTR(gst_dj_eq_transform_ip);
  trans_class->transform_ip_on_passthrough = FALSE;
  trans_class->before_transform = GST_DEBUG_FUNCPTR(gst_dj_eq_before_transform);
  trans_class->start = GST_DEBUG_FUNCPTR(gst_dj_eq_start);
  filter_class->setup = GST_DEBUG_FUNCPTR(gst_dj_eq_setup);
}

static void gst_dj_eq_init(GstDjEq* self) {
  self->priv = new GstDjEqPrivate();
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
}
