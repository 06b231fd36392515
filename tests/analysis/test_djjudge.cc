// djjudge on transitions rendered here: a clean blend, a late incoming deck, a tempo mismatch, a bass
// clash, a key clash and a phase-error sweep. Each runs on demo-library tracks (decoded from
// build/demo) and on synthetic tracks built by the test.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>

#include "../deck/genre_grooves.h"
#include "mix_render.h"

using namespace dju_test;

namespace {

struct Library {
  Track out;       // A minor, 124 BPM (8A)
  Track in;        // E minor, 124 BPM (9A): one hour away
  Track tritone;   // D#/Eb minor (2A): six hours away, played at 124 BPM
  double tritone_rate = 1.0;
};

const Library* library(const std::string& which) {
  static std::map<std::string, std::unique_ptr<Library>> cache;
  auto it = cache.find(which);
  if (it != cache.end()) return it->second.get();
  auto lib = std::make_unique<Library>();
  if (which == "demo") {
    if (!demo_available()) return nullptr;
    // The outgoing track plays from its groove (16 bars before its main part, so the blend falls in
    // the full groove); the incoming ones come in with their main part.
    lib->out = demo_track("house-124-am", "groove");
    lib->in = demo_track("house-124-em", "main");
    lib->tritone = demo_track("techhouse-126-ebm", "main");
    lib->tritone_rate = lib->out.bpm / lib->tritone.bpm;  // varispeed down to 124 BPM (-0.28 semitone)
    if (lib->out.stereo.empty() || lib->in.stereo.empty() || lib->tritone.stereo.empty()) return nullptr;
  } else {
    lib->out = synth_track("synth-124-am", 124.0, 9, 75.0, 1);
    lib->in = synth_track("synth-124-em", 124.0, 4, 45.0, 2);
    lib->tritone = synth_track("synth-124-ebm", 124.0, 3, 45.0, 3);
  }
  return (cache[which] = std::move(lib)).get();
}

BlendPlan clean_plan(const Library& lib) {
  BlendPlan p;
  p.blend_start_s = 64 * 60.0 / lib.out.bpm;  // the outgoing track's next 16-bar phrase
  return p;
}

double field(const GstStructure* s, const char* name) {
  double v = NAN;
  if (s) gst_structure_get_double(s, name, &v);
  return v;
}

std::string text(const GstStructure* s, const char* name) {
  const char* v = s ? gst_structure_get_string(s, name) : nullptr;
  return v ? v : "";
}

class DjJudge : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    lib_ = library(GetParam());
    if (!lib_) GTEST_FAIL() << "demo library missing (build/demo/manifest.json): the build makes it, so this is a broken build";
  }
  void TearDown() override { free_all(msgs_); }
  const GstStructure* judge(const RenderedMix& mix, PadHints h0 = {}, PadHints h1 = {}) {
    free_all(msgs_);
    msgs_ = run_djjudge(mix, h0, h1);
    const GstStructure* f = final_report(msgs_);
    std::printf("[%s] %s\n", GetParam().c_str(), describe(f).c_str());
    return f;
  }
  const Library* lib_ = nullptr;
  std::vector<GstStructure*> msgs_;
};

}  // namespace

