/**
 * SECTION:element-djmixer
 * @title: djmixer
 * @short_description: DJ mixer: channel faders, trims, a crossfader, master volume and a look-ahead limiter
 *
 * djmixer mixes any number of channels (request pads `sink_%u`) into one master. Each channel has a
 * channel fader, a trim and an assignment to one side of the crossfader (or none). Nothing about
 * it assumes two decks or one role: the battle's master mixer uses it with the decks on the two
 * crossfader sides, and each DJ's headphone-cue mixer uses it with their own deck (pre-fader) and the
 * master on unassigned channels, blended by the two channel faders.
 *
 * Every gain a performer moves is smoothed: the base class updates pad properties once per output
 * buffer, and djmixer ramps each channel's total gain (fader × trim × crossfader side) linearly over
 * 5 ms inside the mix, sample by sample. A channel added while playing fades in over the same ramp.
 *
 * The master goes through the master `volume` and a look-ahead peak limiter that keeps every
 * sample at or below `limiter-ceiling` (never above 0 dBFS) whatever the inputs. Below the ceiling the
 * limiter is exactly transparent (bit-exact), at the cost of a fixed 2 ms delay, which the element
 * reports as its latency.
 *
 * ## Scheduling
 * In a live pipeline (the battle server's) djmixer waits and queues exactly as configured
 * (`latency`, `min-upstream-latency`, `output-buffer-duration`). In a non-live pipeline nothing
 * waits for a clock, and GstAggregator would let each sink pad hold a single buffer, so that every
 * input buffer costs a sleep and a wake-up of two threads; there djmixer lets every channel queue
 * up to 50 ms ahead, by raising `min-upstream-latency` from 0 to 50 ms while the upstream reports
 * itself not live (an application's own non-zero value is left alone; 0 comes back in READY, when
 * a channel is requested, until the next latency query finds the upstream still not live, and
 * when it turns live). The reported latency of a non-live pipeline grows by as much.
 *
 * Output: 32-bit float, interleaved, 1–8 channels at any rate (battles run 48 kHz stereo); inputs in
 * other formats, rates or channel layouts are converted.
 *
 * ## Pad properties (`sink_%u`; through #GstChildProxy `sink_0::volume` on the element, as in the example)
 * - `volume` (double 0…1, default 1, controllable): the channel fader. Its law is an audio taper:
 *   the top three quarters linear in dB from 0 dB to -26 dB, the bottom quarter linear to silence
 *   (0.75 → -8.7 dB, 0.5 → -17.4 dB); see gain_laws.h.
 * - `gain` (double dB -24…+12, default 0, controllable): the channel trim.
 * - `crossfader-side` (`none`, `left`, `right`; default `none`, controllable): which side of the
 *   crossfader the channel hangs on; `none` channels ignore the crossfader.
 *
 * ## Element properties
 * - `crossfader` (double -1 = full left … +1 = full right, default 0, controllable).
 * - `crossfader-curve` (`constant-power`: left² + right² = 1; `linear`: left + right = 1; `cut`:
 *   both full except within `cut-in` of either edge).
 * - `cut-in` (double 0…1, default 0.03): for the `cut` curve, the distance from each edge, as a
 *   fraction of the whole throw, over which the far side fades in.
 * - `volume` (double 0…4, default 1, controllable): master gain, linear.
 * - `limiter-ceiling` (double dBFS -20…0, default -0.3, controllable): the limiter's ceiling.
 * - `post-messages` (boolean, default true) and `interval` (ns, default 50 ms): metering.
 *
 * ## Messages
 * Every `interval` of output (and not more often), djmixer posts an element message named
 * `djmixer` with:
 * - `timestamp`, `stream-time`, `running-time`, `duration` (GstClockTime): the span it measured;
 * - `peak`, `rms` (double, dBFS, -120 for silence): the master after the limiter, over all channels;
 * - `limiter-reduction` (double, dB, ≤ 0): the deepest gain reduction the limiter applied;
 * - `channels` (uint): how many sink pads were measured; and for every sink pad `<pad>-peak` and
 *   `<pad>-rms` (double, dBFS): the channel's input after its trim, before its fader (the level a DJ
 *   sets their trim by), e.g. `sink_0-peak`.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m djmixer name=mix crossfader=-0.5 sink_0::crossfader-side=left \
 *     sink_1::crossfader-side=right sink_1::volume=0.8 ! audioconvert ! autoaudiosink \
 *   audiotestsrc freq=220 ! audio/x-raw,rate=48000,channels=2 ! mix.sink_0 \
 *   audiotestsrc freq=330 ! audio/x-raw,rate=48000,channels=2 ! mix.sink_1
 * ]| Two tones on the two sides of a crossfader set a quarter of the way to the left; `-m` prints
 * the level messages.
 */
