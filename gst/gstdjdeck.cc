/**
 * SECTION:element-djdeck
 * @title: djdeck
 *
 * A DJ deck as a live-capable audio source: it plays one track like a CDJ or a turntable, with
 * cue, eight hotcues, loops, beatjump, tempo with or without keylock, key shift, nudge,
 * jog/scratch and beat sync to another deck. Output: 48 kHz stereo F32 interleaved, in buffers of
 * `samples-per-buffer` frames (default 256), timestamped from a sample counter.
 *
 * ## Loading
 * Setting `location` (a file path or a URI; anything GStreamer decodes: FLAC, WAV, Ogg
 * Vorbis/Opus, MP3 …) stops the deck and loads the track on the deck's own loader thread: the
 * track is decoded to memory (16-bit, 69 MB for six minutes) and analysed (BPM and beat grid, key,
 * waveform overview, intro/outro). Meanwhile the deck outputs silence and keeps time. When the load
 * is done the deck posts `djdeck-track`; a file that is missing, corrupt or not audio gets a
 * `djdeck-error` element message and a GStreamer warning, both naming the file and the reason; the
 * deck plays on (silence) and the next load works. `playing=true` set after `location` (as on the
 * command line) starts the track as soon as it is loaded.
 *
 * ## Properties a performer moves
 * `playing`, `tempo` (0.5–2.0), `keylock`, `key-shift` (semitones), `quantize` are
 * controllable (GstController), thread-safe and smoothed (tempo ramps over 10 ms; every jump,
 * loop seam, play/pause and keylock switch is a 5 ms crossfade). `position` (seconds) is a
 * sample-accurate seek when written. With `keylock` the audio goes through SoundTouch and keeps its
 * pitch; without it the deck is varispeed (pitch follows tempo, like vinyl). The stretcher's delay
 * is compensated: `position`, beat phase, cue and hotcue points refer to the frame being heard.
 *
 * ## Actions
 * One action signal, `action`, gboolean (gchar *name, gint index, gdouble value); it returns FALSE
 * (and changes nothing) for an unknown name, a bad index or an action that needs something missing
 * (e.g. a beat loop without a beat grid):
 * |[
 * gboolean ok;
 * g_signal_emit_by_name (deck, "action", "hotcue", 1, 0.0, &ok);
 * ]|
 * - `play`, `pause`, `play-toggle`
 * - `cue` (value 1 = pressed, 0 = released): CDJ cue. Paused: the playhead becomes the cue point
 *   (snapped to the beat with `quantize`) and holding previews from it; releasing returns to it.
 *   Playing: back to the cue point and stop.
 * - `hotcue` (index 1–8): jump to the hotcue (play state unchanged), or set it here if empty;
 *   `hotcue-set`, `hotcue-clear` (index 1–8)
 * - `loop-in`, `loop-out` (the loop starts at once), `loop-exit`, `reloop` (re-enable, jump to its
 *   start), `beatloop` (value = beats, 1/32 … 64), `loop-halve`, `loop-double`
 * - `beatjump` (value = ±beats; an active loop moves along)
 * - `nudge` (value = rate offset added while held, 0 releases), `jog` (value = platter velocity in
 *   rate units: added to the rate, or while scratching it *is* the rate, negative = backwards),
 *   `scratch` (value 1 = hand on the platter, 0 = released)
 * - `sync`: match tempo and beat phase to the deck named by `sync-leader` (another djdeck in the
 *   same pipeline; half/double time when closer), sample-exact, and keep following it (sync
 *   lock, as on a CDJ or in Mixxx): the leader's later tempo changes carry over and the beat phase
 *   is held (a jump along when the leader jumps). Moving this deck's own `tempo`, a `sync` with
 *   a negative value, a new `sync-leader` or a new track disengage it (`sync-engaged` in
 *   `djdeck-state`).
 * With `quantize`, set points (cue, hotcues, loop in/out, beat loops) snap to the nearest beat and
 * hotcue jumps keep the beat phase.
 *
 * ## Messages
 * Element messages, posted with no lock held:
 * - `djdeck-track` once a load and its analysis finish: `location` (string), `uri`, `duration`
 *   (s), `bpm`, `first-beat` (s), `beat-period` (s), `bpm-confidence` (0–1), `key` ("A minor"),
 *   `camelot` ("8A"), `key-confidence`, `intro-end`, `outro-start` (s), `peak`, `rms-db`,
 *   `waveform` (base64 of `waveform-points` × 3 bytes: low, mid, high levels 0–255 per point),
 *   `waveform-points`, `waveform-resolution` (s per point), `decode-time`, `analysis-time` (s).
 * - `djdeck-error` for a load that failed: `location`, `reason`.
 * - `djdeck-state` every `report-interval` ns while playing and on every change: `timestamp`,
 *   `stream-time`, `running-time` (of the buffer it describes, when posted while streaming),
 *   `location`, `load-state` ("empty", "loading", "ready", "error"), `position`, `duration` (s),
 *   `playing`, `tempo`, `rate` (momentary), `keylock`, `key-shift`, `bpm` (of the track),
 *   `effective-bpm` (bpm × rate), `beat` (beats since the first beat, fractional), `beat-phase`
 *   (0–1), `bar` (1-based), `beat-in-bar` (1–4), `loop-active`, `loop-start`, `loop-end` (s, -1
 *   without a loop), `cue` (s), `hotcue-1` … `hotcue-8` (s, -1 = unset), `hotcues-set` (bit mask),
 *   `quantize`, `scratching`, `sync-leader`, `sync-engaged`.
 *
 * ## A proper source
 * `is-live` (timestamps follow the clock's running time; the latency query answers one buffer) or
 * not (as fast as possible, for rendering); `num-buffers` as `audiotestsrc`; PTS, DURATION and
 * OFFSET come from the sample counter.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 djdeck location=track.flac playing=true tempo=1.06 keylock=true num-buffers=2000 ! \
 *     audioconvert ! wavenc ! filesink location=deck.wav
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdjdeck.h"

#include <gst/audio/audio.h>

#include <atomic>
#include <condition_variable>
#include <cmath>
#include <memory>
#include <mutex>
#include <string>

#include "deck/deck_engine.h"
#include "deck/track_loader.h"

GST_DEBUG_CATEGORY_STATIC(djdeck_debug);
#define GST_CAT_DEFAULT djdeck_debug

namespace {

constexpr int kRate = 48000;
constexpr double kRateD = 48000.0;

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_PLAYING,
  PROP_TEMPO,
  PROP_KEYLOCK,
  PROP_KEY_SHIFT,
  PROP_POSITION,
  PROP_DURATION,
  PROP_BPM,
  PROP_FIRST_BEAT,
  PROP_KEY,
  PROP_CAMELOT,
  PROP_INTRO_END,
  PROP_OUTRO_START,
  PROP_LOAD_STATE,
  PROP_QUANTIZE,
  PROP_SYNC_LEADER,
  PROP_IS_LIVE,
  PROP_SAMPLES_PER_BUFFER,
  PROP_REPORT_INTERVAL,
};

constexpr gboolean DEFAULT_IS_LIVE = FALSE;
constexpr gint DEFAULT_SAMPLES_PER_BUFFER = 256;
constexpr guint64 DEFAULT_REPORT_INTERVAL = 100 * GST_MSECOND;

enum class LoadState { Empty, Loading, Ready, Error };
const char* load_state_name(LoadState s) {
  switch (s) {
    case LoadState::Empty: return "empty";
    case LoadState::Loading: return "loading";
    case LoadState::Ready: return "ready";
    case LoadState::Error: return "error";
  }
  return "empty";
}

enum { SIGNAL_ACTION, LAST_SIGNAL };
guint djdeck_signals[LAST_SIGNAL];

}  // namespace

struct DjDeckPrivate {
  dju::DeckEngine engine;
  std::unique_ptr<dju::TrackLoader> loader;

  // Settings and load results: under `mutex` (never held while posting or rendering).
  std::mutex mutex;
  std::string location;
  LoadState load_state = LoadState::Empty;
  std::string load_error;
  dju::TrackAnalysis analysis;  // without the waveform (that goes out once, in djdeck-track)
  bool want_playing = false;    // `playing` set before the track is loaded: start when it is
  double tempo = 1.0;
  bool keylock = false;
  double key_shift = 0.0;
  bool quantize = false;
  std::string sync_leader;
  gint samples_per_buffer = DEFAULT_SAMPLES_PER_BUFFER;
  guint64 report_interval = DEFAULT_REPORT_INTERVAL;

  std::condition_variable load_done;  // signalled (with `mutex`) when a load finishes
  bool flushing = false;              // basesrc unlock: stop waiting for a load
  bool resume_load = false;           // a load cut short by READY→NULL: restart at NULL→READY

  GWeakRef sync_leader_ref;  // the deck being followed while sync is engaged

  std::atomic<bool> is_live{DEFAULT_IS_LIVE};
  std::atomic<bool> state_dirty{false};

  // Streaming thread only.
  guint64 next_sample = 0;
  bool started = false;
  GstClockTime last_report = GST_CLOCK_TIME_NONE;
  bool last_playing = false;
};

struct _GstDjDeck {
  GstBaseSrc parent;
  DjDeckPrivate* priv;
};

G_DEFINE_TYPE(GstDjDeck, gst_djdeck, GST_TYPE_BASE_SRC);
GST_ELEMENT_REGISTER_DEFINE(djdeck, "djdeck", GST_RANK_NONE, GST_TYPE_DJDECK);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("audio/x-raw, format=(string)" GST_AUDIO_NE(F32) ", rate=(int)48000, channels=(int)2, "
                    "layout=(string)interleaved, channel-mask=(bitmask)0x3"));

// ---------------------------------------------------------------- messages

static double frames_to_s(double f) { return f / kRateD; }

static GstStructure* build_state(GstDjDeck* self, const dju::DeckSnapshot& s) {
  DjDeckPrivate* p = self->priv;
  std::string location, leader;
  LoadState ls;
  {
    std::lock_guard<std::mutex> lk(p->mutex);
    location = p->location;
    leader = p->sync_leader;
    ls = p->load_state;
  }
  const double beat = s.grid.valid() ? s.grid.beat_at(s.position) : 0.0;
  const double fl = std::floor(beat);
  const int bpb = s.grid.beats_per_bar > 0 ? s.grid.beats_per_bar : 4;
  const long beat_index = static_cast<long>(fl);
  const long bar = beat_index >= 0 ? beat_index / bpb + 1 : -((-beat_index - 1) / bpb) ;
  const int beat_in_bar = static_cast<int>(((beat_index % bpb) + bpb) % bpb) + 1;
  guint mask = 0;
  for (int i = 0; i < dju::kHotcues; ++i)
    if (s.hotcues[i] >= 0) mask |= 1u << i;
  GstStructure* st = gst_structure_new(
      "djdeck-state", "location", G_TYPE_STRING, location.c_str(), "load-state", G_TYPE_STRING,
      load_state_name(ls), "position", G_TYPE_DOUBLE, frames_to_s(s.position), "duration", G_TYPE_DOUBLE,
      frames_to_s(s.frames), "playing", G_TYPE_BOOLEAN, s.playing, "tempo", G_TYPE_DOUBLE, s.tempo, "rate",
      G_TYPE_DOUBLE, s.rate, "keylock", G_TYPE_BOOLEAN, s.keylock, "key-shift", G_TYPE_DOUBLE, s.key_shift,
      "bpm", G_TYPE_DOUBLE, s.grid.bpm, "effective-bpm", G_TYPE_DOUBLE, s.grid.bpm * s.rate, "beat",
      G_TYPE_DOUBLE, beat, "beat-phase", G_TYPE_DOUBLE, s.grid.valid() ? beat - fl : 0.0, "bar", G_TYPE_INT,
      s.grid.valid() ? static_cast<int>(bar) : 0, "beat-in-bar", G_TYPE_INT, s.grid.valid() ? beat_in_bar : 0,
      "loop-active", G_TYPE_BOOLEAN, s.loop_active, "loop-start", G_TYPE_DOUBLE,
      s.loop_defined ? frames_to_s(s.loop_start) : -1.0, "loop-end", G_TYPE_DOUBLE,
      s.loop_defined ? frames_to_s(s.loop_end) : -1.0, "cue", G_TYPE_DOUBLE, frames_to_s(s.cue),
      "hotcues-set", G_TYPE_UINT, mask, "quantize", G_TYPE_BOOLEAN, s.quantize, "scratching", G_TYPE_BOOLEAN,
      s.scratching, "sync-leader", G_TYPE_STRING, leader.c_str(), "sync-engaged", G_TYPE_BOOLEAN, s.sync_engaged, nullptr);
  for (int i = 0; i < dju::kHotcues; ++i) {
    gchar name[16];
    g_snprintf(name, sizeof name, "hotcue-%d", i + 1);
    gst_structure_set(st, name, G_TYPE_DOUBLE, s.hotcues[i] >= 0 ? frames_to_s(s.hotcues[i]) : -1.0, nullptr);
  }
  return st;
}

static void post_state(GstDjDeck* self, GstClockTime ts) {
  const dju::DeckSnapshot s = self->priv->engine.snapshot();
  GstStructure* st = build_state(self, s);
  if (GST_CLOCK_TIME_IS_VALID(ts)) {
    GstSegment* seg = &GST_BASE_SRC(self)->segment;
    gst_structure_set(st, "timestamp", G_TYPE_UINT64, ts, "stream-time", G_TYPE_UINT64,
                      gst_segment_to_stream_time(seg, GST_FORMAT_TIME, ts), "running-time", G_TYPE_UINT64,
                      gst_segment_to_running_time(seg, GST_FORMAT_TIME, ts), nullptr);
  }
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
}

// Control side: report a change now (the streaming thread may be paused).
static void state_changed(GstDjDeck* self) {
  self->priv->state_dirty = true;
  post_state(self, GST_CLOCK_TIME_NONE);
  self->priv->state_dirty = false;
}

// ---------------------------------------------------------------- loading

static void on_loaded(GstDjDeck* self, bool ok, dju::LoadedTrack& r, const std::string& error) {
  DjDeckPrivate* p = self->priv;
  if (!ok) {
    {
      std::lock_guard<std::mutex> lk(p->mutex);
      p->load_state = LoadState::Error;
      p->load_error = error;
      p->analysis = dju::TrackAnalysis{};
    }
    p->load_done.notify_all();
    GST_WARNING_OBJECT(self, "cannot load %s: %s", r.location.c_str(), error.c_str());
    GST_ELEMENT_WARNING(self, RESOURCE, READ, ("Cannot load track \"%s\": %s", r.location.c_str(), error.c_str()),
                        (nullptr));
    GstStructure* st = gst_structure_new("djdeck-error", "location", G_TYPE_STRING, r.location.c_str(), "reason",
                                         G_TYPE_STRING, error.c_str(), nullptr);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
    state_changed(self);
    return;
  }
  const dju::TrackAnalysis& a = r.analysis;
  bool play;
  {
    std::lock_guard<std::mutex> lk(p->mutex);
    p->load_state = LoadState::Ready;
    p->load_error.clear();
    p->analysis = a;
    p->analysis.waveform.clear();
    p->analysis.waveform.shrink_to_fit();
    play = p->want_playing;
  }
  dju::TrackPtr old = p->engine.set_track(r.track, a.grid);
  old.reset();
  if (play) p->engine.set_playing(true);
  {
    std::lock_guard<std::mutex> lk(p->mutex);
    p->load_done.notify_all();
  }
  GST_INFO_OBJECT(self, "loaded %s: %.2f s, %.2f BPM, %s (%s); decode %.3f s, analysis %.3f s", r.location.c_str(),
                  a.duration_s, a.grid.bpm, a.key.name.c_str(), a.key.camelot.c_str(), r.decode_s, r.analyse_s);

  std::string wf;
  wf.reserve(a.waveform.size() * 3);
  for (const auto& pt : a.waveform) {
    wf.push_back(static_cast<char>(pt.low));
    wf.push_back(static_cast<char>(pt.mid));
    wf.push_back(static_cast<char>(pt.high));
  }
  gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(wf.data()), wf.size());
  GstStructure* st = gst_structure_new(
      "djdeck-track", "location", G_TYPE_STRING, r.location.c_str(), "uri", G_TYPE_STRING, r.uri.c_str(),
      "duration", G_TYPE_DOUBLE, a.duration_s, "bpm", G_TYPE_DOUBLE, a.grid.bpm, "first-beat", G_TYPE_DOUBLE,
      frames_to_s(a.grid.first_beat), "beat-period", G_TYPE_DOUBLE, a.grid.valid() ? 60.0 / a.grid.bpm : 0.0,
      "bpm-confidence", G_TYPE_DOUBLE, a.bpm_confidence, "key", G_TYPE_STRING, a.key.name.c_str(), "camelot",
      G_TYPE_STRING, a.key.camelot.c_str(), "key-confidence", G_TYPE_DOUBLE, a.key.margin, "intro-end",
      G_TYPE_DOUBLE, a.intro_end_s, "outro-start", G_TYPE_DOUBLE, a.outro_start_s, "peak", G_TYPE_DOUBLE, a.peak,
      "rms-db", G_TYPE_DOUBLE, a.rms_db, "waveform", G_TYPE_STRING, b64, "waveform-points", G_TYPE_INT,
      static_cast<int>(a.waveform.size()), "waveform-resolution", G_TYPE_DOUBLE, a.waveform_point_s,
      "decode-time", G_TYPE_DOUBLE, r.decode_s, "analysis-time", G_TYPE_DOUBLE, r.analyse_s, nullptr);
  g_free(b64);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
  g_object_notify(G_OBJECT(self), "bpm");
  g_object_notify(G_OBJECT(self), "duration");
  state_changed(self);
}

static void start_load(GstDjDeck* self, const std::string& location) {
  DjDeckPrivate* p = self->priv;
  {
    std::lock_guard<std::mutex> lk(p->mutex);
    p->location = location;
    p->want_playing = false;
    p->analysis = dju::TrackAnalysis{};
    p->load_error.clear();
    p->load_state = location.empty() ? LoadState::Empty : LoadState::Loading;
  }
  dju::TrackPtr old = p->engine.unload();  // a new track stops the deck; silence until it is in
  old.reset();
  if (location.empty()) {
    p->loader->cancel();
  } else {
    GST_INFO_OBJECT(self, "loading %s", location.c_str());
    p->loader->request(location);
  }
}

// ---------------------------------------------------------------- actions

static GstDjDeck* find_leader(GstDjDeck* self, const std::string& name) {
  if (name.empty()) return nullptr;
  GstObject* top = GST_OBJECT(gst_object_ref(self));
  while (GstObject* parent = gst_object_get_parent(top)) {
    gst_object_unref(top);
    top = parent;
  }
  GstElement* found = GST_IS_BIN(top) ? gst_bin_get_by_name(GST_BIN(top), name.c_str()) : nullptr;
  gst_object_unref(top);
  if (found && (!GST_IS_DJDECK(found) || found == GST_ELEMENT(self))) {
    gst_object_unref(found);
    found = nullptr;
  }
  return found ? GST_DJDECK(found) : nullptr;
}

bool gst_djdeck_get_snapshot(GstDjDeck* deck, dju::DeckSnapshot* out) {
  g_return_val_if_fail(GST_IS_DJDECK(deck) && out, false);
  *out = deck->priv->engine.snapshot();
  return out->loaded;
}

static gboolean gst_djdeck_action(GstDjDeck* self, const gchar* cname, gint index, gdouble value) {
  if (!cname) return FALSE;
  DjDeckPrivate* p = self->priv;
  dju::DeckEngine& e = p->engine;
  const std::string name = cname;
  bool ok = false;
  if (name == "play" || name == "pause" || name == "play-toggle") {
    bool play = name == "play" || (name == "play-toggle" && !e.snapshot().playing);
    {
      std::lock_guard<std::mutex> lk(p->mutex);
      p->want_playing = play;
    }
    e.set_playing(play);
    ok = true;
  } else if (name == "cue") {
    ok = e.cue(value >= 0.5);
  } else if (name == "hotcue") {
    ok = e.hotcue(index);
  } else if (name == "hotcue-set") {
    ok = e.hotcue_set(index);
  } else if (name == "hotcue-clear") {
    ok = e.hotcue_clear(index);
  } else if (name == "loop-in") {
    ok = e.loop_in();
  } else if (name == "loop-out") {
    ok = e.loop_out();
  } else if (name == "loop-exit") {
    ok = e.loop_exit();
  } else if (name == "reloop") {
    ok = e.reloop();
  } else if (name == "beatloop") {
    ok = e.beatloop(value);
  } else if (name == "loop-halve") {
    ok = e.loop_halve();
  } else if (name == "loop-double") {
    ok = e.loop_double();
  } else if (name == "beatjump") {
    ok = e.beatjump(value);
  } else if (name == "nudge") {
    ok = e.nudge(value);
  } else if (name == "jog") {
    ok = e.jog(value);
  } else if (name == "scratch") {
    ok = e.scratch(value >= 0.5);
  } else if (name == "sync" && value < 0) {
    e.sync_off();
    g_weak_ref_set(&p->sync_leader_ref, nullptr);
    ok = true;
  } else if (name == "sync") {
    std::string leader_name;
    {
      std::lock_guard<std::mutex> lk(p->mutex);
      leader_name = p->sync_leader;
    }
    if (GstDjDeck* leader = find_leader(self, leader_name)) {
      dju::DeckSnapshot ls;
      if (gst_djdeck_get_snapshot(leader, &ls)) ok = e.sync_to(ls);
      if (ok) g_weak_ref_set(&p->sync_leader_ref, leader);
      gst_object_unref(leader);
    }
  } else {
    GST_DEBUG_OBJECT(self, "unknown action '%s'", cname);
    return FALSE;
  }
  GST_DEBUG_OBJECT(self, "action %s %d %f -> %d", cname, index, value, ok);
  if (ok) state_changed(self);
  return ok ? TRUE : FALSE;
}

// ---------------------------------------------------------------- GObject

static void gst_djdeck_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstDjDeck* self = GST_DJDECK(object);
  DjDeckPrivate* p = self->priv;
  bool changed = true;
  switch (prop_id) {
    case PROP_LOCATION: {
      const gchar* s = g_value_get_string(value);
      start_load(self, s ? s : "");
      break;
    }
    case PROP_PLAYING: {
      const bool play = g_value_get_boolean(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->want_playing = play;
      }
      p->engine.set_playing(play);
      break;
    }
    case PROP_TEMPO: {
      const double t = g_value_get_double(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->tempo = t;
      }
      p->engine.set_tempo(t);
      break;
    }
    case PROP_KEYLOCK: {
      const bool on = g_value_get_boolean(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->keylock = on;
      }
      p->engine.set_keylock(on);
      break;
    }
    case PROP_KEY_SHIFT: {
      const double k = g_value_get_double(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->key_shift = k;
      }
      p->engine.set_key_shift(k);
      break;
    }
    case PROP_POSITION:
      p->engine.seek(g_value_get_double(value) * kRateD);
      break;
    case PROP_QUANTIZE: {
      const bool on = g_value_get_boolean(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->quantize = on;
      }
      p->engine.set_quantize(on);
      break;
    }
    case PROP_SYNC_LEADER: {
      const gchar* s = g_value_get_string(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        if (p->sync_leader == (s ? s : "")) break;
        p->sync_leader = s ? s : "";
      }
      p->engine.sync_off();  // a new leader: sync again to follow it
      g_weak_ref_set(&p->sync_leader_ref, nullptr);
      break;
    }
    case PROP_IS_LIVE:
      p->is_live = g_value_get_boolean(value);
      gst_base_src_set_live(GST_BASE_SRC(self), p->is_live);
      changed = false;
      break;
    case PROP_SAMPLES_PER_BUFFER: {
      const gint n = g_value_get_int(value);
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        p->samples_per_buffer = n;
      }
      gst_base_src_set_blocksize(GST_BASE_SRC(self), static_cast<guint>(n) * 8);
      changed = false;
      break;
    }
    case PROP_REPORT_INTERVAL: {
      std::lock_guard<std::mutex> lk(p->mutex);
      p->report_interval = g_value_get_uint64(value);
      changed = false;
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      return;
  }
  if (changed && prop_id != PROP_LOCATION) state_changed(self);
}

static void gst_djdeck_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstDjDeck* self = GST_DJDECK(object);
  DjDeckPrivate* p = self->priv;
  switch (prop_id) {
    case PROP_LOCATION: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_string(value, p->location.empty() ? nullptr : p->location.c_str());
      break;
    }
    case PROP_PLAYING: {
      bool loading;
      bool want;
      {
        std::lock_guard<std::mutex> lk(p->mutex);
        loading = p->load_state == LoadState::Loading;
        want = p->want_playing;
      }
      g_value_set_boolean(value, loading ? want : p->engine.snapshot().playing);
      break;
    }
    case PROP_TEMPO:
      g_value_set_double(value, p->engine.snapshot().tempo);
      break;
    case PROP_KEYLOCK: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_boolean(value, p->keylock);
      break;
    }
    case PROP_KEY_SHIFT: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_double(value, p->key_shift);
      break;
    }
    case PROP_POSITION:
      g_value_set_double(value, frames_to_s(p->engine.snapshot().position));
      break;
    case PROP_DURATION:
      g_value_set_double(value, frames_to_s(p->engine.snapshot().frames));
      break;
    case PROP_BPM: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_double(value, p->analysis.grid.bpm);
      break;
    }
    case PROP_FIRST_BEAT: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_double(value, frames_to_s(p->analysis.grid.first_beat));
      break;
    }
    case PROP_KEY: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_string(value, p->analysis.key.name.c_str());
      break;
    }
    case PROP_CAMELOT: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_string(value, p->analysis.key.camelot.c_str());
      break;
    }
    case PROP_INTRO_END: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_double(value, p->analysis.intro_end_s);
      break;
    }
    case PROP_OUTRO_START: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_double(value, p->analysis.outro_start_s);
      break;
    }
    case PROP_LOAD_STATE: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_string(value, load_state_name(p->load_state));
      break;
    }
    case PROP_QUANTIZE: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_boolean(value, p->quantize);
      break;
    }
    case PROP_SYNC_LEADER: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_string(value, p->sync_leader.c_str());
      break;
    }
    case PROP_IS_LIVE:
      g_value_set_boolean(value, p->is_live);
      break;
    case PROP_SAMPLES_PER_BUFFER: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_int(value, p->samples_per_buffer);
      break;
    }
    case PROP_REPORT_INTERVAL: {
      std::lock_guard<std::mutex> lk(p->mutex);
      g_value_set_uint64(value, p->report_interval);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
}

// Stops the loader and waits until its callback (which touches the element) cannot run any more.
// A load it cut short is remembered and restarts when the element is brought up again.
static void stop_loader(GstDjDeck* self) {
  DjDeckPrivate* p = self->priv;
  p->loader->cancel_and_wait();
  std::lock_guard<std::mutex> lk(p->mutex);
  if (p->load_state == LoadState::Loading) p->resume_load = true;
}

static GstStateChangeReturn gst_djdeck_change_state(GstElement* element, GstStateChange transition) {
  GstDjDeck* self = GST_DJDECK(element);
  DjDeckPrivate* p = self->priv;
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    std::string resume;
    {
      std::lock_guard<std::mutex> lk(p->mutex);
      if (p->resume_load && p->load_state == LoadState::Loading) resume = p->location;
      p->resume_load = false;
    }
    if (!resume.empty()) {
      GST_INFO_OBJECT(self, "loading %s again (cut short by the last shutdown)", resume.c_str());
      p->loader->request(resume);
    }
  }
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_djdeck_parent_class)->change_state(element, transition);
  // Going down: no load may finish (and touch the element) once it is in NULL, where the
  // application is free to drop it.
  if (transition == GST_STATE_CHANGE_READY_TO_NULL) stop_loader(self);
  return ret;
}

static void gst_djdeck_dispose(GObject* object) {
  GstDjDeck* self = GST_DJDECK(object);
  if (self->priv && self->priv->loader) stop_loader(self);
  G_OBJECT_CLASS(gst_djdeck_parent_class)->dispose(object);
}

static void gst_djdeck_finalize(GObject* object) {
  GstDjDeck* self = GST_DJDECK(object);
  self->priv->loader.reset();  // joins the loader before anything it touches goes away
  g_weak_ref_clear(&self->priv->sync_leader_ref);
  delete self->priv;
  G_OBJECT_CLASS(gst_djdeck_parent_class)->finalize(object);
}

// ---------------------------------------------------------------- GstBaseSrc

static gboolean gst_djdeck_start(GstBaseSrc* src) {
  DjDeckPrivate* p = GST_DJDECK(src)->priv;
  p->next_sample = 0;
  p->started = false;
  p->last_report = GST_CLOCK_TIME_NONE;
  p->last_playing = false;
  return TRUE;
}

static gboolean gst_djdeck_stop(GstBaseSrc* src) {
  (void)src;
  return TRUE;
}

static gboolean gst_djdeck_unlock(GstBaseSrc* src) {
  DjDeckPrivate* p = GST_DJDECK(src)->priv;
  std::lock_guard<std::mutex> lk(p->mutex);
  p->flushing = true;
  p->load_done.notify_all();
  return TRUE;
}

static gboolean gst_djdeck_unlock_stop(GstBaseSrc* src) {
  DjDeckPrivate* p = GST_DJDECK(src)->priv;
  std::lock_guard<std::mutex> lk(p->mutex);
  p->flushing = false;
  return TRUE;
}

static gboolean gst_djdeck_is_seekable(GstBaseSrc* src) {
  (void)src;
  return FALSE;  // the deck's output is a continuous performance; `position` seeks the track
}

static void gst_djdeck_get_times(GstBaseSrc* src, GstBuffer* buffer, GstClockTime* start, GstClockTime* end) {
  // Live: basesrc waits for the clock to reach each buffer's time.
  if (gst_base_src_is_live(src)) {
    GstClockTime ts = GST_BUFFER_PTS(buffer);
    if (GST_CLOCK_TIME_IS_VALID(ts)) {
      *start = ts;
      GstClockTime d = GST_BUFFER_DURATION(buffer);
      *end = GST_CLOCK_TIME_IS_VALID(d) ? ts + d : GST_CLOCK_TIME_NONE;
      return;
    }
  }
  *start = GST_CLOCK_TIME_NONE;
  *end = GST_CLOCK_TIME_NONE;
}

static gboolean gst_djdeck_query(GstBaseSrc* src, GstQuery* query) {
  if (GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    DjDeckPrivate* p = GST_DJDECK(src)->priv;
    gint spb;
    {
      std::lock_guard<std::mutex> lk(p->mutex);
      spb = p->samples_per_buffer;
    }
    const bool live = gst_base_src_is_live(src);
    // A live deck produces a buffer once its last sample's time has come: one buffer of latency.
    const GstClockTime lat = live ? gst_util_uint64_scale_int(spb, GST_SECOND, kRate) : 0;
    gst_query_set_latency(query, live, lat, lat);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS(gst_djdeck_parent_class)->query(src, query);
}

// Downstream often proposes no buffer pool (fakesink, most in-place filters, queues before a
// mixer); GstBaseSrc then allocates and frees every 256-frame block. A pool of the deck's own
// recycles them instead. samples-per-buffer is fixed from READY on, so the pool's size holds.
static gboolean gst_djdeck_decide_allocation(GstBaseSrc* src, GstQuery* query) {
  if (gst_query_get_n_allocation_pools(query) == 0) {
    GstBufferPool* pool = gst_buffer_pool_new();
    gst_query_add_allocation_pool(query, pool, gst_base_src_get_blocksize(src), 0, 0);
    gst_object_unref(pool);
  }
  return GST_BASE_SRC_CLASS(gst_djdeck_parent_class)->decide_allocation(src, query);
}

static GstFlowReturn gst_djdeck_fill(GstBaseSrc* src, guint64 offset, guint size, GstBuffer* buf) {
  (void)offset;
  GstDjDeck* self = GST_DJDECK(src);
  DjDeckPrivate* p = self->priv;
  const guint frames = size / 8;
  if (frames == 0) return GST_FLOW_ERROR;

  if (!p->started) {
    p->started = true;
    // Live: the sample counter starts at the running time we start at, so that every deck of a
    // pipeline shares one timeline (sync relies on it) and buffers are not all late.
    if (gst_base_src_is_live(src)) {
      GstClock* clock = gst_element_get_clock(GST_ELEMENT(src));
      if (clock) {
        const GstClockTime now = gst_clock_get_time(clock);
        const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(src));
        if (now > base) p->next_sample = gst_util_uint64_scale_int(now - base, kRate, GST_SECOND);
        gst_object_unref(clock);
      }
    }
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
  }

  // Not live (rendering, benchmarks): wait for a track being loaded rather than render silence
  // as fast as possible. Live decks keep time with silence instead.
  if (!gst_base_src_is_live(src)) {
    std::unique_lock<std::mutex> lk(p->mutex);
    p->load_done.wait(lk, [p] { return p->flushing || p->load_state != LoadState::Loading; });
    if (p->flushing) return GST_FLOW_FLUSHING;
  }

  const GstClockTime ts = gst_util_uint64_scale_int(p->next_sample, GST_SECOND, kRate);
  gst_object_sync_values(GST_OBJECT(self), ts);

  // Sync engaged: follow the leader's tempo and beat phase (its latest state, extrapolated).
  if (p->engine.sync_engaged()) {
    if (GObject* leader = static_cast<GObject*>(g_weak_ref_get(&p->sync_leader_ref))) {
      dju::DeckSnapshot ls;
      if (gst_djdeck_get_snapshot(GST_DJDECK(leader), &ls)) p->engine.follow(ls);
      g_object_unref(leader);
    }
  }

  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_WRITE)) return GST_FLOW_ERROR;
  p->engine.render(reinterpret_cast<float*>(map.data), frames, static_cast<int64_t>(p->next_sample));
  gst_buffer_unmap(buf, &map);
  gst_buffer_set_size(buf, static_cast<gssize>(frames) * 8);

  const guint64 next = p->next_sample + frames;
  GST_BUFFER_PTS(buf) = ts;
  GST_BUFFER_DTS(buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION(buf) = gst_util_uint64_scale_int(next, GST_SECOND, kRate) - ts;
  GST_BUFFER_OFFSET(buf) = p->next_sample;
  GST_BUFFER_OFFSET_END(buf) = next;
  p->next_sample = next;

  // Reports: every report-interval while playing, and when playing stops by itself (track end).
  guint64 interval;
  {
    std::lock_guard<std::mutex> lk(p->mutex);
    interval = p->report_interval;
  }
  const dju::DeckSnapshot s = p->engine.snapshot();
  bool report = s.playing != p->last_playing;
  if (s.playing && interval > 0 &&
      (!GST_CLOCK_TIME_IS_VALID(p->last_report) || ts >= p->last_report + interval))
    report = true;
  p->last_playing = s.playing;
  if (report) {
    p->last_report = ts;
    post_state(self, ts);
  }
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- class

static void gst_djdeck_init(GstDjDeck* self) {
  self->priv = new DjDeckPrivate();
  g_weak_ref_init(&self->priv->sync_leader_ref, nullptr);
  GstDjDeck* me = self;
  self->priv->loader = std::make_unique<dju::TrackLoader>(
      [me](bool ok, dju::LoadedTrack& r, const std::string& error, uint64_t) { on_loaded(me, ok, r, error); });
  gst_base_src_set_format(GST_BASE_SRC(self), GST_FORMAT_TIME);
  gst_base_src_set_live(GST_BASE_SRC(self), DEFAULT_IS_LIVE);
  gst_base_src_set_blocksize(GST_BASE_SRC(self), DEFAULT_SAMPLES_PER_BUFFER * 8);
}

static void gst_djdeck_class_init(GstDjDeckClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstBaseSrcClass* basesrc_class = GST_BASE_SRC_CLASS(klass);

  GST_DEBUG_CATEGORY_INIT(djdeck_debug, "djdeck", 0, "DJ deck");

  gobject_class->set_property = gst_djdeck_set_property;
  gobject_class->get_property = gst_djdeck_get_property;
  gobject_class->dispose = gst_djdeck_dispose;
  gobject_class->finalize = gst_djdeck_finalize;
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_djdeck_change_state);

  const GParamFlags rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const GParamFlags live = static_cast<GParamFlags>(rw | GST_PARAM_CONTROLLABLE);
  const GParamFlags ro = static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_property(gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Location", "Track to load: a file path or a URI (loads in the background)",
                          nullptr, rw));
  g_object_class_install_property(gobject_class, PROP_PLAYING,
      g_param_spec_boolean("playing", "Playing", "The deck is playing (set before the track is in: start on load)",
                           FALSE, live));
  g_object_class_install_property(gobject_class, PROP_TEMPO,
      g_param_spec_double("tempo", "Tempo", "Playback rate, 1.0 = original tempo", 0.5, 2.0, 1.0, live));
  g_object_class_install_property(gobject_class, PROP_KEYLOCK,
      g_param_spec_boolean("keylock", "Keylock", "Tempo changes keep the pitch (SoundTouch); off = varispeed",
                           FALSE, live));
  g_object_class_install_property(gobject_class, PROP_KEY_SHIFT,
      g_param_spec_double("key-shift", "Key shift", "Pitch shift in semitones", -12.0, 12.0, 0.0, live));
  g_object_class_install_property(gobject_class, PROP_POSITION,
      g_param_spec_double("position", "Position", "Playhead in seconds of the track (write = seek)", 0.0,
                          G_MAXDOUBLE, 0.0, rw));
  g_object_class_install_property(gobject_class, PROP_DURATION,
      g_param_spec_double("duration", "Duration", "Length of the loaded track in seconds", 0.0, G_MAXDOUBLE, 0.0,
                          ro));
  g_object_class_install_property(gobject_class, PROP_BPM,
      g_param_spec_double("bpm", "BPM", "Detected tempo of the track (0 = none)", 0.0, 1000.0, 0.0, ro));
  g_object_class_install_property(gobject_class, PROP_FIRST_BEAT,
      g_param_spec_double("first-beat", "First beat", "Beat grid origin in seconds", -G_MAXDOUBLE, G_MAXDOUBLE,
                          0.0, ro));
  g_object_class_install_property(gobject_class, PROP_KEY,
      g_param_spec_string("key", "Key", "Detected musical key, e.g. \"A minor\"", "", ro));
  g_object_class_install_property(gobject_class, PROP_CAMELOT,
      g_param_spec_string("camelot", "Camelot", "Detected key as a Camelot code, e.g. \"8A\"", "", ro));
  g_object_class_install_property(gobject_class, PROP_INTRO_END,
      g_param_spec_double("intro-end", "Intro end", "Where the full groove starts (s)", 0.0, G_MAXDOUBLE, 0.0, ro));
  g_object_class_install_property(gobject_class, PROP_OUTRO_START,
      g_param_spec_double("outro-start", "Outro start", "Where the full groove ends (s)", 0.0, G_MAXDOUBLE, 0.0,
                          ro));
  g_object_class_install_property(gobject_class, PROP_LOAD_STATE,
      g_param_spec_string("load-state", "Load state", "empty, loading, ready or error", "empty", ro));
  g_object_class_install_property(gobject_class, PROP_QUANTIZE,
      g_param_spec_boolean("quantize", "Quantize", "Set points snap to the beat grid; jumps keep the beat phase",
                           FALSE, live));
  g_object_class_install_property(gobject_class, PROP_SYNC_LEADER,
      g_param_spec_string("sync-leader", "Sync leader", "Name of the djdeck that the sync action follows", "",
                          rw));
  g_object_class_install_property(gobject_class, PROP_IS_LIVE,
      g_param_spec_boolean("is-live", "Is live", "Produce data in real time (else as fast as possible)",
                           DEFAULT_IS_LIVE, static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(gobject_class, PROP_SAMPLES_PER_BUFFER,
      g_param_spec_int("samples-per-buffer", "Samples per buffer", "Frames in each output buffer", 16, 8192,
                       DEFAULT_SAMPLES_PER_BUFFER, static_cast<GParamFlags>(rw | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(gobject_class, PROP_REPORT_INTERVAL,
      g_param_spec_uint64("report-interval", "Report interval",
                          "Nanoseconds between djdeck-state messages while playing (0 = only on changes)", 0,
                          G_MAXUINT64, DEFAULT_REPORT_INTERVAL, rw));

  djdeck_signals[SIGNAL_ACTION] = g_signal_new_class_handler(
      "action", G_TYPE_FROM_CLASS(klass), static_cast<GSignalFlags>(G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION),
      G_CALLBACK(gst_djdeck_action), nullptr, nullptr, nullptr, G_TYPE_BOOLEAN, 3, G_TYPE_STRING, G_TYPE_INT,
      G_TYPE_DOUBLE);

  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(element_class, "DJ deck", "Source/Audio",
                                        "Plays a track like a CDJ: cue, hotcues, loops, tempo/keylock, scratch, sync",
                                        "DJ Universe");

  basesrc_class->start = gst_djdeck_start;
  basesrc_class->stop = gst_djdeck_stop;
  basesrc_class->is_seekable = gst_djdeck_is_seekable;
  basesrc_class->unlock = gst_djdeck_unlock;
  basesrc_class->unlock_stop = gst_djdeck_unlock_stop;
  basesrc_class->get_times = gst_djdeck_get_times;
  basesrc_class->query = gst_djdeck_query;
  basesrc_class->fill = gst_djdeck_fill;
  basesrc_class->decide_allocation = gst_djdeck_decide_allocation;
}