TEST_P(DjJudge, CleanBlendScoresHigh) {
  const GstStructure* f = judge(render_blend(lib_->out, lib_->in, clean_plan(*lib_)));
  ASSERT_NE(f, nullptr);
  guint in = 9, out = 9;
  gst_structure_get_uint(f, "incoming", &in);
  gst_structure_get_uint(f, "outgoing", &out);
  EXPECT_EQ(in, 1u);
  EXPECT_EQ(out, 0u);
  EXPECT_GE(field(f, "score"), 85.0);
  EXPECT_LT(field(f, "phase-error-ms"), 10.0);
  EXPECT_NEAR(field(f, "incoming-bpm"), 124.0, 0.5);
  EXPECT_NEAR(field(f, "outgoing-bpm"), 124.0, 0.5);
  EXPECT_LT(field(f, "bass-clash-seconds"), 1.5);
  EXPECT_EQ(text(f, "outgoing-key"), "8A");
  EXPECT_EQ(text(f, "incoming-key"), "9A");
  // Live messages came before the final one, naming the same decks.
  int live = 0;
  for (auto* s : msgs_)
    if (text(s, "phase") == "live") ++live;
  EXPECT_GE(live, 5);
  // Blend start on the phrase, handover within the blend.
  guint64 start = 0, handover = 0, end = 0;
  gst_structure_get_uint64(f, "start-time", &start);
  gst_structure_get_uint64(f, "handover-time", &handover);
  gst_structure_get_uint64(f, "end-time", &end);
  // The incoming deck fades in from silence: the judge traces its start back to where the fader
  // began to move, within 0.1 s (it used to report up to 0.36 s late).
  EXPECT_NEAR(start / 1e9, clean_plan(*lib_).blend_start_s, 0.1);
  EXPECT_GT(handover, start);
  EXPECT_GT(end, handover);
  RecordProperty("score", std::to_string(field(f, "score")));
}

TEST_P(DjJudge, IncomingEighthBeatLateIsABeatAlignmentProblem) {
  BlendPlan p = clean_plan(*lib_);
  p.incoming_late_s = 60.0 / lib_->out.bpm / 8;
  const GstStructure* f = judge(render_blend(lib_->out, lib_->in, p));
  ASSERT_NE(f, nullptr);
  EXPECT_LE(field(f, "score"), 60.0);
  EXPECT_EQ(text(f, "weakest"), "beat-alignment");
  EXPECT_NE(text(f, "feedback").find("Beats were"), std::string::npos);
  EXPECT_NEAR(field(f, "phase-error-ms"), p.incoming_late_s * 1000, 12.0);
}

TEST_P(DjJudge, FourPercentTempoMismatchScoresLow) {
  BlendPlan p = clean_plan(*lib_);
  p.incoming_rate = 1.04;
  const GstStructure* f = judge(render_blend(lib_->out, lib_->in, p));
  ASSERT_NE(f, nullptr);
  EXPECT_LE(field(f, "score"), 50.0);
  EXPECT_NEAR(field(f, "tempo-difference"), 4.0, 0.5);
  EXPECT_LT(field(f, "tempo-match"), 20.0);
  EXPECT_NE(text(f, "feedback").find("Tempos differ"), std::string::npos);
}

TEST_P(DjJudge, EightSecondsOfBothBassesIsABassClash) {
  // The incoming deck slams in with full bass; the outgoing keeps its bass for 8 s more, then cuts.
  BlendPlan p = clean_plan(*lib_);
  const double beat = 60.0 / lib_->out.bpm;
  p.fade_in_beats = 0.25;
  p.bass_swap = false;
  p.swap_after_beats = 8.0 / beat;
  p.fade_out_beats = 0.25;
  const GstStructure* f = judge(render_blend(lib_->out, lib_->in, p));
  ASSERT_NE(f, nullptr);
  EXPECT_NEAR(field(f, "bass-clash-seconds"), 8.0, 1.5);
  EXPECT_LT(field(f, "bass-clash"), 20.0);
  EXPECT_NE(text(f, "feedback").find("Bass clash"), std::string::npos);
  EXPECT_LE(field(f, "score"), 60.0);
}