#include "gstdjmixer.h"

#include <gst/audio/audio.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <new>

#include "common/smoothing.h"
#include "common/units.h"
#include "mixer/gain_laws.h"
#include "mixer/limiter.h"
#include "mixer/simd.h"

GST_DEBUG_CATEGORY_STATIC(gst_dj_mixer_debug);
#define GST_CAT_DEFAULT gst_dj_mixer_debug

namespace {

enum CrossfaderSide { kSideNone = 0, kSideLeft = 1, kSideRight = 2 };

constexpr double kDefaultPadVolume = 1.0;
constexpr double kDefaultPadGainDb = 0.0;
constexpr double kDefaultCrossfader = 0.0;
constexpr double kDefaultMasterVolume = 1.0;
constexpr double kDefaultCeilingDb = -0.3;
constexpr GstClockTime kDefaultInterval = 50 * GST_MSECOND;
constexpr uint32_t kGainRampAt48k = 240;      // 5 ms: faders, trims, crossfader
constexpr uint32_t kLimiterWindowAt48k = 96;  // 2 ms look-ahead
// How far ahead each channel may queue while the pipeline is not live (see "Scheduling" above).
constexpr GstClockTime kNonLiveQueue = 50 * GST_MSECOND;

uint32_t frames_at(uint32_t frames_at_48k, int rate) {
  return std::max<uint32_t>(1, static_cast<uint32_t>(std::lround(frames_at_48k * (rate / 48000.0))));
}

double to_db(double linear) { return dju::gain_to_db(static_cast<float>(linear)); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Pads

struct GstDjMixerPadPrivate {
  // Written by property setters (any thread), read by the mixing thread.
  std::atomic<float> volume{static_cast<float>(kDefaultPadVolume)};
  std::atomic<float> gain_db{static_cast<float>(kDefaultPadGainDb)};
  std::atomic<int> side{kSideNone};
  // Mixing thread only.
  dju::SmoothedParam gain{0.0f, kGainRampAt48k};
  bool started = false;
  dju::PeakRms meter;
  float meter_trim = 1.0f;
  // The message's field names for this pad ("sink_0-peak", "sink_0-rms"), interned once.
  GQuark peak_field = 0, rms_field = 0;
};

struct _GstDjMixerPad {
  GstAudioAggregatorConvertPad parent;
  GstDjMixerPadPrivate* priv;
};

enum { PROP_PAD_0, PROP_PAD_VOLUME, PROP_PAD_GAIN, PROP_PAD_CROSSFADER_SIDE };

G_DEFINE_TYPE(GstDjMixerPad, gst_dj_mixer_pad, GST_TYPE_AUDIO_AGGREGATOR_CONVERT_PAD)

GType gst_dj_mixer_crossfader_side_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {kSideNone, "Not on the crossfader", "none"},
      {kSideLeft, "Left side of the crossfader", "left"},
      {kSideRight, "Right side of the crossfader", "right"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDjMixerCrossfaderSide", values));
  return type;
}

GType gst_dj_mixer_crossfader_curve_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(dju::CrossfaderCurve::ConstantPower), "Constant power (left² + right² = 1)",
       "constant-power"},
      {static_cast<gint>(dju::CrossfaderCurve::Linear), "Linear, additive (left + right = 1)", "linear"},
      {static_cast<gint>(dju::CrossfaderCurve::Cut), "Scratch cut: both full until the cut-in distance", "cut"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("GstDjMixerCrossfaderCurve", values));
  return type;
}

