/**
 * SECTION:element-djjudge
 * @title: djjudge
 *
 * The battle's judge. Each request sink pad `deck_%u` (deck_0 … deck_3) receives what one deck
 * contributes to the master — after its EQ, channel fader and crossfader — so the judge hears what the
 * audience hears. Pads are lined up by running time; a deck that has delivered nothing yet is
 * silence. Live decks never wait; a deck rendered from a file waits (at most a ring of 1.4 s ahead)
 * for the others while they make progress, and judges one that stalls for 3 s as silent. A deck
 * whose audio comes later than the judge has got (paced with `identity sync=true ts-offset=…`,
 * which delays buffers without changing their timestamps) is heard when it arrives; but a live deck
 * whose late first buffers are followed by a backlog that outruns the clock (held on the way, by a
 * busy queue) keeps its running time, as a live mixer plays it. When every pad
 * has reached EOS, an open transition is closed and its `final` message is posted before the EOS
 * message. The element finds each transition (the mix
 * handing over from one deck to another: the blend starts when a second deck becomes audible next to
 * the playing one, the handover when it gets louder, the end when the outgoing deck is gone) and
 * scores it 0–100. NaN samples are heard as silence, infinities and samples beyond ±16 as ±16
 * (+24 dBFS, reported as clipping): a corrupt float file never leaves the judge without a verdict.
 *
 * Score: a weighted mean of beat alignment 30, tempo match 20, key compatibility 10, bass clash 15,
 * level continuity 10, clipping 10 and phrase alignment 5, capped at 40 + 0.6 × min(beat alignment,
 * tempo match) and at 50 + 0.5 × bass clash, so a trainwreck or a long bass clash is never rescued by
 * clean levels. The same audio always gives the same score.
 *
 * Pad properties: `bpm` (the deck's tempo as played; 0 = measure it from the audio) and `key` (Camelot
 * "8A" or a key name "A minor"; empty = measure it from the audio). The server knows both from the
 * deck's analysis.
 *
 * Messages: element messages named `djjudge`:
 *
 * - `phase` (#gchararray): "live" while a blend is on (events "start", "progress" every second,
 *   "handover"), "final" once per transition (event "end").
 * - `event` (#gchararray): "start", "progress", "handover" or "end".
 * - `incoming`, `outgoing` (#guint): pad indices (deck_N → N) of the deck coming in and going out.
 * - `running-time` (#guint64): when the message was made; `start-time`, `handover-time` (or
 *   GST_CLOCK_TIME_NONE before the handover), `end-time` (#guint64): running times of the blend.
 * - `score` (#gdouble): 0–100 (so far, for live messages).
 * - `beat-alignment`, `tempo-match`, `key-compatibility`, `bass-clash`, `level-continuity`,
 *   `clipping`, `phrase-alignment` (#gdouble): the breakdown, each 0–100.
 * - `weakest` (#gchararray): name of the weakest part below 80 (as above), or "".
 * - `feedback` (#gchararray): one plain sentence per weakness, weakest first, or praise.
 * - `hint` (#gchararray): what to do right now (live messages; also set on final ones).
 * - `phase-error-ms` (#gdouble): mean absolute offset between the decks' beats while both were heard;
 *   `phase-offset-ms` (#gdouble): the latest signed offset (+ = incoming late);
 *   `phase-measurements` (#gint).
 * - `incoming-bpm`, `outgoing-bpm`, `tempo-difference` (#gdouble, BPM and percent).
 * - `incoming-key`, `outgoing-key` (#gchararray): Camelot codes, "?" when unknown.
 * - `bass-clash-seconds` (#gdouble): time with both bass bands full.
 * - `loudness-before`, `loudness-after` (#gdouble, LUFS, EBU R128 short-term of the sum),
 *   `loudness-jump`, `loudness-dip` (#gdouble, LU against the louder / quieter of before and after).
 * - `clipped-percent` (#gdouble), `peak` (#gdouble, dBFS of the sum).
 * - `phrase-offset` (#gdouble): beats between the blend's start and the nearest 16-bar boundary of the
 *   outgoing track (counted from when that deck started playing).
 *
 * djjudge is a sink that prerolls like a #GstBaseSink, over all its pads: going to PAUSED is ASYNC
 * and completes once every linked pad has a buffer, a GAP or EOS; in PAUSED the streaming threads
 * wait with their data until PLAYING (or a flush, READY, or the pad's release); going back from
 * PLAYING to PAUSED prerolls again, and so does a flushing seek. With live decks the pipeline plays
 * at once (their sources do not preroll) and a live deck never waits at all. It can be the
 * only sink of a pipeline: EOS is posted once, when every pad has reached EOS and the pipeline
 * plays, after the last `final` message. The latency query is answered from all pads' upstream
 * (combined as a bin does), as not live: the judge does not sync to the clock, so it never holds
 * the pipeline's latency. `async=false` (as on a base sink) makes the state changes complete at once;
 * the streaming threads still wait in PAUSED. When its pads have prerolled while another element that
 * is not a sink (a decodebin feeding some other branch) is still prerolling, the judge commits after
 * it, so that the pipeline's own PAUSED is always decided by a sink (GstBin 1.22 can otherwise lose
 * the EOS of a pipeline set to PLAYING the moment it reports PAUSED, as gst-launch does).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -m djjudge name=j \
 *   filesrc location=a.flac ! decodebin ! audioconvert ! audioresample ! j.deck_0 \
 *   filesrc location=b.flac ! decodebin ! audioconvert ! audioresample ! j.deck_1
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstdjjudge.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "analysis/transition_judge.h"

GST_DEBUG_CATEGORY_STATIC(gst_dj_judge_debug);
#define GST_CAT_DEFAULT gst_dj_judge_debug

#define JUDGE_RATE 48000
#define JUDGE_CAPS \
  "audio/x-raw, format = (string) " GST_AUDIO_NE_F32 ", rate = (int) 48000, channels = (int) 2, " \
  "layout = (string) interleaved"
#ifndef GST_AUDIO_NE_F32
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
#define GST_AUDIO_NE_F32 "F32LE"
#else
#define GST_AUDIO_NE_F32 "F32BE"
#endif
#endif

static constexpr int kMaxDecks = dju::TransitionJudge::kMaxDecks;
static constexpr int64_t kRingFrames = 1 << 16;  // 1.4 s per deck: how far one pad may run ahead
static constexpr int64_t kChunk = 4096;

/* ---------------- pad ---------------- */

enum { PROP_PAD_0, PROP_PAD_BPM, PROP_PAD_KEY };

struct _GstDjJudgePad {
  GstPad parent;
  // GST_OBJECT_LOCK
  gdouble bpm;
  gchar* key;
  // Streaming thread of this pad only.
  gboolean live_checked;
  gboolean live;  // upstream is live: never wait for the other decks
};

G_DEFINE_TYPE(GstDjJudgePad, gst_dj_judge_pad, GST_TYPE_PAD);