TEST_P(DjJudge, TritoneKeyClashLowersTheKeyScore) {
  const GstStructure* good = judge(render_blend(lib_->out, lib_->in, clean_plan(*lib_)));
  ASSERT_NE(good, nullptr);
  const double good_key = field(good, "key-compatibility");
  const double good_score = field(good, "score");
  BlendPlan p = clean_plan(*lib_);
  p.incoming_rate = lib_->tritone_rate;
  const GstStructure* bad = judge(render_blend(lib_->out, lib_->tritone, p));
  ASSERT_NE(bad, nullptr);
  // Measured from ~16 s of the incoming track played 1.6 % slow; the exact key is not the point,
  // the clash is.
  EXPECT_NE(text(bad, "incoming-key"), "?");
  EXPECT_LT(field(bad, "key-compatibility"), good_key - 50);
  EXPECT_LT(field(bad, "score"), good_score);
  EXPECT_NE(text(bad, "feedback").find("Keys clash"), std::string::npos);
  // Known keys on the pads give the same verdict without listening.
  const GstStructure* told = judge(render_blend(lib_->out, lib_->tritone, p), {124.0, "8A"}, {124.0, "D# minor"});
  ASSERT_NE(told, nullptr);
  EXPECT_EQ(field(told, "key-compatibility"), 0.0);
}

TEST_P(DjJudge, ScoreNeverRisesAsPhaseErrorGrows) {
  const double beat = 60.0 / lib_->out.bpm;
  double last = 101.0;
  for (double frac : {0.0, 1.0 / 64, 1.0 / 32, 3.0 / 64, 1.0 / 16, 3.0 / 32, 1.0 / 8, 3.0 / 16, 1.0 / 4}) {
    BlendPlan p = clean_plan(*lib_);
    p.incoming_late_s = frac * beat;
    const GstStructure* f = judge(render_blend(lib_->out, lib_->in, p));
    ASSERT_NE(f, nullptr);
    const double score = field(f, "score");
    std::printf("  offset %.1f ms: score %.1f (beat %.1f, error %.1f ms)\n", frac * beat * 1000, score,
                field(f, "beat-alignment"), field(f, "phase-error-ms"));
    EXPECT_LE(score, last) << "at " << frac << " beat";
    last = score;
  }
}

TEST_P(DjJudge, SameAudioSameScore) {
  BlendPlan p = clean_plan(*lib_);
  p.incoming_late_s = 0.02;
  auto mix = render_blend(lib_->out, lib_->in, p);
  const double a = field(judge(mix), "score");
  const double b = field(judge(mix), "score");
  EXPECT_EQ(a, b);
}

INSTANTIATE_TEST_SUITE_P(Tracks, DjJudge, ::testing::Values("synthetic", "demo"),
                         [](const ::testing::TestParamInfo<std::string>& i) { return i.param; });

// djjudge as the last element of a gst-launch style pipeline: two decks with different buffer sizes
// (one runs ahead), live and not live; the pipeline reaches EOS and nothing stalls.
static bool run_pipeline_to_eos(const char* desc, int timeout_s) {
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(desc, &err);
  if (!pipe) {
    ADD_FAILURE() << (err ? err->message : "parse failed");
    g_clear_error(&err);
    return false;
  }
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, timeout_s * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool eos = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
  if (m) gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
  return eos;
}

TEST(DjJudgePipeline, ReachesEosWithUnevenDecks) {
  EXPECT_TRUE(run_pipeline_to_eos(
      "djjudge name=j "
      "audiotestsrc num-buffers=100 samplesperbuffer=4800 wave=ticks ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! j.deck_0 "
      "audiotestsrc num-buffers=1875 samplesperbuffer=256 wave=pink-noise volume=0.1 ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! j.deck_1",
      30));
}

TEST(DjJudgePipeline, LiveDecksRunInRealTime) {
  EXPECT_TRUE(run_pipeline_to_eos(
      "djjudge name=j "
      "audiotestsrc is-live=true num-buffers=100 samplesperbuffer=480 wave=ticks ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! queue ! j.deck_0 "
      "audiotestsrc is-live=true num-buffers=100 samplesperbuffer=480 wave=silence ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! queue ! j.deck_1",
      10));
}

// ---------- gst-launch style pipelines: paced, live and offset decks ----------
//
// Deck 0 plays a tone for 2.5 s; deck 1 plays another one from 1 s to 3.5 s: the judge must find
// the transition (start ≈ 1 s, incoming deck 1) and post its final report before EOS, however the
// decks are paced.