static void gst_dj_mixer_pad_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstDjMixerPad* pad = GST_DJ_MIXER_PAD(object);
  switch (prop_id) {
    case PROP_PAD_VOLUME:
      pad->priv->volume.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_PAD_GAIN:
      pad->priv->gain_db.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_PAD_CROSSFADER_SIDE:
      pad->priv->side.store(g_value_get_enum(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_dj_mixer_pad_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstDjMixerPad* pad = GST_DJ_MIXER_PAD(object);
  switch (prop_id) {
    case PROP_PAD_VOLUME:
      g_value_set_double(value, pad->priv->volume.load());
      break;
    case PROP_PAD_GAIN:
      g_value_set_double(value, pad->priv->gain_db.load());
      break;
    case PROP_PAD_CROSSFADER_SIDE:
      g_value_set_enum(value, pad->priv->side.load());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_dj_mixer_pad_finalize(GObject* object) {
  GstDjMixerPad* pad = GST_DJ_MIXER_PAD(object);
  delete pad->priv;
  pad->priv = nullptr;
  G_OBJECT_CLASS(gst_dj_mixer_pad_parent_class)->finalize(object);
}

static void gst_dj_mixer_pad_class_init(GstDjMixerPadClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->set_property = gst_dj_mixer_pad_set_property;
  gobject_class->get_property = gst_dj_mixer_pad_get_property;
  gobject_class->finalize = gst_dj_mixer_pad_finalize;

  const auto flags =
      static_cast<GParamFlags>(G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_PAD_VOLUME,
      g_param_spec_double("volume", "Channel fader",
                          "Channel fader position, 0 (closed) to 1 (open), audio-taper law", 0.0, 1.0,
                          kDefaultPadVolume, flags));
  g_object_class_install_property(
      gobject_class, PROP_PAD_GAIN,
      g_param_spec_double("gain", "Trim", "Channel trim in dB", -24.0, 12.0, kDefaultPadGainDb, flags));
  g_object_class_install_property(
      gobject_class, PROP_PAD_CROSSFADER_SIDE,
      g_param_spec_enum("crossfader-side", "Crossfader side", "Which side of the crossfader this channel is on",
                        GST_TYPE_DJ_MIXER_CROSSFADER_SIDE, kSideNone, flags));
}

static void gst_dj_mixer_pad_init(GstDjMixerPad* pad) { pad->priv = new GstDjMixerPadPrivate(); }

// ---------------------------------------------------------------------------------------------
// The mixer

struct GstDjMixerPrivate {
  std::atomic<float> crossfader{static_cast<float>(kDefaultCrossfader)};
  std::atomic<int> curve{static_cast<int>(dju::CrossfaderCurve::ConstantPower)};
  std::atomic<float> cut_in{dju::kDefaultCutIn};
  std::atomic<float> master_volume{static_cast<float>(kDefaultMasterVolume)};
  std::atomic<float> ceiling_db{static_cast<float>(kDefaultCeilingDb)};
  std::atomic<bool> post_messages{true};
  std::atomic<guint64> interval{kDefaultInterval};
  // min-upstream-latency was raised by djmixer itself for a non-live upstream (see "Scheduling").
  std::atomic<bool> queue_raised{false};

  // Source thread only.
  int rate = 48000;
  int channels = 2;
  bool produced = false;  // output has started: pads added from now on fade in
  dju::SmoothedParam master{static_cast<float>(kDefaultMasterVolume), kGainRampAt48k};
  dju::LookaheadLimiter limiter;
  dju::PeakRms master_meter;
  float min_limiter_gain = 1.0f;
  guint64 meter_frames = 0;
  GstClockTime meter_start = GST_CLOCK_TIME_NONE;
};

struct _GstDjMixer {
  GstAudioAggregator parent;
  GstDjMixerPrivate* priv;
};

enum {
  PROP_0,
  PROP_CROSSFADER,
  PROP_CROSSFADER_CURVE,
  PROP_CUT_IN,
  PROP_VOLUME,
  PROP_LIMITER_CEILING,
  PROP_POST_MESSAGES,
  PROP_INTERVAL,
};

#define DJ_MIXER_CAPS                   \
  "audio/x-raw, "                       \
  "format = (string) " GST_AUDIO_NE(F32) ", " \
  "rate = (int) [ 1, MAX ], "           \
  "channels = (int) [ 1, 8 ], "         \
  "layout = (string) interleaved"

#define DJ_MIXER_SINK_CAPS                                                     \
  "audio/x-raw, "                                                              \
  "format = (string) { F32LE, F32BE, F64LE, S32LE, S24LE, S16LE }, "           \
  "rate = (int) [ 1, MAX ], "                                                  \
  "channels = (int) [ 1, 8 ], "                                                \
  "layout = (string) interleaved"

static GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS(DJ_MIXER_CAPS));
static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS(DJ_MIXER_SINK_CAPS));

static void gst_dj_mixer_child_proxy_init(gpointer g_iface, gpointer iface_data);

G_DEFINE_TYPE_WITH_CODE(GstDjMixer, gst_dj_mixer, GST_TYPE_AUDIO_AGGREGATOR,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_CHILD_PROXY, gst_dj_mixer_child_proxy_init))
GST_ELEMENT_REGISTER_DEFINE(djmixer, "djmixer", GST_RANK_NONE, GST_TYPE_DJ_MIXER);

static void gst_dj_mixer_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstDjMixerPrivate* p = GST_DJ_MIXER(object)->priv;
  switch (prop_id) {
    case PROP_CROSSFADER:
      p->crossfader.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_CROSSFADER_CURVE:
      p->curve.store(g_value_get_enum(value));
      break;
    case PROP_CUT_IN:
      p->cut_in.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_VOLUME:
      p->master_volume.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_LIMITER_CEILING:
      p->ceiling_db.store(static_cast<float>(g_value_get_double(value)));
      break;
    case PROP_POST_MESSAGES:
      p->post_messages.store(g_value_get_boolean(value));
      break;
    case PROP_INTERVAL:
      p->interval.store(g_value_get_uint64(value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

static void gst_dj_mixer_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstDjMixerPrivate* p = GST_DJ_MIXER(object)->priv;
  switch (prop_id) {
    case PROP_CROSSFADER:
      g_value_set_double(value, p->crossfader.load());
      break;
    case PROP_CROSSFADER_CURVE:
      g_value_set_enum(value, p->curve.load());
      break;
    case PROP_CUT_IN:
      g_value_set_double(value, p->cut_in.load());
      break;
    case PROP_VOLUME:
      g_value_set_double(value, p->master_volume.load());
      break;
    case PROP_LIMITER_CEILING:
      g_value_set_double(value, p->ceiling_db.load());
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean(value, p->post_messages.load());
      break;
    case PROP_INTERVAL:
      g_value_set_uint64(value, p->interval.load());
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
  }
}

// The total gain of a channel right now: fader law × trim × its side of the crossfader.
static float pad_target_gain(GstDjMixerPrivate* mp, GstDjMixerPadPrivate* pp) {
  float g = dju::channel_fader_gain(pp->volume.load()) * dju::db_to_gain(pp->gain_db.load());
  const int side = pp->side.load();
  if (side != kSideNone) {
    const dju::XfadeGains x = dju::crossfader_gains(
        mp->crossfader.load(), static_cast<dju::CrossfaderCurve>(mp->curve.load()), mp->cut_in.load());
    g *= side == kSideLeft ? x.left : x.right;
  }
  return g;
}

static gboolean gst_dj_mixer_aggregate_one_buffer(GstAudioAggregator* aagg, GstAudioAggregatorPad* apad,
                                                  GstBuffer* inbuf, guint in_offset, GstBuffer* outbuf,
                                                  guint out_offset, guint num_frames) {
  GstDjMixer* self = GST_DJ_MIXER(aagg);
  GstDjMixerPadPrivate* pp = GST_DJ_MIXER_PAD(apad)->priv;
  GstDjMixerPrivate* mp = self->priv;
  const int channels = mp->channels;

  const float target = pad_target_gain(mp, pp);
  if (!pp->started) {
    // Channels present from the start play at once; channels added mid-stream fade in.
    pp->gain.set_ramp_samples(frames_at(kGainRampAt48k, mp->rate));
    pp->gain.snap_to(mp->produced ? 0.0f : target);
    pp->started = true;
  }
  pp->gain.set_target(target);

  GstMapInfo inmap, outmap;
  if (!gst_buffer_map(inbuf, &inmap, GST_MAP_READ)) return FALSE;
  if (!gst_buffer_map(outbuf, &outmap, GST_MAP_READWRITE)) {
    gst_buffer_unmap(inbuf, &inmap);
    return FALSE;
  }
  const float* in = reinterpret_cast<const float*>(inmap.data) + static_cast<size_t>(in_offset) * channels;
  float* out = reinterpret_cast<float*>(outmap.data) + static_cast<size_t>(out_offset) * channels;

  // Channel meter: after the trim, before the fader (skipped when nobody reads it).
  if (mp->post_messages.load(std::memory_order_relaxed)) {
    pp->meter.add(in, num_frames, channels);
    pp->meter_trim = dju::db_to_gain(pp->gain_db.load());
  }

  gboolean filled = TRUE;
  if (!pp->gain.ramping()) {
    pp->gain.snap();
    const float g = pp->gain.current();
    if (g == 0.0f)
      filled = FALSE;  // a closed channel adds nothing
    else
      dju::mix_add(out, in, static_cast<size_t>(num_frames) * channels, g);
  } else {
    for (guint f = 0; f < num_frames; ++f) {
      const float g = pp->gain.next();
      for (int c = 0; c < channels; ++c) out[f * channels + c] += g * in[f * channels + c];
    }
  }

  gst_buffer_unmap(outbuf, &outmap);
  gst_buffer_unmap(inbuf, &inmap);
  return filled;
}

// Sync the element's own controlled properties (the base class syncs only the pads'), then mix.
static GstFlowReturn gst_dj_mixer_aggregate(GstAggregator* agg, gboolean timeout) {
  GST_OBJECT_LOCK(agg);
  GstSegment* seg = &GST_AGGREGATOR_PAD(agg->srcpad)->segment;
  GstClockTime pos = seg->position != GST_CLOCK_TIME_NONE ? seg->position : seg->start;
  GstClockTime stream_time = gst_segment_to_stream_time(seg, GST_FORMAT_TIME, pos);
  GST_OBJECT_UNLOCK(agg);
  if (GST_CLOCK_TIME_IS_VALID(stream_time)) gst_object_sync_values(GST_OBJECT(agg), stream_time);
  return GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->aggregate(agg, timeout);
}

static GstMessage* gst_dj_mixer_take_meters(GstDjMixer* self, GstClockTime end) {
  GstDjMixerPrivate* mp = self->priv;
  GstAggregator* agg = GST_AGGREGATOR(self);
  GstClockTime start = mp->meter_start;
  GstClockTime duration = GST_CLOCK_TIME_IS_VALID(start) && end > start ? end - start : GST_CLOCK_TIME_NONE;

  GST_OBJECT_LOCK(agg);
  GstSegment seg = GST_AGGREGATOR_PAD(agg->srcpad)->segment;
  GST_OBJECT_UNLOCK(agg);
  // Field names as quarks, interned once: by name every field of every message is a lookup in
  // GLib's global quark table, under its lock.
  static const GQuark q_name = g_quark_from_static_string("djmixer");
  static const GQuark q_timestamp = g_quark_from_static_string("timestamp");
  static const GQuark q_stream_time = g_quark_from_static_string("stream-time");
  static const GQuark q_running_time = g_quark_from_static_string("running-time");
  static const GQuark q_duration = g_quark_from_static_string("duration");
  static const GQuark q_peak = g_quark_from_static_string("peak");
  static const GQuark q_rms = g_quark_from_static_string("rms");
  static const GQuark q_reduction = g_quark_from_static_string("limiter-reduction");
  static const GQuark q_channels = g_quark_from_static_string("channels");
  GstStructure* s = gst_structure_new_id(
      q_name, q_timestamp, G_TYPE_UINT64, start, q_stream_time, G_TYPE_UINT64,
      gst_segment_to_stream_time(&seg, GST_FORMAT_TIME, start), q_running_time, G_TYPE_UINT64,
      gst_segment_to_running_time(&seg, GST_FORMAT_TIME, start), q_duration, G_TYPE_UINT64, duration, q_peak,
      G_TYPE_DOUBLE, to_db(mp->master_meter.peak), q_rms, G_TYPE_DOUBLE, to_db(mp->master_meter.rms()),
      q_reduction, G_TYPE_DOUBLE, std::min(0.0, to_db(mp->min_limiter_gain)), nullptr);

  // Snapshot the pad list (refs), then read each pad's meter: pads are only metered on this thread.
  GST_OBJECT_LOCK(self);
  GList* pads = nullptr;
  for (GList* l = GST_ELEMENT(self)->sinkpads; l; l = l->next) pads = g_list_prepend(pads, gst_object_ref(l->data));
  pads = g_list_reverse(pads);
  GST_OBJECT_UNLOCK(self);
  guint count = 0;
  for (GList* l = pads; l; l = l->next) {
    GstDjMixerPad* pad = GST_DJ_MIXER_PAD(l->data);
    GstDjMixerPadPrivate* pp = pad->priv;
    if (!pp->peak_field) {
      // A pad's name never changes once it is in the element.
      gchar* name = gst_pad_get_name(GST_PAD(pad));
      gchar* peak_field = g_strdup_printf("%s-peak", name);
      gchar* rms_field = g_strdup_printf("%s-rms", name);
      pp->rms_field = g_quark_from_string(rms_field);
      pp->peak_field = g_quark_from_string(peak_field);
      g_free(peak_field);
      g_free(rms_field);
      g_free(name);
    }
    const double trim = pp->meter_trim;
    gst_structure_id_set(s, pp->peak_field, G_TYPE_DOUBLE, to_db(pp->meter.peak * trim), pp->rms_field,
                         G_TYPE_DOUBLE, to_db(pp->meter.rms() * trim), nullptr);
    pp->meter.clear();
    ++count;
  }
  g_list_free_full(pads, gst_object_unref);
  gst_structure_id_set(s, q_channels, G_TYPE_UINT, count, nullptr);

  mp->master_meter.clear();
  mp->min_limiter_gain = 1.0f;
  mp->meter_frames = 0;
  mp->meter_start = end;
  return gst_message_new_element(GST_OBJECT(self), s);
}

// Master volume, limiter and meters, on the mixed buffer, before it is pushed.
static GstFlowReturn gst_dj_mixer_finish_buffer(GstAggregator* agg, GstBuffer* buf) {
  GstDjMixer* self = GST_DJ_MIXER(agg);
  GstDjMixerPrivate* mp = self->priv;
  GstMessage* msg = nullptr;

  buf = gst_buffer_make_writable(buf);
  GstMapInfo map;
  if (gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
    float* data = reinterpret_cast<float*>(map.data);
    const int nch = mp->channels;
    const guint frames = static_cast<guint>(map.size / (sizeof(float) * nch));

    mp->master.set_target(mp->master_volume.load());
    if (mp->master.ramping()) {
      for (guint f = 0; f < frames; ++f) {
        const float g = mp->master.next();
        for (int c = 0; c < nch; ++c) data[f * nch + c] *= g;
      }
    } else if (mp->master.current() != 1.0f) {
      dju::scale(data, static_cast<size_t>(frames) * nch, mp->master.current());
    }

    mp->limiter.set_ceiling(std::min(1.0f, dju::db_to_gain(mp->ceiling_db.load())));
    mp->limiter.process(data, frames);
    mp->min_limiter_gain = std::min(mp->min_limiter_gain, mp->limiter.take_min_gain());
    if (mp->post_messages.load(std::memory_order_relaxed)) mp->master_meter.add(data, frames, nch);

    // The limiter's delay line may carry sound into a buffer the base class marked as a gap.
    if (GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_GAP)) {
      for (size_t i = 0; i < static_cast<size_t>(frames) * nch; ++i) {
        if (data[i] != 0.0f) {
          GST_BUFFER_FLAG_UNSET(buf, GST_BUFFER_FLAG_GAP);
          break;
        }
      }
    }
    gst_buffer_unmap(buf, &map);

    mp->produced = true;
    if (!GST_CLOCK_TIME_IS_VALID(mp->meter_start)) mp->meter_start = GST_BUFFER_PTS(buf);
    mp->meter_frames += frames;
    const GstClockTime end = GST_BUFFER_PTS_IS_VALID(buf) && GST_BUFFER_DURATION_IS_VALID(buf)
                                 ? GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf)
                                 : GST_CLOCK_TIME_NONE;
    const guint64 interval_frames = gst_util_uint64_scale(mp->interval.load(), mp->rate, GST_SECOND);
    if (mp->post_messages.load() && mp->meter_frames >= std::max<guint64>(1, interval_frames))
      msg = gst_dj_mixer_take_meters(self, end);
    else if (!mp->post_messages.load())
      mp->meter_frames = 0;
  }

  GstFlowReturn ret = GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->finish_buffer(agg, buf);
  if (msg) gst_element_post_message(GST_ELEMENT(self), msg);
  return ret;
}

static gboolean gst_dj_mixer_negotiated_src_caps(GstAggregator* agg, GstCaps* caps) {
  GstDjMixer* self = GST_DJ_MIXER(agg);
  GstAudioInfo info;
  if (!gst_audio_info_from_caps(&info, caps)) return FALSE;
  GstDjMixerPrivate* mp = self->priv;
  const bool changed = mp->rate != GST_AUDIO_INFO_RATE(&info) || mp->channels != GST_AUDIO_INFO_CHANNELS(&info);
  mp->rate = GST_AUDIO_INFO_RATE(&info);
  mp->channels = GST_AUDIO_INFO_CHANNELS(&info);
  if (changed || mp->limiter.latency_frames() != frames_at(kLimiterWindowAt48k, mp->rate)) {
    mp->limiter.configure(mp->rate, mp->channels, frames_at(kLimiterWindowAt48k, mp->rate));
    mp->master.set_ramp_samples(frames_at(kGainRampAt48k, mp->rate));
  }
  const GstClockTime latency = gst_util_uint64_scale(mp->limiter.latency_frames(), GST_SECOND, mp->rate);
  gst_aggregator_set_latency(agg, latency, latency);
  GST_DEBUG_OBJECT(self, "negotiated %d Hz × %d, limiter latency %" GST_TIME_FORMAT, mp->rate, mp->channels,
                   GST_TIME_ARGS(latency));
  return GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->negotiated_src_caps(agg, caps);
}

// Non-live, the base class lets a sink pad hold one buffer (its queue may hold `latency` +
// the upstream's minimum latency, both 0 there): every 256-frame buffer then costs a sleep and a
// wake-up of the deck's thread and of the mixer's. Nothing waits for a clock in a non-live
// pipeline, so djmixer lets each channel queue kNonLiveQueue ahead by raising the upstream minimum
// the base class counts (min-upstream-latency) while the upstream reports itself not live and the
// application has left that property at 0; when the upstream turns out live it puts it back.
// Returns true when it changed the setting (the caller then asks the base class again, which
// only reads the property while answering a latency query).
static bool gst_dj_mixer_queue_for_upstream(GstDjMixer* self, bool live) {
  GstDjMixerPrivate* mp = self->priv;
  guint64 current = 0;
  g_object_get(self, "min-upstream-latency", &current, nullptr);
  if (!live && current == 0 && !mp->queue_raised.exchange(true)) {
    GST_DEBUG_OBJECT(self, "upstream is not live: channels may queue %" GST_TIME_FORMAT " ahead",
                     GST_TIME_ARGS(kNonLiveQueue));
    g_object_set(self, "min-upstream-latency", static_cast<guint64>(kNonLiveQueue), nullptr);
    return true;
  }
  if (live && mp->queue_raised.exchange(false) && current == kNonLiveQueue) {
    GST_DEBUG_OBJECT(self, "upstream is live: back to the configured latency");
    g_object_set(self, "min-upstream-latency", static_cast<guint64>(0), nullptr);
    return true;
  }
  return false;
}

static gboolean gst_dj_mixer_src_query(GstAggregator* agg, GstQuery* query) {
  GstAggregatorClass* parent = GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class);
  gboolean ret = parent->src_query(agg, query);
  if (ret && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    gboolean live = FALSE;
    gst_query_parse_latency(query, &live, nullptr, nullptr);
    if (gst_dj_mixer_queue_for_upstream(GST_DJ_MIXER(agg), live)) ret = parent->src_query(agg, query);
  }
  return ret;
}