static void gst_dj_judge_pad_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstDjJudgePad* pad = GST_DJ_JUDGE_PAD(object);
  GST_OBJECT_LOCK(pad);
  switch (id) {
    case PROP_PAD_BPM:
      pad->bpm = g_value_get_double(value);
      break;
    case PROP_PAD_KEY:
      g_free(pad->key);
      pad->key = g_value_dup_string(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(pad);
}

static void gst_dj_judge_pad_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstDjJudgePad* pad = GST_DJ_JUDGE_PAD(object);
  GST_OBJECT_LOCK(pad);
  switch (id) {
    case PROP_PAD_BPM:
      g_value_set_double(value, pad->bpm);
      break;
    case PROP_PAD_KEY:
      g_value_set_string(value, pad->key ? pad->key : "");
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
  GST_OBJECT_UNLOCK(pad);
}

static void gst_dj_judge_pad_finalize(GObject* object) {
  g_free(GST_DJ_JUDGE_PAD(object)->key);
  G_OBJECT_CLASS(gst_dj_judge_pad_parent_class)->finalize(object);
}

static void gst_dj_judge_pad_class_init(GstDjJudgePadClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  gobject_class->set_property = gst_dj_judge_pad_set_property;
  gobject_class->get_property = gst_dj_judge_pad_get_property;
  gobject_class->finalize = gst_dj_judge_pad_finalize;
  g_object_class_install_property(
      gobject_class, PROP_PAD_BPM,
      g_param_spec_double("bpm", "BPM", "The deck's tempo as played (0 = measure it from the audio)", 0.0, 400.0,
                          0.0, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property(
      gobject_class, PROP_PAD_KEY,
      g_param_spec_string("key", "Key", "The deck's key, Camelot (\"8A\") or a name (\"A minor\"); empty = measure",
                          "", static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
}

static void gst_dj_judge_pad_init(GstDjJudgePad* pad) {
  pad->bpm = 0.0;
  pad->key = nullptr;
  pad->live_checked = FALSE;
  pad->live = FALSE;
}

/* ---------------- element ---------------- */

// The judge's timeline: frame f is running time f / 48000 s. Each deck's audio lands on the frames its
// running time gives; what a deck has not delivered is silence. A non-live deck whose audio arrives
// after the judge has moved past it (paced by `identity sync=true`, or stalled for a while) is
// re-anchored to the judge's "now", so it is heard when it arrives instead of being dropped; a live
// deck's late audio is dropped (its running time is the truth). A non-live deck never runs more than
// a ring ahead of the others: it waits for them while they make progress, and judges a deck that
// delivered nothing for kStall as silent.
static constexpr int64_t kResyncFrames = JUDGE_RATE / 25;  // 40 ms: a timestamp jump larger than this resyncs
// 200 ms: a re-anchored live deck this far ahead of the clock is draining a backlog (a paced one
// arrives on time; the scheduler's jitter on a loaded machine stays well below).
static constexpr int64_t kBacklogFrames = JUDGE_RATE / 5;
static constexpr auto kStall = std::chrono::seconds(3);

struct DeckInput {
  GstDjJudgePad* pad = nullptr;  // weak; set while requested
  bool started = false;          // received audio since the last flush
  bool eos = false;
  bool skipped = false;          // stalled: judged as silence until it delivers again
  bool live = false;
  bool flushing = false;         // between FLUSH_START and FLUSH_STOP on this pad
  bool prerolled = false;        // holds a buffer, or had a GAP or EOS, since the element needed preroll
  bool holding = false;          // its streaming thread holds a buffer (or a GAP) here, at the gate or past it
  bool paced = false;            // its latest buffer came no earlier than its running time (or live)
  int64_t start_pos = 0;         // judge frame of its first sample (frames before are silence)
  int64_t write_pos = 0;         // judge frame of the next sample to write
  int64_t shift = 0;             // frames added to the running-time position (re-anchoring)
  // A live deck re-anchored because its first buffer came late: until `watch_until` (a running-time
  // frame of its own) a backlog that outruns the clock says it was held on the way (a busy queue),
  // not started late, and takes the re-anchoring back.
  int64_t watch_until = -1;
  GstSegment segment;
  std::vector<float> ring = std::vector<float>(2 * kRingFrames, 0.0f);
  std::vector<float> chunk = std::vector<float>(2 * kChunk, 0.0f);
};

struct GstDjJudgePrivate {
  std::mutex lock;  // everything below; held by a streaming thread only while it writes or judges a chunk
  std::condition_variable cond;
  std::array<DeckInput, kMaxDecks> decks;
  dju::TransitionJudge judge{JUDGE_RATE, kMaxDecks};
  bool running = false;   // judging has begun: `first` and `processed` are valid
  int64_t first = 0;      // judge frame of the judge's time 0
  int64_t processed = 0;  // next judge frame to judge
  uint64_t activity = 0;  // buffers and events seen on any pad (to tell a stalled deck from a slow one)
  bool eos_posted = false;
  // Prerolling, as a GstBaseSink does it but over every linked pad. `stopping`: going to READY (every
  // wait ends); `need_preroll`: in PAUSED, streaming threads wait at the preroll gate; `async_pending`:
  // an ASYNC state change waits for every linked pad to preroll; `playing`: PLAYING (or committing to
  // it), so that the clock's running time tells paced decks from free ones.
  bool stopping = true;
  bool need_preroll = false;
  bool async_pending = false;
  bool commit_deferred = false;  // prerolled, but waiting for another element's preroll (try_commit)
  std::atomic<bool> playing{false};
  std::atomic<bool> async_enabled{true};  // `async`: go to PAUSED asynchronously (GstBaseSink's property)
  std::condition_variable preroll_cond;
  // Orders commits from the streaming threads with the state changes (GstBaseSink's PREROLL_LOCK);
  // taken before `lock`, never while a streaming thread waits. Messages about the state are posted
  // with it held, so that an async-done never crosses a state change.
  std::mutex state_lock;
};

struct _GstDjJudge {
  GstElement parent;
  GstDjJudgePrivate* priv;
};

G_DEFINE_TYPE(GstDjJudge, gst_dj_judge, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE(djjudge, "djjudge", GST_RANK_NONE, GST_TYPE_DJ_JUDGE);

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("deck_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS(JUDGE_CAPS));

static int pad_index(GstDjJudge* self, GstPad* pad) {
  for (int i = 0; i < kMaxDecks; ++i)
    if (self->priv->decks[i].pad == GST_DJ_JUDGE_PAD(pad)) return i;
  return -1;
}

static GstClockTime frames_to_time(int64_t frames) {
  return frames <= 0 ? 0 : gst_util_uint64_scale_round(static_cast<guint64>(frames), GST_SECOND, JUDGE_RATE);
}

static GstMessage* report_message(GstDjJudge* self, const dju::JudgeReport& r, GstClockTime origin) {
  auto rt = [&](double s) -> guint64 {
    return s < 0 ? GST_CLOCK_TIME_NONE : origin + static_cast<guint64>(s * GST_SECOND + 0.5);
  };
  char kin[8], kout[8];
  dju::camelot_format(r.incoming_key, kin, sizeof kin);
  dju::camelot_format(r.outgoing_key, kout, sizeof kout);
  GstStructure* s = gst_structure_new(
      "djjudge", "phase", G_TYPE_STRING, r.final ? "final" : "live", "event", G_TYPE_STRING, r.event, "incoming",
      G_TYPE_UINT, static_cast<guint>(r.incoming), "outgoing", G_TYPE_UINT, static_cast<guint>(r.outgoing),
      "running-time", G_TYPE_UINT64, rt(r.now_s), "start-time", G_TYPE_UINT64, rt(r.start_s), "handover-time",
      G_TYPE_UINT64, rt(r.handover_s), "end-time", G_TYPE_UINT64, rt(r.end_s), "score", G_TYPE_DOUBLE, r.score,
      "beat-alignment", G_TYPE_DOUBLE, r.parts.beat, "tempo-match", G_TYPE_DOUBLE, r.parts.tempo,
      "key-compatibility", G_TYPE_DOUBLE, r.parts.key, "bass-clash", G_TYPE_DOUBLE, r.parts.bass,
      "level-continuity", G_TYPE_DOUBLE, r.parts.level, "clipping", G_TYPE_DOUBLE, r.parts.clipping,
      "phrase-alignment", G_TYPE_DOUBLE, r.parts.phrase, "weakest", G_TYPE_STRING, r.weakest, "feedback",
      G_TYPE_STRING, r.feedback, "hint", G_TYPE_STRING, r.hint, "phase-error-ms", G_TYPE_DOUBLE, r.phase_error_ms,
      "phase-offset-ms", G_TYPE_DOUBLE, r.phase_offset_ms, "phase-measurements", G_TYPE_INT, r.phase_measurements,
      "incoming-bpm", G_TYPE_DOUBLE, r.incoming_bpm, "outgoing-bpm", G_TYPE_DOUBLE, r.outgoing_bpm,
      "tempo-difference", G_TYPE_DOUBLE, r.tempo_diff_pct, "incoming-key", G_TYPE_STRING, kin, "outgoing-key",
      G_TYPE_STRING, kout, "bass-clash-seconds", G_TYPE_DOUBLE, r.bass_clash_s, "loudness-before", G_TYPE_DOUBLE,
      r.loudness_before, "loudness-after", G_TYPE_DOUBLE, r.loudness_after, "loudness-jump", G_TYPE_DOUBLE,
      r.loudness_jump_lu, "loudness-dip", G_TYPE_DOUBLE, r.loudness_dip_lu, "clipped-percent", G_TYPE_DOUBLE,
      r.clipped_pct, "peak", G_TYPE_DOUBLE, r.peak_dbfs, "phrase-offset", G_TYPE_DOUBLE, r.phrase_offset_beats,
      NULL);
  return gst_message_new_element(GST_OBJECT(self), s);
}

using ReportBatch = std::vector<dju::JudgeReport>;

// Judging may begin once every requested deck has delivered audio (or ended, or stalled), or as soon
// as a live deck has: a live deck never waits. A deck whose first buffer is already here (held at
// the preroll gate until the pipeline plays) is waited for all the same, so that it keeps its place
// on the timeline.
static bool may_start(const GstDjJudgePrivate* p) {
  bool any = false, any_live = false, all = true, held = false;
  for (const auto& d : p->decks) {
    if (!d.pad) continue;
    if (d.started) {
      any = true;
      any_live = any_live || d.live;
    } else if (!d.eos && !d.skipped) {
      all = false;
      held = held || d.holding;
    }
  }
  return any && (all || (any_live && !held));
}

// The first frame a deck may not write yet (its ring is full up to there).
static int64_t write_limit(const GstDjJudgePrivate* p, const DeckInput& d) {
  const int64_t base = p->running ? std::max(p->processed, d.start_pos) : d.start_pos;
  return base + kRingFrames;
}

// Judges every frame that all waited-for decks have delivered (with `upto`, at least up to there,
// treating missing audio as silence). Called with the lock held; reports are collected for posting
// after unlock.
static void judge_available(GstDjJudgePrivate* p, int64_t upto, ReportBatch& out) {
  if (!p->running) {
    if (!may_start(p) && upto == INT64_MIN) return;
    int64_t first = INT64_MAX;
    for (const auto& d : p->decks)
      if (d.pad && d.started) first = std::min(first, d.start_pos);
    if (first == INT64_MAX) return;
    p->running = true;
    p->first = p->processed = first;
  }
  int64_t end = INT64_MAX;
  int64_t any_end = p->processed;
  bool waited = false;
  for (const auto& d : p->decks) {
    if (!d.pad || !d.started) continue;
    any_end = std::max(any_end, d.write_pos);
    if (d.eos || d.skipped) continue;
    end = std::min(end, d.write_pos);
    waited = true;
  }
  if (!waited) end = any_end;
  end = std::max(end, upto);
  if (end <= p->processed) return;
  // Known tempo/key from the pads.
  for (int i = 0; i < kMaxDecks; ++i) {
    DeckInput& d = p->decks[i];
    if (!d.pad) continue;
    dju::JudgeDeckHints h;
    GST_OBJECT_LOCK(d.pad);
    h.bpm = d.pad->bpm;
    h.key = dju::parse_key(d.pad->key);
    GST_OBJECT_UNLOCK(d.pad);
    p->judge.set_hints(i, h);
  }
  while (p->processed < end) {
    const int64_t n = std::min(kChunk, end - p->processed);
    const float* ptrs[kMaxDecks] = {nullptr};
    for (int i = 0; i < kMaxDecks; ++i) {
      DeckInput& d = p->decks[i];
      if (!d.pad || !d.started) continue;
      const int64_t lo = std::max(d.start_pos, d.write_pos - kRingFrames);
      bool any = false;
      for (int64_t f = 0; f < n; ++f) {
        const int64_t idx = p->processed + f;
        const bool have = idx >= lo && idx < d.write_pos;
        const float* src = &d.ring[2 * static_cast<size_t>(idx % kRingFrames)];
        d.chunk[2 * f] = have ? src[0] : 0.0f;
        d.chunk[2 * f + 1] = have ? src[1] : 0.0f;
        any = any || have;
      }
      if (any) ptrs[i] = d.chunk.data();
    }
    p->judge.process(ptrs, static_cast<size_t>(n));
    p->processed += n;
    dju::JudgeReport r;
    while (p->judge.pop_report(r)) out.push_back(r);
  }
}

static void post_reports(GstDjJudge* self, const ReportBatch& reports, GstClockTime origin) {
  for (const auto& r : reports) {
    GST_LOG_OBJECT(self, "%s %s: score %.1f", r.final ? "final" : "live", r.event, r.score);
    gst_element_post_message(GST_ELEMENT(self), report_message(self, r, origin));
  }
}

/* ---------------- prerolling ---------------- */

// Every linked pad has prerolled (holds a buffer, or had a GAP or EOS); false with no linked pad.
static bool all_prerolled(const GstDjJudgePrivate* p) {
  bool any = false;
  for (const auto& d : p->decks) {
    if (!d.pad || !gst_pad_is_linked(GST_PAD(d.pad))) continue;
    if (!d.prerolled && !d.eos) return false;
    any = true;
  }
  return any;
}

// The streaming thread's half of an ASYNC state change, as gst_base_sink_commit_state: moves the
// element to its pending state (PAUSED, or PLAYING when the pipeline went on meanwhile), posting
// state-changed and async-done. Returns the state now, or GST_STATE_VOID_PENDING when the element is
// going down and nothing was committed. Called with state_lock held.
static GstState commit_state(GstDjJudge* self) {
  GST_OBJECT_LOCK(self);
  const GstState current = GST_STATE(self), next = GST_STATE_NEXT(self), pending = GST_STATE_PENDING(self);
  if (pending == GST_STATE_VOID_PENDING) {  // the state function got there first
    GST_OBJECT_UNLOCK(self);
    return current;
  }
  if (pending != GST_STATE_PAUSED && pending != GST_STATE_PLAYING) {
    GST_OBJECT_UNLOCK(self);
    return GST_STATE_VOID_PENDING;
  }
  const bool to_playing = pending == GST_STATE_PLAYING;
  GST_STATE(self) = pending;
  GST_STATE_NEXT(self) = GST_STATE_VOID_PENDING;
  GST_STATE_PENDING(self) = GST_STATE_VOID_PENDING;
  GST_STATE_RETURN(self) = GST_STATE_CHANGE_SUCCESS;
  GST_OBJECT_UNLOCK(self);
  GST_LOG_OBJECT(self, "prerolled on every deck: committing to %s", gst_element_state_get_name(pending));
  // As GstBaseSink: PAUSED is posted unless we were PAUSED already (a lost state in PLAYING), then
  // async-done, then PLAYING when the pipeline asked for it meanwhile.
  if (!to_playing || current == GST_STATE_READY)
    gst_element_post_message(GST_ELEMENT(self),
                             gst_message_new_state_changed(GST_OBJECT(self), current, next,
                                                           to_playing ? GST_STATE_PLAYING : GST_STATE_VOID_PENDING));
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_async_done(GST_OBJECT(self), GST_CLOCK_TIME_NONE));
  if (to_playing)
    gst_element_post_message(GST_ELEMENT(self),
                             gst_message_new_state_changed(GST_OBJECT(self), GST_STATE_PAUSED, GST_STATE_PLAYING,
                                                           GST_STATE_VOID_PENDING));
  GST_STATE_BROADCAST(self);
  return pending;
}

// Whether an element that is not a sink (a decodebin, say) is still changing state asynchronously in
// one of the bins around the judge. While one is, the judge does not commit: GstBin (1.22) posts its
// own state-changed message to the bus before it records whether that message said PLAYING, so when
// the bin's last async-done comes from such an element's streaming thread, an application that sets
// PLAYING as soon as it sees PAUSED (gst-launch does) can be overtaken, and the bin then believes it
// never reached PLAYING and keeps every sink's EOS to itself. A sink's commit cannot be overtaken (a
// base sink posts it under its preroll lock, the judge under `state_lock`, which its change_state
// takes), so the judge lets the others finish first and commits last. Sinks are not waited for: a
// sink fed by a thread held at the judge's gate would never preroll.
static bool other_async_pending(GstDjJudge* self) {
  bool pending = false;
  GstObject* below = GST_OBJECT(gst_object_ref(self));
  while (!pending) {
    GstObject* parent = gst_object_get_parent(below);
    if (!parent) break;
    if (GST_IS_BIN(parent)) {
      GST_OBJECT_LOCK(parent);
      for (GList* l = GST_BIN(parent)->messages; l && !pending; l = l->next) {
        GstMessage* m = GST_MESSAGE(l->data);
        GstObject* src = GST_MESSAGE_SRC(m);
        pending = GST_MESSAGE_TYPE(m) == GST_MESSAGE_ASYNC_START && src != below &&
                  !(GST_IS_ELEMENT(src) && GST_OBJECT_FLAG_IS_SET(src, GST_ELEMENT_FLAG_SINK));
      }
      GST_OBJECT_UNLOCK(parent);
    }
    gst_object_unref(below);
    below = parent;
  }
  gst_object_unref(below);
  return pending;
}

// Commits the pending ASYNC state change once every linked pad has prerolled and no other element
// around is still prerolling (see other_async_pending; `commit_deferred` says the gate should look
// again shortly). `lk` holds p->lock on entry and on return (it is let go meanwhile: state_lock
// comes first).
static void try_commit(GstDjJudge* self, std::unique_lock<std::mutex>& lk) {
  GstDjJudgePrivate* p = self->priv;
  if (!p->async_pending || p->stopping || !all_prerolled(p)) return;
  lk.unlock();
  const bool others = other_async_pending(self);
  lk.lock();
  p->commit_deferred = others;
  if (others) {
    GST_LOG_OBJECT(self, "prerolled, but another element is still prerolling: committing after it");
    return;
  }
  lk.unlock();
  std::lock_guard<std::mutex> sl(p->state_lock);
  lk.lock();
  if (!p->async_pending || p->stopping || !all_prerolled(p)) return;  // done meanwhile, or going down
  p->async_pending = false;
  lk.unlock();
  const GstState now = commit_state(self);
  lk.lock();
  if (now == GST_STATE_PLAYING) {
    p->need_preroll = false;
    p->playing = true;
    p->preroll_cond.notify_all();
    p->cond.notify_all();
  }
}

// Why this pad's streaming thread must stop: GST_FLOW_OK while it may go on.
static GstFlowReturn pad_status(GstDjJudge* self, GstDjJudgePad* jpad) {
  const int idx = pad_index(self, GST_PAD(jpad));
  if (idx < 0) return GST_FLOW_FLUSHING;  // released
  if (self->priv->stopping || self->priv->decks[idx].flushing) return GST_FLOW_FLUSHING;
  return GST_FLOW_OK;
}

// The preroll gate, passed with a buffer, a GAP or EOS (gst_base_sink_do_preroll and
// wait_preroll): while the element needs preroll, the pad counts as prerolled, the state is
// committed once every linked pad is, and the thread waits here until PLAYING, a flush, READY or the
// pad's release. A live deck never waits: it keeps time by the clock, and its source only delivers
// once the pipeline plays (it still prerolls: the state commits once every deck has delivered).
static GstFlowReturn preroll_gate(GstDjJudge* self, std::unique_lock<std::mutex>& lk, GstDjJudgePad* jpad,
                                  bool live, bool* held = nullptr) {
  GstDjJudgePrivate* p = self->priv;
  GstFlowReturn ret = pad_status(self, jpad);
  if (ret != GST_FLOW_OK) return ret;
  DeckInput& d = p->decks[pad_index(self, GST_PAD(jpad))];
  d.holding = true;  // the caller lets go
  if (!p->need_preroll) return ret;
  d.prerolled = true;
  try_commit(self, lk);
  if (live) return pad_status(self, jpad);
  while (p->need_preroll) {
    if ((ret = pad_status(self, jpad)) != GST_FLOW_OK) return ret;
    if (held) *held = true;
    GST_LOG_OBJECT(jpad, "prerolled: waiting for PLAYING");
    if (p->commit_deferred && p->async_pending) {
      p->preroll_cond.wait_for(lk, std::chrono::milliseconds(5));
      try_commit(self, lk);
    } else {
      p->preroll_cond.wait(lk);
    }
  }
  return pad_status(self, jpad);
}

static GstFlowReturn gst_dj_judge_chain(GstPad* pad, GstObject* parent, GstBuffer* buf) {
  GstDjJudge* self = GST_DJ_JUDGE(parent);
  GstDjJudgePrivate* p = self->priv;
  ReportBatch reports;
  GstClockTime origin = 0;
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) {
    gst_buffer_unref(buf);
    return GST_FLOW_ERROR;
  }
  const float* data = reinterpret_cast<const float*>(map.data);
  const int64_t frames = static_cast<int64_t>(map.size / (2 * sizeof(float)));
  GstDjJudgePad* jpad = GST_DJ_JUDGE_PAD(pad);
  if (!jpad->live_checked) {
    // A live deck keeps time by the clock: it never waits for another one (that would stall the
    // deck's other branches, the mix itself); a file being rendered waits for the slower decks.
    GstQuery* q = gst_query_new_latency();
    if (gst_pad_peer_query(pad, q)) gst_query_parse_latency(q, &jpad->live, nullptr, nullptr);
    gst_query_unref(q);
    jpad->live_checked = TRUE;
  }
  const bool live = jpad->live;
  GstFlowReturn ret = GST_FLOW_OK;
  {
    std::unique_lock<std::mutex> lk(p->lock);
    bool held = false;  // waited at the gate: late by our own doing, not by its pacing
    ret = preroll_gate(self, lk, jpad, live, &held);
    if (ret != GST_FLOW_OK) {
      const int idx = pad_index(self, pad);
      if (idx >= 0) p->decks[idx].holding = false;
      lk.unlock();
      gst_buffer_unmap(buf, &map);
      gst_buffer_unref(buf);
      return ret;
    }
    const int idx = pad_index(self, pad);
    DeckInput& d = p->decks[idx];
    // The pipeline clock's running time now: tells a deck paced in real time (buffers arrive at
    // their running time) from one rendered as fast as possible (they arrive early).
    GstClockTime now = GST_CLOCK_TIME_NONE;
    if (p->playing || live) {  // a live deck delivers only once the pipeline has its clock
      if (GstClock* clock = gst_element_get_clock(GST_ELEMENT(self))) {
        const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
        const GstClockTime t = gst_clock_get_time(clock);
        if (t >= base) now = t - base;
        gst_object_unref(clock);
      }
    }
    d.live = live;
    d.skipped = false;
    ++p->activity;
    // Where this buffer belongs on the judge's timeline.
    const GstClockTime rt = gst_segment_to_running_time(&d.segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
    int64_t gap = 0;   // silent frames to write before the buffer
    int64_t skip = 0;  // leading frames of the buffer to drop
    if (GST_CLOCK_TIME_IS_VALID(rt)) {
      d.paced = live || (!held && GST_CLOCK_TIME_IS_VALID(now) && rt <= now + 100 * GST_MSECOND);
      const int64_t rt_pos = static_cast<int64_t>(gst_util_uint64_scale_round(rt, JUDGE_RATE, GST_SECOND));
      if (!d.started && !held && GST_CLOCK_TIME_IS_VALID(now) && now > rt + 200 * GST_MSECOND) {
        // A deck that starts later than its timestamps say (`identity sync=true ts-offset=…`, which
        // also answers the latency query as live) while the others play in real time comes in now, as
        // the listener would hear it.
        bool others = false, others_paced = true;
        for (const auto& o : p->decks) {
          if (&o == &d || !o.pad || !o.started || o.eos) continue;
          others = true;
          others_paced = others_paced && o.paced;
        }
        if (others && others_paced) {
          d.shift = static_cast<int64_t>(gst_util_uint64_scale_round(now - rt, JUDGE_RATE, GST_SECOND));
          if (live) d.watch_until = rt_pos + 2 * JUDGE_RATE;
          GST_LOG_OBJECT(self, "deck_%d starts %" GST_TIME_FORMAT " late: heard from now (judged to %" G_GINT64_FORMAT ")",
                         idx, GST_TIME_ARGS(now - rt), p->processed);
        }
      } else if (d.watch_until >= 0 && d.started) {
        const int64_t now_pos = static_cast<int64_t>(gst_util_uint64_scale_round(now, JUDGE_RATE, GST_SECOND));
        if (GST_CLOCK_TIME_IS_VALID(now) && rt_pos + d.shift > now_pos + kBacklogFrames) {
          // Its buffers now come faster than the clock: a live source whose first buffers were held
          // on the way. A live mixer plays it by its running time, and so does the judge: what the
          // judge has passed is gone (below), the rest lands where the mixer plays it.
          GST_LOG_OBJECT(self, "deck_%d: a backlog, not a late start: back on its running time (frame %" G_GINT64_FORMAT
                         ", judged to %" G_GINT64_FORMAT ")", idx, d.write_pos - d.shift, p->processed);
          d.write_pos -= d.shift;
          d.start_pos -= d.shift;
          d.shift = 0;
          d.watch_until = -1;
        } else if (rt_pos >= d.watch_until) {
          d.watch_until = -1;
        }
      }
      const int64_t pos = rt_pos + d.shift;
      if (!d.started) {
        d.start_pos = d.write_pos = pos;
      } else if (pos > d.write_pos + kResyncFrames) {
        gap = pos - d.write_pos;
        if (gap > 8 * kRingFrames) {  // a long pause: start over there
          d.start_pos = d.write_pos = pos;
          gap = 0;
        }
      } else if (pos < d.write_pos - kResyncFrames) {
        skip = std::min(frames, d.write_pos - pos);  // overlaps what we have
      }
    } else if (!d.started) {
      d.start_pos = d.write_pos = p->running ? p->processed : 0;
    }
    d.started = true;
    if (p->running && d.write_pos + gap < p->processed) {
      const int64_t late = p->processed - (d.write_pos + gap);
      if (!live) {
        // Paced or stalled: hear it from now on.
        d.shift += late;
        d.write_pos += late;
        if (d.start_pos > d.write_pos) d.start_pos = d.write_pos;
      } else {
        // Live: what the judge has passed is gone; the rest keeps its running time.
        const int64_t g = std::min(gap, late);
        gap -= g;
        d.write_pos += g;
        const int64_t s = std::min(frames - skip, late - g);
        skip += s;
        d.write_pos += s;
      }
    }
    int64_t off = skip;
    while (gap > 0 || off < frames) {
      if ((ret = pad_status(self, jpad)) != GST_FLOW_OK) break;
      int64_t space = write_limit(p, d) - d.write_pos;
      if (space <= 0) {
        judge_available(p, INT64_MIN, reports);
        if (write_limit(p, d) - d.write_pos > 0) continue;
        p->cond.notify_all();
        if (live) {
          // A live deck never waits: a deck that is behind counts as silent where it is missing.
          judge_available(p, d.write_pos - kRingFrames / 2, reports);
          continue;
        }
        if (p->need_preroll) {
          // PAUSED again while this buffer waits for the others: nobody is stalled, wait for PLAYING.
          p->cond.wait(lk);
          continue;
        }
        // Wait while the others make progress; a deck that did nothing for kStall is judged silent.
        const uint64_t seen = p->activity;
        if (p->cond.wait_for(lk, kStall) == std::cv_status::timeout && p->activity == seen &&
            pad_status(self, jpad) == GST_FLOW_OK) {
          for (int j = 0; j < kMaxDecks; ++j) {
            DeckInput& o = p->decks[j];
            if (j == idx || !o.pad || o.eos || o.skipped) continue;
            if (!o.started || o.write_pos < d.write_pos) {
              GST_LOG_OBJECT(self, "deck_%d stalled: judged as silence until it delivers", j);
              o.skipped = true;
            }
          }
          judge_available(p, INT64_MIN, reports);
        }
        continue;
      }
      if (gap > 0) {
        const int64_t n = std::min(space, gap);
        for (int64_t f = 0; f < n; ++f) {
          float* dst = &d.ring[2 * static_cast<size_t>((d.write_pos + f) % kRingFrames)];
          dst[0] = dst[1] = 0.0f;
        }
        d.write_pos += n;
        gap -= n;
        continue;
      }
      const int64_t n = std::min(space, frames - off);
      for (int64_t f = 0; f < n; ++f) {
        float* dst = &d.ring[2 * static_cast<size_t>((d.write_pos + f) % kRingFrames)];
        dst[0] = data[2 * (off + f)];
        dst[1] = data[2 * (off + f) + 1];
      }
      d.write_pos += n;
      off += n;
    }
    d.holding = false;
    if (ret == GST_FLOW_OK) judge_available(p, INT64_MIN, reports);
    p->cond.notify_all();
    origin = frames_to_time(p->first);
  }
  gst_buffer_unmap(buf, &map);
  gst_buffer_unref(buf);
  post_reports(self, reports, origin);
  return ret;
}

// Once every pad has reached EOS (and not before), judges what is left and closes an open blend: its
// final report goes out before the EOS message. Called with the lock held; true when EOS is due.
static bool finish_if_all_eos(GstDjJudgePrivate* p, ReportBatch& reports) {
  bool any = false;
  for (const auto& d : p->decks) {
    if (!d.pad) continue;
    if (!d.eos) return false;
    any = true;
  }
  if (!any || p->eos_posted) return false;
  p->judge.finish();
  dju::JudgeReport r;
  while (p->judge.pop_report(r)) reports.push_back(r);
  p->eos_posted = true;
  return true;
}

static void post_eos(GstDjJudge* self, guint32 seqnum) {
  GstMessage* m = gst_message_new_eos(GST_OBJECT(self));
  if (seqnum != GST_SEQNUM_INVALID) gst_message_set_seqnum(m, seqnum);
  gst_element_post_message(GST_ELEMENT(self), m);
}

// The pads' flush: this pad stops, and the element needs preroll again (GstBaseSink loses its state
// on FLUSH_START, so that a flushing seek re-prerolls before the pipeline plays on).
static void flush_start(GstDjJudge* self, GstDjJudgePad* jpad) {
  GstDjJudgePrivate* p = self->priv;
  std::lock_guard<std::mutex> sl(p->state_lock);
  bool lose = false;
  {
    std::lock_guard<std::mutex> lk(p->lock);
    const int idx = pad_index(self, GST_PAD(jpad));
    if (idx >= 0) {
      p->decks[idx].flushing = true;
      p->decks[idx].prerolled = false;
    }
    if (!p->stopping && !p->async_pending && p->async_enabled) {
      lose = true;
      p->async_pending = true;
      p->need_preroll = true;
      p->playing = false;
      // The other decks count as prerolled while their threads hold a buffer here.
      for (int i = 0; i < kMaxDecks; ++i)
        if (i != idx) p->decks[i].prerolled = p->decks[i].holding;
    }
    p->cond.notify_all();
    p->preroll_cond.notify_all();
  }
  if (lose) gst_element_lost_state(GST_ELEMENT(self));
}

static gboolean gst_dj_judge_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  GstDjJudge* self = GST_DJ_JUDGE(parent);
  GstDjJudgePrivate* p = self->priv;
  GstDjJudgePad* jpad = GST_DJ_JUDGE_PAD(pad);
  ReportBatch reports;
  GstClockTime origin = 0;
  bool eos_due = false;
  gboolean res = TRUE;
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: {
      std::lock_guard<std::mutex> lk(p->lock);
      const int idx = pad_index(self, pad);
      if (idx >= 0) gst_event_copy_segment(event, &p->decks[idx].segment);
      break;
    }
    case GST_EVENT_GAP: {
      // A gap prerolls like a buffer (a deck with nothing to say yet still lets the pipeline start).
      std::unique_lock<std::mutex> lk(p->lock);
      res = preroll_gate(self, lk, jpad, jpad->live) == GST_FLOW_OK;
      const int idx = pad_index(self, pad);
      if (idx >= 0) p->decks[idx].holding = false;
      break;
    }
    case GST_EVENT_FLUSH_START:
      flush_start(self, jpad);
      break;
    case GST_EVENT_FLUSH_STOP: {
      gboolean reset_time = TRUE;
      gst_event_parse_flush_stop(event, &reset_time);
      {
        std::lock_guard<std::mutex> lk(p->lock);
        const int idx = pad_index(self, pad);
        if (idx >= 0) {
          DeckInput& d = p->decks[idx];
          d.flushing = false;
          d.started = d.eos = d.skipped = d.prerolled = false;
          d.shift = 0;
          d.watch_until = -1;
          gst_segment_init(&d.segment, GST_FORMAT_TIME);
        }
        // Running time starts again after a flush: once every deck has flushed, so does the judge.
        bool any = false;
        for (const auto& d : p->decks) any = any || (d.pad && d.started);
        if (!any) {
          p->judge.reset();
          p->running = false;
          p->processed = p->first = 0;
        }
        p->eos_posted = false;
      }
      // As GstBaseSink: the pipeline restarts its running time from here.
      if (reset_time)
        gst_element_post_message(GST_ELEMENT(self), gst_message_new_reset_time(GST_OBJECT(self), 0));
      break;
    }
    case GST_EVENT_EOS: {
      std::unique_lock<std::mutex> lk(p->lock);
      const int idx = pad_index(self, pad);
      if (idx < 0 || p->stopping || p->decks[idx].flushing) {
        res = FALSE;
        break;
      }
      p->decks[idx].eos = true;
      p->decks[idx].skipped = false;
      ++p->activity;
      p->cond.notify_all();
      // In PAUSED, EOS prerolls and waits for PLAYING, as a base sink's does; a flush takes it back.
      const bool through = preroll_gate(self, lk, jpad, jpad->live) == GST_FLOW_OK;
      if (pad_index(self, pad) >= 0) p->decks[idx].holding = false;
      if (!through) {
        res = FALSE;
        break;
      }
      // At the end, judge everything delivered, then close a blend that is still open: its final
      // report reaches the bus before the EOS message.
      judge_available(p, INT64_MIN, reports);
      eos_due = finish_if_all_eos(p, reports);
      GST_LOG_OBJECT(self, "EOS on deck_%d (EOS due: %d, judged to %" G_GINT64_FORMAT ")", idx, eos_due,
                     p->processed);
      p->cond.notify_all();
      origin = frames_to_time(p->first);
      break;
    }
    default:
      break;
  }
  post_reports(self, reports, origin);
  if (eos_due) post_eos(self, gst_event_get_seqnum(event));
  // A sink: serialized events end here; CAPS and the like are accepted by the template.
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS || GST_EVENT_TYPE(event) == GST_EVENT_GAP ||
      GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    gst_event_unref(event);
    return res;
  }
  return gst_pad_event_default(pad, parent, event);
}

static GstPad* gst_dj_judge_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                            const GstCaps* /*caps*/) {
  GstDjJudge* self = GST_DJ_JUDGE(element);
  GstDjJudgePrivate* p = self->priv;
  int idx = -1;
  {
    std::lock_guard<std::mutex> lk(p->lock);
    if (name && sscanf(name, "deck_%d", &idx) == 1) {
      if (idx < 0 || idx >= kMaxDecks || p->decks[idx].pad) idx = -1;
    } else {
      for (int i = 0; i < kMaxDecks && idx < 0; ++i)
        if (!p->decks[i].pad) idx = i;
    }
  }
  if (idx < 0) {
    GST_WARNING_OBJECT(self, "no free deck pad for %s (deck_0 … deck_%d)", name ? name : "(any)", kMaxDecks - 1);
    return nullptr;
  }
  gchar* pad_name = g_strdup_printf("deck_%d", idx);
  GstPad* pad = GST_PAD(g_object_new(GST_TYPE_DJ_JUDGE_PAD, "name", pad_name, "direction", GST_PAD_SINK, "template",
                                     templ, NULL));
  g_free(pad_name);
  gst_pad_set_chain_function(pad, GST_DEBUG_FUNCPTR(gst_dj_judge_chain));
  gst_pad_set_event_function(pad, GST_DEBUG_FUNCPTR(gst_dj_judge_sink_event));
  GST_PAD_SET_ACCEPT_TEMPLATE(pad);
  {
    std::lock_guard<std::mutex> lk(p->lock);
    DeckInput& d = p->decks[idx];
    d.pad = GST_DJ_JUDGE_PAD(pad);
    d.started = d.eos = d.skipped = d.flushing = d.prerolled = d.holding = false;
    d.shift = 0;
    d.watch_until = -1;
    gst_segment_init(&d.segment, GST_FORMAT_TIME);
  }
  gst_element_add_pad(element, pad);
  return pad;
}

static void gst_dj_judge_release_pad(GstElement* element, GstPad* pad) {
  GstDjJudge* self = GST_DJ_JUDGE(element);
  GstDjJudgePrivate* p = self->priv;
  ReportBatch reports;
  GstClockTime origin = 0;
  bool eos_due = false;
  {
    std::unique_lock<std::mutex> lk(p->lock);
    const int idx = pad_index(self, pad);
    if (idx >= 0) {
      DeckInput& d = p->decks[idx];
      d.pad = nullptr;
      d.started = d.prerolled = d.eos = false;
    }
    // Its thread leaves any wait; the decks left may all be prerolled, or all at EOS, now.
    p->cond.notify_all();
    p->preroll_cond.notify_all();
    try_commit(self, lk);
    if (!p->need_preroll && !p->stopping) {
      judge_available(p, INT64_MIN, reports);
      eos_due = finish_if_all_eos(p, reports);
      origin = frames_to_time(p->first);
    }
  }
  post_reports(self, reports, origin);
  if (eos_due) post_eos(self, GST_SEQNUM_INVALID);
  gst_element_remove_pad(element, pad);
}

// Back to the state of a fresh READY element (no streaming thread runs).
static void reset_locked(GstDjJudgePrivate* p) {
  p->commit_deferred = false;
  p->judge.reset();
  p->running = false;
  p->processed = p->first = 0;
  p->eos_posted = false;
  for (auto& d : p->decks) {
    d.started = d.eos = d.skipped = d.flushing = d.prerolled = d.holding = false;
    d.start_pos = d.write_pos = d.shift = 0;
    d.watch_until = -1;
    gst_segment_init(&d.segment, GST_FORMAT_TIME);
    if (d.pad) d.pad->live_checked = FALSE;
  }
}

// State changes as GstBaseSink makes them, over every linked pad: READY→PAUSED returns ASYNC and
// commits once every linked pad has a buffer, a GAP or EOS; PAUSED holds the streaming threads at
// the preroll gate; PLAYING→PAUSED is ASYNC unless every pad holds data (or is at EOS).
static GstStateChangeReturn gst_dj_judge_change_state(GstElement* element, GstStateChange transition) {
  GstDjJudge* self = GST_DJ_JUDGE(element);
  GstDjJudgePrivate* p = self->priv;
  bool async = false;
  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED: {
      std::lock_guard<std::mutex> sl(p->state_lock);
      {
        std::lock_guard<std::mutex> lk(p->lock);
        reset_locked(p);
        p->stopping = false;
        p->need_preroll = true;
        p->async_pending = async = p->async_enabled;
        p->playing = false;
      }
      if (async) gst_element_post_message(element, gst_message_new_async_start(GST_OBJECT(self)));
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING: {
      std::lock_guard<std::mutex> sl(p->state_lock);
      bool eos_again = false;
      {
        std::lock_guard<std::mutex> lk(p->lock);
        if (!p->async_pending) {
          p->need_preroll = false;
          p->playing = true;
          p->preroll_cond.notify_all();
          p->cond.notify_all();
          // Ended before this pause: a bin forgets its sinks' EOS on PAUSED, so say it again (as
          // GstBaseSink does).
          eos_again = p->eos_posted;
          for (const auto& d : p->decks)
            if (d.pad && !d.eos) eos_again = false;
        } else {
          async = true;  // not prerolled yet: PLAYING is committed by the last deck to deliver
        }
      }
      if (async) gst_element_post_message(element, gst_message_new_async_start(GST_OBJECT(self)));
      if (eos_again) post_eos(self, GST_SEQNUM_INVALID);
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_READY: {
      // Every streaming thread leaves its wait before the pads are deactivated.
      std::lock_guard<std::mutex> sl(p->state_lock);
      std::lock_guard<std::mutex> lk(p->lock);
      p->stopping = true;
      p->need_preroll = false;
      p->playing = false;
      p->preroll_cond.notify_all();
      p->cond.notify_all();
      break;
    }
    default:
      break;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_dj_judge_parent_class)->change_state(element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE) return ret;
  switch (transition) {
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED: {
      std::lock_guard<std::mutex> sl(p->state_lock);
      {
        std::lock_guard<std::mutex> lk(p->lock);
        p->playing = false;
        p->need_preroll = true;
        for (auto& d : p->decks) d.prerolled = d.holding;  // a thread holding a buffer is prerolled
        if (p->async_enabled && !all_prerolled(p)) {
          p->async_pending = true;
          async = true;
        }
      }
      if (async) gst_element_post_message(element, gst_message_new_async_start(GST_OBJECT(self)));
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_READY: {
      std::lock_guard<std::mutex> sl(p->state_lock);
      bool was_async;
      {
        std::lock_guard<std::mutex> lk(p->lock);
        reset_locked(p);
        was_async = p->async_pending;
        p->async_pending = false;
      }
      if (was_async) {
        // Never prerolled: end the ASYNC state change as GstBaseSink does, so the bin stops waiting.
        gst_element_post_message(element, gst_message_new_state_changed(GST_OBJECT(self), GST_STATE_PLAYING,
                                                                         GST_STATE_PAUSED, GST_STATE_READY));
        gst_element_post_message(element, gst_message_new_async_done(GST_OBJECT(self), GST_CLOCK_TIME_NONE));
      }
      break;
    }
    default:
      break;
  }
  return async ? GST_STATE_CHANGE_ASYNC : ret;
}

// The latency query goes upstream on every linked pad, and the answers are combined as a bin
// combines its sinks' (the highest minimum, the lowest maximum). djjudge does not sync to the clock,
// so like a GstBaseSink with sync=false it answers "not live": it never raises or caps the
// pipeline's latency (the decks' queues in the server would otherwise cap the mix's).
static gboolean gst_dj_judge_query(GstElement* element, GstQuery* query) {
  if (GST_QUERY_TYPE(query) != GST_QUERY_LATENCY)
    return GST_ELEMENT_CLASS(gst_dj_judge_parent_class)->query(element, query);
  GstDjJudge* self = GST_DJ_JUDGE(element);
  std::array<GstPad*, kMaxDecks> pads{};
  {
    std::lock_guard<std::mutex> lk(self->priv->lock);
    for (int i = 0; i < kMaxDecks; ++i)
      if (self->priv->decks[i].pad) pads[i] = GST_PAD(gst_object_ref(self->priv->decks[i].pad));
  }
  bool answered = false;
  GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
  for (GstPad* pad : pads) {
    if (!pad) continue;
    GstQuery* q = gst_query_new_latency();
    gboolean live = FALSE;
    GstClockTime us_min = 0, us_max = GST_CLOCK_TIME_NONE;
    if (gst_pad_peer_query(pad, q)) {
      gst_query_parse_latency(q, &live, &us_min, &us_max);
      answered = true;
      if (live) {
        min = std::max(min, us_min);
        if (GST_CLOCK_TIME_IS_VALID(us_max)) max = GST_CLOCK_TIME_IS_VALID(max) ? std::min(max, us_max) : us_max;
      }
    }
    gst_query_unref(q);
    gst_object_unref(pad);
  }
  if (!answered) return FALSE;
  GST_LOG_OBJECT(self, "latency: upstream min %" GST_TIME_FORMAT " max %" GST_TIME_FORMAT, GST_TIME_ARGS(min),
                 GST_TIME_ARGS(max));
  gst_query_set_latency(query, FALSE, min, max);
  return TRUE;
}

enum { PROP_0, PROP_ASYNC };

static void gst_dj_judge_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstDjJudge* self = GST_DJ_JUDGE(object);
  switch (id) {
    case PROP_ASYNC:
      self->priv->async_enabled = g_value_get_boolean(value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void gst_dj_judge_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstDjJudge* self = GST_DJ_JUDGE(object);
  switch (id) {
    case PROP_ASYNC:
      g_value_set_boolean(value, self->priv->async_enabled);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

static void gst_dj_judge_finalize(GObject* object) {
  delete GST_DJ_JUDGE(object)->priv;
  G_OBJECT_CLASS(gst_dj_judge_parent_class)->finalize(object);
}

static void gst_dj_judge_class_init(GstDjJudgeClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GST_DEBUG_CATEGORY_INIT(gst_dj_judge_debug, "djjudge", 0, "DJ Universe transition judge");
  gobject_class->finalize = gst_dj_judge_finalize;
  gobject_class->set_property = gst_dj_judge_set_property;
  gobject_class->get_property = gst_dj_judge_get_property;
  g_object_class_install_property(
      gobject_class, PROP_ASYNC,
      g_param_spec_boolean("async", "Async",
                           "Go to PAUSED asynchronously, once every deck has prerolled (as GstBaseSink's); "
                           "false: at once (as for a GstHarness, which wants state changes to succeed)",
                           TRUE, static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template_with_gtype(element_class, &sink_template, GST_TYPE_DJ_JUDGE_PAD);
  gst_element_class_set_static_metadata(element_class, "DJ transition judge", "Sink/Analyzer/Audio",
                                        "Finds each transition between decks and scores it 0-100 with a breakdown "
                                        "and plain-language feedback",
                                        "DJ Universe");
  element_class->request_new_pad = GST_DEBUG_FUNCPTR(gst_dj_judge_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR(gst_dj_judge_release_pad);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_dj_judge_change_state);
  element_class->query = GST_DEBUG_FUNCPTR(gst_dj_judge_query);
  gst_type_mark_as_plugin_api(GST_TYPE_DJ_JUDGE_PAD, static_cast<GstPluginAPIFlags>(0));
}

static void gst_dj_judge_init(GstDjJudge* self) {
  self->priv = new GstDjJudgePrivate();
  GST_OBJECT_FLAG_SET(self, GST_ELEMENT_FLAG_SINK);
}