struct BusRecord {
  std::vector<GstStructure*> judge;  // djjudge messages, in bus order
  int final_index = -1;              // index in `judge` of the first final report
  int judge_before_eos = -1;         // djjudge messages that reached the bus before EOS
  bool eos = false;
  std::string error;
};

static BusRecord run_pipeline_collect(const std::string& desc, int timeout_s,
                                      const std::function<void(GstElement*)>& setup = nullptr) {
  BusRecord rec;
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
  if (!pipe) {
    rec.error = err ? err->message : "parse failed";
    g_clear_error(&err);
    return rec;
  }
  if (setup) setup(pipe);
  GstBus* bus = gst_element_get_bus(pipe);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  const gint64 deadline = g_get_monotonic_time() + timeout_s * G_TIME_SPAN_SECOND;
  while (!rec.eos && rec.error.empty()) {
    const gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0) {
      rec.error = "timeout";
      break;
    }
    GstMessage* m = gst_bus_timed_pop(bus, left * GST_USECOND);
    if (!m) continue;
    const GstStructure* s = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "djjudge")) {
      if (rec.final_index < 0 && !g_strcmp0(gst_structure_get_string(s, "phase"), "final"))
        rec.final_index = static_cast<int>(rec.judge.size());
      rec.judge.push_back(gst_structure_copy(s));
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
      rec.eos = true;
      rec.judge_before_eos = static_cast<int>(rec.judge.size());
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      rec.error = e ? e->message : "error";
      g_clear_error(&e);
    }
    gst_message_unref(m);
  }
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipe);
  return rec;
}

static const char* const kTone = "audio/x-raw,format=F32LE,rate=48000,channels=2";

// Calls `edit(samples, count, n)` on the n-th buffer (from 0) leaving the element named `name`.
using SampleEdit = std::function<void(float* samples, size_t count, int n)>;
static void edit_samples(GstElement* pipe, const char* name, SampleEdit edit) {
  struct Edit {
    SampleEdit fn;
    int n;
  };
  GstElement* e = gst_bin_get_by_name(GST_BIN(pipe), name);
  ASSERT_NE(e, nullptr) << name;
  GstPad* pad = gst_element_get_static_pad(e, "src");
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) {
        auto* ed = static_cast<Edit*>(data);
        GstBuffer* buf = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
        GST_PAD_PROBE_INFO_DATA(info) = buf;
        GstMapInfo map;
        if (gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
          ed->fn(reinterpret_cast<float*>(map.data), map.size / sizeof(float), ed->n);
          gst_buffer_unmap(buf, &map);
        }
        ++ed->n;
        return GST_PAD_PROBE_OK;
      },
      new Edit{std::move(edit), 0}, [](gpointer data) { delete static_cast<Edit*>(data); });
  gst_object_unref(pad);
  gst_object_unref(e);
}

// Writes `value` into the first sample (both channels) of every `every`-th buffer leaving `name`.
static void spoil_samples(GstElement* pipe, const char* name, float value, int every) {
  edit_samples(pipe, name, [value, every](float* x, size_t, int n) {
    if (n % every == 0) x[0] = x[1] = value;
  });
}

// The stock audiotestsrc's `ticks` wave (GStreamer 1.22) leaves the first sample of the buffer before
// each tick unwritten: whatever the buffer's memory held (random under meson's MALLOC_PERTURB_, up to
// 1e35 or NaN). Tests that want clean ticks zero it on the caps filter named `name`.
static void clean_ticks(GstElement* pipe, const char* name) {
  edit_samples(pipe, name, [](float* x, size_t count, int) {
    for (size_t i = 0; i < count; ++i)
      if (!(std::fabs(x[i]) <= 1.0f)) x[i] = 0.0f;
  });
}