// Puts back the application's min-upstream-latency (0) if djmixer had raised it.
static void gst_dj_mixer_drop_queue(GstDjMixer* self) {
  if (!self->priv->queue_raised.exchange(false)) return;
  guint64 current = 0;
  g_object_get(self, "min-upstream-latency", &current, nullptr);
  if (current == kNonLiveQueue) g_object_set(self, "min-upstream-latency", static_cast<guint64>(0), nullptr);
}

// Back in READY the application's min-upstream-latency is what it set.
static gboolean gst_dj_mixer_stop(GstAggregator* agg) {
  gst_dj_mixer_drop_queue(GST_DJ_MIXER(agg));
  return GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->stop(agg);
}

static gboolean gst_dj_mixer_start(GstAggregator* agg) {
  GstDjMixerPrivate* mp = GST_DJ_MIXER(agg)->priv;
  mp->limiter.configure(mp->rate, mp->channels, frames_at(kLimiterWindowAt48k, mp->rate));
  mp->master.snap_to(mp->master_volume.load());
  mp->master_meter.clear();
  mp->min_limiter_gain = 1.0f;
  mp->meter_frames = 0;
  mp->meter_start = GST_CLOCK_TIME_NONE;
  mp->produced = false;
  return GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->start(agg);
}

static GstFlowReturn gst_dj_mixer_flush(GstAggregator* agg) {
  GstDjMixerPrivate* mp = GST_DJ_MIXER(agg)->priv;
  mp->limiter.reset();
  mp->meter_start = GST_CLOCK_TIME_NONE;
  mp->meter_frames = 0;
  return GST_AGGREGATOR_CLASS(gst_dj_mixer_parent_class)->flush(agg);
}