// A deck source: `freq` Hz for `seconds`, 10 ms buffers, starting at running time `offset_s`
// (a real timestamp offset); `extra` goes before the judge (e.g. "identity sync=true").
static std::string deck_src(int deck, double freq, double seconds, double offset_s, const std::string& src_props,
                            const std::string& extra) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "audiotestsrc freq=%g volume=0.3 samplesperbuffer=480 num-buffers=%d timestamp-offset=%lld %s ! "
                "capsfilter name=tone%d caps=\"%s\" ! "
                "%s%sj.deck_%d ",
                freq, static_cast<int>(std::lround(seconds * 100)), static_cast<long long>(std::llround(offset_s * 1e9)),
                src_props.c_str(), deck, kTone, extra.c_str(), extra.empty() ? "" : " ! ", deck);
  return buf;
}

static void expect_transition(const BusRecord& rec, double start_s) {
  ASSERT_TRUE(rec.error.empty()) << rec.error;
  ASSERT_TRUE(rec.eos);
  ASSERT_GE(rec.final_index, 0) << "no final djjudge report (" << rec.judge.size() << " djjudge messages)";
  EXPECT_LT(rec.final_index, rec.judge_before_eos) << "the final report came after EOS";
  const GstStructure* f = rec.judge[rec.final_index];
  guint in = 9, out = 9;
  guint64 start = 0;
  gst_structure_get_uint(f, "incoming", &in);
  gst_structure_get_uint(f, "outgoing", &out);
  gst_structure_get_uint64(f, "start-time", &start);
  EXPECT_EQ(in, 1u);
  EXPECT_EQ(out, 0u);
  // Margin for a loaded machine: paced decks are placed by when they arrive. The defects this
  // catches are a second or more off (or no report at all).
  EXPECT_NEAR(start / 1e9, start_s, 0.4) << describe(f);
}

static void free_record(BusRecord& rec) { free_all(rec.judge); }

TEST(DjJudgePipeline, BothPacedIncomingDelayedBySync) {
  // `identity sync=true ts-offset=…` delays the buffers in wall-clock time only (their timestamps stay
  // at 0): the judge hears deck 1 when it arrives.
  // The delay is longer than the 1.4 s one deck may run ahead of another.
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 3.5, 0, "", "identity sync=true") +
                                      deck_src(1, 330, 2.5, 0, "", "identity sync=true ts-offset=2000000000"),
                                  30);
  expect_transition(rec, 2.0);
  free_record(rec);
}

TEST(DjJudgePipeline, PacedOutgoingFreeIncomingWithOffset) {
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 2.5, 0, "", "identity sync=true") +
                                      deck_src(1, 330, 2.5, 1.0, "", ""),
                                  30);
  expect_transition(rec, 1.0);
  free_record(rec);
}

TEST(DjJudgePipeline, FreeOutgoingPacedIncomingWithOffset) {
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 2.5, 0, "", "") +
                                      deck_src(1, 330, 2.5, 1.0, "", "identity sync=true"),
                                  30);
  expect_transition(rec, 1.0);
  free_record(rec);
}

TEST(DjJudgePipeline, LiveOutgoingFreeIncomingWithOffset) {
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 2.5, 0, "is-live=true", "queue") +
                                      deck_src(1, 330, 2.5, 1.0, "", ""),
                                  30);
  expect_transition(rec, 1.0);
  free_record(rec);
}

TEST(DjJudgePipeline, FreeDecksIncomingWithOffset) {
  // Rendered as fast as possible, deck 1's first buffer (running time 1 s) may reach the judge before
  // deck 0's first one: the judge waits for both before it starts.
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 2.5, 0, "", "") +
                                      deck_src(1, 330, 2.5, 1.0, "", ""),
                                  30);
  expect_transition(rec, 1.0);
  free_record(rec);
}

// Live decks are mixed by their running time, so the judge places them there too, even when a deck's
// first buffers reach it late (a busy machine as a battle starts, the judge's own queue). Both decks
// tick at 120 BPM on the same running-time grid; deck 1's first buffer is held for 2.3 s, then its
// backlog flows. Shifting deck 1 by that delay (right only for a non-live deck that starts late)
// heard its beats 0.3 s (~0.2 s of a beat early) away from deck 0's for the rest of the blend.
TEST(DjJudgePipeline, LiveDeckWhoseFirstBuffersArriveLateKeepsItsRunningTime) {
  const std::string ticks = "is-live=true wave=ticks tick-interval=500000000 sine-periods-per-tick=12";
  auto rec = run_pipeline_collect(
      "djjudge name=j " + deck_src(0, 110, 10.0, 0, ticks, "queue") +
          deck_src(1, 110, 12.0, 0, ticks, "queue name=hold max-size-time=6000000000 max-size-buffers=0 max-size-bytes=0"),
      40, [](GstElement* pipe) {
        clean_ticks(pipe, "tone0");
        clean_ticks(pipe, "tone1");
        GstElement* hold = gst_bin_get_by_name(GST_BIN(pipe), "hold");
        GstPad* pad = gst_element_get_static_pad(hold, "src");
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, [](GstPad*, GstPadProbeInfo*, gpointer) {
          g_usleep(2300 * 1000);  // the queue's thread: the source keeps filling the queue
          return GST_PAD_PROBE_REMOVE;
        }, nullptr, nullptr);
        gst_object_unref(pad);
        gst_object_unref(hold);
      });
  ASSERT_TRUE(rec.error.empty()) << rec.error;
  ASSERT_GE(rec.final_index, 0) << "no final djjudge report (" << rec.judge.size() << " djjudge messages)";
  const GstStructure* f = rec.judge[rec.final_index];
  guint in = 9;
  gint measured = 0;
  guint64 end = 0;
  double phase_ms = -1;
  gst_structure_get_uint(f, "incoming", &in);
  gst_structure_get_uint64(f, "end-time", &end);
  gst_structure_get_double(f, "phase-error-ms", &phase_ms);
  gst_structure_get_int(f, "phase-measurements", &measured);
  std::printf("MEASURE late_live_deck phase_error_ms=%.1f measurements=%d end_s=%.2f\n", phase_ms, measured, end / 1e9);
  EXPECT_EQ(in, 1u);
  EXPECT_GT(measured, 0) << describe(f);
  EXPECT_LT(phase_ms, 15.0) << "the decks tick together by running time: " << describe(f);
  guint64 start = 0;
  gst_structure_get_uint64(f, "start-time", &start);
  EXPECT_NEAR(start / 1e9, 2.4, 0.5) << "deck 1 is heard from when it arrived: " << describe(f);
  free_record(rec);
}

// Samples no audio should hold (NaN, infinity, 1e35: a corrupt float file, a faulty element) on
// both decks: the judge still finds the transition and every figure of its report is a number.
TEST(DjJudgePipeline, NonFiniteAndHugeSamplesDoNotBreakTheJudge) {
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 3.0, 0, "", "") + deck_src(1, 330, 2.0, 1.0, "", ""),
                                  30, [](GstElement* pipe) {
                                    spoil_samples(pipe, "tone0", NAN, 7);
                                    spoil_samples(pipe, "tone1", 1e35f, 5);
                                    spoil_samples(pipe, "tone1", -INFINITY, 11);
                                  });
  expect_transition(rec, 1.0);
  ASSERT_GE(rec.final_index, 0);
  for (const GstStructure* s : rec.judge) {
    for (int i = 0; i < gst_structure_n_fields(s); ++i) {
      const char* name = gst_structure_nth_field_name(s, i);
      const GValue* v = gst_structure_get_value(s, name);
      if (G_VALUE_HOLDS_DOUBLE(v)) {
        EXPECT_TRUE(std::isfinite(g_value_get_double(v))) << name << ": " << describe(s);
      }
    }
  }
  const GstStructure* f = rec.judge[rec.final_index];
  // The 1e35 and infinite samples are held to ±16 (+24 dBFS; the other deck's tone, at most 0.3, adds to
  // them in the sum): the report calls them clipping, as a listener would.
  EXPECT_LE(field(f, "peak"), 20 * std::log10(16.3) + 0.01) << "dBFS: " << describe(f);
  EXPECT_GT(field(f, "clipped-percent"), 0.0) << describe(f);
  std::printf("MEASURE spoiled_samples score=%.1f peak_dbfs=%.1f clipped_percent=%.2f\n", field(f, "score"),
              field(f, "peak"), field(f, "clipped-percent"));
  free_record(rec);
}