static GstPad* gst_dj_mixer_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                            const GstCaps* caps) {
  // A new channel may be live where the others were not: until the next latency query says
  // otherwise, djmixer queues as the base class does (the base class re-queries the upstream on the
  // new pad's first buffer without asking djmixer).
  gst_dj_mixer_drop_queue(GST_DJ_MIXER(element));
  GstPad* pad = GST_ELEMENT_CLASS(gst_dj_mixer_parent_class)->request_new_pad(element, templ, name, caps);
  if (pad) gst_child_proxy_child_added(GST_CHILD_PROXY(element), G_OBJECT(pad), GST_OBJECT_NAME(pad));
  return pad;
}

static void gst_dj_mixer_release_pad(GstElement* element, GstPad* pad) {
  gst_child_proxy_child_removed(GST_CHILD_PROXY(element), G_OBJECT(pad), GST_OBJECT_NAME(pad));
  GST_ELEMENT_CLASS(gst_dj_mixer_parent_class)->release_pad(element, pad);
}

static void gst_dj_mixer_finalize(GObject* object) {
  GstDjMixer* self = GST_DJ_MIXER(object);
  delete self->priv;
  self->priv = nullptr;
  G_OBJECT_CLASS(gst_dj_mixer_parent_class)->finalize(object);
}