TEST(DjJudgePipeline, EosDuringTheBlendPostsTheFinalReportFirst) {
  // Both decks end while both are heard: the open transition is closed and reported before EOS.
  auto rec = run_pipeline_collect("djjudge name=j " + deck_src(0, 220, 3.0, 0, "", "") +
                                      deck_src(1, 330, 2.0, 1.0, "", ""),
                                  30);
  expect_transition(rec, 1.0);
  free_record(rec);
}

// `t` blended into itself 8 bars in, both decks at `rate`, the incoming one's bass killed until the
// swap, no `bpm` on the pads: the judge's own reading of both decks is within 1 BPM.
static void expect_own_tempo(const Track& t, double rate, const std::string& what) {
  BlendPlan p;
  p.outgoing_rate = p.incoming_rate = rate;
  p.blend_start_s = 32 * 60.0 / (t.bpm * rate);
  auto msgs = run_djjudge(render_blend(t, t, p));
  const GstStructure* f = final_report(msgs);
  ASSERT_NE(f, nullptr) << what << " x" << rate;
  std::printf("%s at x%.2f: outgoing %.2f, incoming %.2f BPM (truth %.2f)\n", what.c_str(), rate,
              field(f, "outgoing-bpm"), field(f, "incoming-bpm"), t.bpm * rate);
  EXPECT_NEAR(field(f, "outgoing-bpm"), t.bpm * rate, 1.0) << what << " at x" << rate;
  EXPECT_NEAR(field(f, "incoming-bpm"), t.bpm * rate, 1.0) << what << " at x" << rate;
  free_all(msgs);
}

// The judge measures each deck's tempo itself (no `bpm` on the pads): drum & bass is not read at
// half time and hip-hop not at double, played as is and 3 % fast (both decks), from their intros and
// from 60 s into the track, for the outgoing deck and for the incoming one, whose first seconds come
// under a rising fader with the bass killed (from 60 s these used to read hip-hop at x1 as 180 and
// drum & bass at x1.03 as 89.6).
TEST(DjJudgeTempo, MeasuresDrumAndBassAndHipHopAtTheirOwnTempo) {
  if (!demo_available()) GTEST_FAIL() << "demo library missing: the build makes it, so this is a broken build";
  for (const char* id : {"dnb-174-csm", "hiphop-90-dm"}) {
    Track t = demo_track(id, "intro");
    ASSERT_FALSE(t.stereo.empty()) << id;
    for (double cue_s : {t.cue_s, 60.0}) {
      t.cue_s = cue_s;
      for (double rate : {1.0, 1.03}) expect_own_tempo(t, rate, std::string(id) + " from " + std::to_string(static_cast<int>(cue_s)) + " s");
    }
  }
}

// The slow synthetic grooves whose eighth-note hats once made both decks read double (hip-hop 85
// and 88 as 170 and 176, rock 80 as 160), and drum & bass at 172 that must stay there, blended
// into themselves from their start, as is and 3 % fast, the incoming bass killed until the swap.
TEST(DjJudgeTempo, SlowGenreGroovesAtTheirOwnTempo) {
  int k = 0;
  for (const auto& g : deck_test::genre_grooves()) {
    ++k;
    if (!(g.bpm < 90 || g.bpm == 172.0)) continue;
    Track t;
    t.id = g.name;
    t.bpm = g.bpm;
    t.stereo = deck_test::to_stereo(deck_test::render_groove(g, 70, 6 + k));
    t.cue_s = 0;
    for (double rate : {1.0, 1.03}) expect_own_tempo(t, rate, g.name + " " + std::to_string(static_cast<int>(g.bpm)));
  }
}