static void gst_dj_mixer_class_init(GstDjMixerClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAggregatorClass* agg_class = GST_AGGREGATOR_CLASS(klass);
  GstAudioAggregatorClass* aagg_class = GST_AUDIO_AGGREGATOR_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(gst_dj_mixer_debug, "djmixer", 0, "DJ crossfader mixer");

  gobject_class->set_property = gst_dj_mixer_set_property;
  gobject_class->get_property = gst_dj_mixer_get_property;
  gobject_class->finalize = gst_dj_mixer_finalize;

  const auto live =
      static_cast<GParamFlags>(G_PARAM_READWRITE | GST_PARAM_CONTROLLABLE | G_PARAM_STATIC_STRINGS);
  const auto plain = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property(
      gobject_class, PROP_CROSSFADER,
      g_param_spec_double("crossfader", "Crossfader", "Crossfader position: -1 = full left, +1 = full right", -1.0,
                          1.0, kDefaultCrossfader, live));
  g_object_class_install_property(
      gobject_class, PROP_CROSSFADER_CURVE,
      g_param_spec_enum("crossfader-curve", "Crossfader curve", "Gain law of the crossfader",
                        GST_TYPE_DJ_MIXER_CROSSFADER_CURVE, static_cast<gint>(dju::CrossfaderCurve::ConstantPower),
                        live));
  g_object_class_install_property(
      gobject_class, PROP_CUT_IN,
      g_param_spec_double("cut-in", "Cut-in distance",
                          "For the cut curve: fraction of the throw next to each edge over which the far side "
                          "fades in",
                          0.0, 1.0, dju::kDefaultCutIn, live));
  g_object_class_install_property(
      gobject_class, PROP_VOLUME,
      g_param_spec_double("volume", "Master volume", "Master gain (linear)", 0.0, 4.0, kDefaultMasterVolume, live));
  g_object_class_install_property(
      gobject_class, PROP_LIMITER_CEILING,
      g_param_spec_double("limiter-ceiling", "Limiter ceiling", "Highest sample level the master reaches, in dBFS",
                          -20.0, 0.0, kDefaultCeilingDb, live));
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages", "Post djmixer level messages", TRUE, plain));
  g_object_class_install_property(
      gobject_class, PROP_INTERVAL,
      g_param_spec_uint64("interval", "Interval", "Time between level messages in ns", 1 * GST_MSECOND,
                          G_MAXUINT64, kDefaultInterval, plain));

  // A converting src pad makes the base class fixate the output to the first configured input
  // (rate, channels) instead of the template's defaults (44.1 kHz), so nothing is resampled.
  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template,
                                                       GST_TYPE_AUDIO_AGGREGATOR_CONVERT_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &sink_template, GST_TYPE_DJ_MIXER_PAD);
  gst_element_class_set_static_metadata(element_class, "DJ mixer", "Generic/Audio",
                                        "Mixes channels with faders, trims and a crossfader into a limited master",
                                        "DJ Universe");

  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_dj_mixer_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_dj_mixer_release_pad);
  agg_class->aggregate = GST_DEBUG_FUNCPTR(gst_dj_mixer_aggregate);
  agg_class->finish_buffer = GST_DEBUG_FUNCPTR(gst_dj_mixer_finish_buffer);
  agg_class->negotiated_src_caps = GST_DEBUG_FUNCPTR(gst_dj_mixer_negotiated_src_caps);
  agg_class->start = GST_DEBUG_FUNCPTR(gst_dj_mixer_start);
  agg_class->stop = GST_DEBUG_FUNCPTR(gst_dj_mixer_stop);
  agg_class->src_query = GST_DEBUG_FUNCPTR(gst_dj_mixer_src_query);
  agg_class->flush = GST_DEBUG_FUNCPTR(gst_dj_mixer_flush);
  aagg_class->aggregate_one_buffer = GST_DEBUG_FUNCPTR(gst_dj_mixer_aggregate_one_buffer);

  gst_type_mark_as_plugin_api(GST_TYPE_DJ_MIXER_PAD, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DJ_MIXER_CROSSFADER_SIDE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_DJ_MIXER_CROSSFADER_CURVE, static_cast<GstPluginAPIFlags>(0));
}

static void gst_dj_mixer_init(GstDjMixer* self) {
  self->priv = new GstDjMixerPrivate();
  self->priv->limiter.configure(48000, 2, kLimiterWindowAt48k);
}

// ---------------------------------------------------------------------------------------------
// GstChildProxy: `mix::sink_0::volume`

static GObject* gst_dj_mixer_child_proxy_get_child_by_index(GstChildProxy* proxy, guint index) {
  GstElement* element = GST_ELEMENT(proxy);
  GObject* obj = nullptr;
  GST_OBJECT_LOCK(element);
  obj = static_cast<GObject*>(g_list_nth_data(element->sinkpads, index));
  if (obj) gst_object_ref(obj);
  GST_OBJECT_UNLOCK(element);
  return obj;
}

static guint gst_dj_mixer_child_proxy_get_children_count(GstChildProxy* proxy) {
  GstElement* element = GST_ELEMENT(proxy);
  GST_OBJECT_LOCK(element);
  guint count = element->numsinkpads;
  GST_OBJECT_UNLOCK(element);
  return count;
}

static void gst_dj_mixer_child_proxy_init(gpointer g_iface, gpointer) {
  GstChildProxyInterface* iface = static_cast<GstChildProxyInterface*>(g_iface);
  iface->get_child_by_index = gst_dj_mixer_child_proxy_get_child_by_index;
  iface->get_children_count = gst_dj_mixer_child_proxy_get_children_count;
}
