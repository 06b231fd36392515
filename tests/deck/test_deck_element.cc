// The djdeck element in pipelines: a proper source (caps, timestamps, offsets, num-buffers,
// latency), loading and its messages, bad files, the action signal, and the acceptance checks
// (keylock tempo/pitch, hotcue, loop, sync) measured on its output.
#include <gst/app/gstappsink.h>
#include <gst/audio/audio.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <cstring>
#include <cstdio>
#include <string>
#include <vector>

#include "measure.h"
#include "test_env.h"

using namespace deck_test;

namespace {

std::string tmp_dir() {
  static std::string dir = [] {
    std::string d = dju_test::build_root() + "/tests/deck-tmp";
    g_mkdir_with_parents(d.c_str(), 0755);
    return d;
  }();
  return dir;
}

// Writes a 16-bit stereo WAV of a mono signal.
std::string write_wav(const std::string& name, const std::vector<float>& mono) {
  const std::string path = tmp_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  const uint32_t data = static_cast<uint32_t>(mono.size() * 4);
  auto u32 = [f](uint32_t v) { std::fwrite(&v, 4, 1, f); };
  auto u16 = [f](uint16_t v) { std::fwrite(&v, 2, 1, f); };
  std::fwrite("RIFF", 1, 4, f);
  u32(36 + data);
  std::fwrite("WAVEfmt ", 1, 8, f);
  u32(16);
  u16(1);
  u16(2);
  u32(48000);
  u32(48000 * 4);
  u16(4);
  u16(16);
  std::fwrite("data", 1, 4, f);
  u32(data);
  std::vector<int16_t> pcm(mono.size() * 2);
  for (size_t i = 0; i < mono.size(); ++i)
    pcm[2 * i] = pcm[2 * i + 1] = static_cast<int16_t>(std::lrint(std::clamp(mono[i], -1.0f, 1.0f) * 32767.0f));
  std::fwrite(pcm.data(), 2, pcm.size(), f);
  std::fclose(f);
  return path;
}

const std::string& click124() {
  static std::string p = write_wav("click124.wav", click_track(124, 40, 0.25, 440.0, 0.1));
  return p;
}

GstElement* launch(const std::string& desc) {
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(desc.c_str(), &err);
  EXPECT_EQ(err, nullptr) << (err ? err->message : "");
  g_clear_error(&err);
  return p;
}

// Waits for an element message of that name (other messages are dropped); nullptr on timeout.
GstStructure* wait_element_message(GstElement* pipe, const char* name, GstClockTime timeout = 10 * GST_SECOND) {
  GstBus* bus = gst_element_get_bus(pipe);
  GstStructure* found = nullptr;
  const gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout / 1000);
  while (!found && g_get_monotonic_time() < end) {
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 100 * GST_MSECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR));
    if (!m) continue;
    EXPECT_NE(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR) << "pipeline error";
    const GstStructure* s = gst_message_get_structure(m);
    if (s && gst_structure_has_name(s, name)) found = gst_structure_copy(s);
    gst_message_unref(m);
  }
  gst_object_unref(bus);
  return found;
}

// Pulls `seconds` of audio from an appsink (left channel).
std::vector<float> pull(GstElement* pipe, const char* sink_name, double seconds) {
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), sink_name);
  std::vector<float> out;
  const size_t want = static_cast<size_t>(seconds * kSr);
  while (out.size() < want) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 5 * GST_SECOND);
    if (!s) break;
    GstBuffer* b = gst_sample_get_buffer(s);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    const float* f = reinterpret_cast<const float*>(map.data);
    for (size_t i = 0; i < map.size / 8; ++i) out.push_back(f[2 * i]);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  gst_object_unref(sink);
  return out;
}

bool action(GstElement* deck, const char* name, int index = 0, double value = 0.0) {
  gboolean ok = FALSE;
  g_signal_emit_by_name(deck, "action", name, index, value, &ok);
  return ok;
}

void wait_ready(GstElement* deck, int timeout_s = 4) {
  for (int i = 0; i < timeout_s * 50; ++i) {
    gchar* st = nullptr;
    g_object_get(deck, "load-state", &st, nullptr);
    const bool ready = g_strcmp0(st, "ready") == 0;
    g_free(st);
    if (ready) return;
    g_usleep(20000);
  }
  FAIL() << "track did not load";
}

// Sets a pipeline to NULL and drops it at scope exit (also when an ASSERT returns early).
struct Pipe {
  GstElement* p;
  explicit Pipe(GstElement* e) : p(e) {}
  ~Pipe() {
    if (p) {
      gst_element_set_state(p, GST_STATE_NULL);
      gst_object_unref(p);
    }
  }
};

}  // namespace

TEST(DjDeck, IsAProperSource) {
  GstElement* pipe = launch("djdeck name=d location=\"" + click124() +
                            "\" playing=true num-buffers=40 ! appsink name=sink sync=false max-buffers=4");
  Pipe guard(pipe);
  ASSERT_EQ(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_ASYNC);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  guint64 expect_offset = 0;
  int n = 0;
  double energy = 0;
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstCaps* caps = gst_sample_get_caps(s);
    GstAudioInfo info;
    ASSERT_TRUE(gst_audio_info_from_caps(&info, caps));
    EXPECT_EQ(GST_AUDIO_INFO_RATE(&info), 48000);
    EXPECT_EQ(GST_AUDIO_INFO_CHANNELS(&info), 2);
    EXPECT_EQ(GST_AUDIO_INFO_FORMAT(&info), GST_AUDIO_FORMAT_F32);
    GstBuffer* b = gst_sample_get_buffer(s);
    EXPECT_EQ(gst_buffer_get_size(b), 256u * 8);
    EXPECT_EQ(GST_BUFFER_OFFSET(b), expect_offset);
    EXPECT_EQ(GST_BUFFER_OFFSET_END(b), expect_offset + 256);
    EXPECT_EQ(GST_BUFFER_PTS(b), gst_util_uint64_scale_int(expect_offset, GST_SECOND, 48000));
    EXPECT_EQ(GST_BUFFER_PTS(b) + GST_BUFFER_DURATION(b),
              gst_util_uint64_scale_int(expect_offset + 256, GST_SECOND, 48000));
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    for (size_t i = 0; i < map.size / 4; ++i) energy += reinterpret_cast<const float*>(map.data)[i] * 1.0;
    gst_buffer_unmap(b, &map);
    expect_offset += 256;
    ++n;
    gst_sample_unref(s);
  }
  EXPECT_EQ(n, 40);  // num-buffers, then EOS
  EXPECT_TRUE(gst_app_sink_is_eos(GST_APP_SINK(sink)));
  EXPECT_NE(energy, 0.0);  // not live: it waited for the track instead of rendering silence
  gst_object_unref(sink);
}

TEST(DjDeck, LiveAnswersLatency) {
  GstElement* pipe = launch("djdeck is-live=true samples-per-buffer=480 ! fakesink sync=true");
  Pipe guard(pipe);
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  ASSERT_NE(gst_element_get_state(pipe, nullptr, nullptr, 5 * GST_SECOND), GST_STATE_CHANGE_FAILURE);
  GstQuery* q = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(pipe, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  EXPECT_TRUE(live);
  EXPECT_EQ(min, 10 * GST_MSECOND);
  gst_query_unref(q);
}

TEST(DjDeck, PostsTrackAnalysisAndState) {
  GstElement* pipe = launch("djdeck name=d report-interval=50000000 ! fakesink sync=false");
  Pipe guard(pipe);
  GstElement* deck = gst_bin_get_by_name(GST_BIN(pipe), "d");
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  g_object_set(deck, "location", click124().c_str(), nullptr);
  GstStructure* t = wait_element_message(pipe, "djdeck-track");
  ASSERT_NE(t, nullptr);
  double bpm = 0, fb = -1, dur = 0;
  gst_structure_get_double(t, "bpm", &bpm);
  gst_structure_get_double(t, "first-beat", &fb);
  gst_structure_get_double(t, "duration", &dur);
  EXPECT_NEAR(bpm, 124.0, 0.1);
  EXPECT_NEAR(fb, 0.25, 0.005);
  EXPECT_NEAR(dur, 40.0, 0.01);
  EXPECT_STREQ(gst_structure_get_string(t, "location"), click124().c_str());
  EXPECT_NE(gst_structure_get_string(t, "camelot"), nullptr);
  int points = 0;
  gst_structure_get_int(t, "waveform-points", &points);
  EXPECT_GE(points, 1000);
  EXPECT_LE(points, 4000);
  gsize len = 0;
  guchar* wf = g_base64_decode(gst_structure_get_string(t, "waveform"), &len);
  EXPECT_EQ(len, static_cast<gsize>(points) * 3);
  g_free(wf);
  gst_structure_free(t);
  double pbpm = 0;
  g_object_get(deck, "bpm", &pbpm, nullptr);
  EXPECT_NEAR(pbpm, 124.0, 0.1);

  // Play: state reports carry position, beat and bar.
  g_object_set(deck, "playing", TRUE, nullptr);
  GstStructure* s = nullptr;
  for (int i = 0; i < 20; ++i) {
    s = wait_element_message(pipe, "djdeck-state");
    ASSERT_NE(s, nullptr);
    gboolean playing = FALSE;
    double pos = 0;
    gst_structure_get_boolean(s, "playing", &playing);
    gst_structure_get_double(s, "position", &pos);
    if (playing && pos > 1.0) break;
    gst_structure_free(s);
    s = nullptr;
  }
  ASSERT_NE(s, nullptr);
  int bar = 0, beat_in_bar = 0;
  double pos = 0, beat = 0;
  gst_structure_get_double(s, "position", &pos);
  gst_structure_get_double(s, "beat", &beat);
  gst_structure_get_int(s, "bar", &bar);
  gst_structure_get_int(s, "beat-in-bar", &beat_in_bar);
  EXPECT_NEAR(beat, (pos - 0.25) * 124.0 / 60.0, 0.01);
  EXPECT_EQ(bar, static_cast<int>(std::floor(beat)) / 4 + 1);
  EXPECT_EQ(beat_in_bar, static_cast<int>(std::floor(beat)) % 4 + 1);
  gst_structure_free(s);

  // Actions: unknown names and bad indices are refused; good ones answer TRUE.
  EXPECT_FALSE(action(deck, "rewind"));
  EXPECT_FALSE(action(deck, "hotcue", 0));
  EXPECT_FALSE(action(deck, "hotcue", 9));
  EXPECT_TRUE(action(deck, "hotcue", 1));
  EXPECT_TRUE(action(deck, "beatloop", 0, 4.0));
  EXPECT_FALSE(action(deck, "beatloop", 0, -1.0));
  gst_object_unref(deck);
}

TEST(DjDeck, BadFilesGetAClearMessageAndTheNextLoadPlays) {
  GstElement* pipe = launch("djdeck name=d is-live=true ! appsink name=sink sync=false max-buffers=4");
  Pipe guard(pipe);
  GstElement* deck = gst_bin_get_by_name(GST_BIN(pipe), "d");
  ASSERT_NE(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  const std::string missing = tmp_dir() + "/no-such-track.flac";
  const std::string corrupt = tmp_dir() + "/corrupt.flac";
  g_file_set_contents(corrupt.c_str(), "fLaC but not really a FLAC file at all", -1, nullptr);
  const std::string text = tmp_dir() + "/notes.txt";
  g_file_set_contents(text.c_str(), "hello, not audio\n", -1, nullptr);
  for (const std::string& bad : {missing, corrupt, text}) {
    g_object_set(deck, "location", bad.c_str(), nullptr);
    GstStructure* e = wait_element_message(pipe, "djdeck-error");
    ASSERT_NE(e, nullptr) << bad;
    EXPECT_STREQ(gst_structure_get_string(e, "location"), bad.c_str());
    const char* reason = gst_structure_get_string(e, "reason");
    ASSERT_NE(reason, nullptr);
    EXPECT_GT(strlen(reason), 5u);
    if (bad == missing) {
      EXPECT_STREQ(reason, "no such file");
    }
    gst_structure_free(e);
    // The pipeline runs on: buffers (silence) keep coming.
    auto out = pull(pipe, "sink", 0.2);
    EXPECT_EQ(out.size(), static_cast<size_t>(0.2 * kSr) / 256 * 256 + (static_cast<size_t>(0.2 * kSr) % 256 ? 256 : 0));
    EXPECT_EQ(max_step(out, 0, out.size()), 0.0);
  }
  GstState st;
  gst_element_get_state(pipe, &st, nullptr, 0);
  EXPECT_EQ(st, GST_STATE_PLAYING);
  g_object_set(deck, "location", click124().c_str(), "playing", TRUE, nullptr);
  GstStructure* t = wait_element_message(pipe, "djdeck-track");
  ASSERT_NE(t, nullptr);
  gst_structure_free(t);
  auto out = pull(pipe, "sink", 2.0);
  EXPECT_GT(max_step(out, 0, out.size()), 0.01);  // it plays
  gst_object_unref(deck);
}

// Acceptance: tempo=1.06 with keylock: the kicks come 6 % faster (±0.5 %) and the tone keeps its
// pitch (±5 cents); without keylock the tone rises by 1200·log2(1.06) = 100.9 cents (±5).
TEST(DjDeck, TempoWithAndWithoutKeylock) {
  for (bool keylock : {true, false}) {
    GstElement* pipe = launch(std::string("djdeck location=\"") + click124() + "\" playing=true tempo=1.06 keylock=" +
                              (keylock ? "true" : "false") + " ! appsink name=sink sync=false max-buffers=4");
    Pipe guard(pipe);
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    auto out = pull(pipe, "sink", 20.0);
    ASSERT_GE(out.size(), static_cast<size_t>(20 * kSr));
    auto on = onsets(out);
    ASSERT_GT(on.size(), 30u);
    const double bpm = 60.0 / fitted_period(on);
    EXPECT_NEAR(bpm / (124.0 * 1.06), 1.0, 0.005) << "keylock " << keylock << " measured " << bpm;
    // The tone between the kicks: a 2 s window late enough for the kicks' tails to matter little.
    const double f = tone_frequency(out, static_cast<size_t>(5 * kSr), static_cast<size_t>(2 * kSr),
                                    keylock ? 440.0 : 466.4);
    if (keylock) {
      EXPECT_NEAR(cents(f, 440.0), 0.0, 5.0);
    } else {
      EXPECT_NEAR(cents(f, 440.0), 100.88, 5.0);
    }
  }
}

// Acceptance: a hotcue jump lands within ±1 ms; a 4-beat loop repeats every 4·60/BPM (±1 ms) and
// its seam's largest sample step stays below the music's own.
TEST(DjDeck, HotcueAndLoopThroughActions) {
  const double bpm = 124, fb = 0.25, period = 60.0 / bpm;
  auto mono = click_track(bpm, 40, fb, 440.0, 0.1);
  GstElement* pipe = launch("djdeck name=d location=\"" + click124() + "\" ! appsink name=sink sync=false max-buffers=4");
  Pipe guard(pipe);
  GstElement* deck = gst_bin_get_by_name(GST_BIN(pipe), "d");
  wait_ready(deck);
  // Hotcue 2 exactly 30 ms before beat 16's kick, then play from elsewhere and hit it.
  const double cue_s = std::round((fb + 16 * period - 0.030) * kSr) / kSr;  // on a frame
  g_object_set(deck, "position", cue_s, nullptr);
  ASSERT_TRUE(action(deck, "hotcue-set", 2));
  g_object_set(deck, "position", 3.0, "playing", TRUE, nullptr);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  auto before = pull(pipe, "sink", 0.5);
  ASSERT_TRUE(action(deck, "hotcue", 2));
  double pos = 0;
  g_object_get(deck, "position", &pos, nullptr);
  // The streaming thread may already have rendered the few buffers the appsink has room for since
  // the jump (a loaded machine): the position is the cue point plus at most those. The landing
  // itself is checked sample by sample below.
  EXPECT_GE(pos, cue_s - 1.0 / kSr);
  EXPECT_LT(pos, cue_s + 8 * 256 / kSr);
  auto after = pull(pipe, "sink", 0.2);
  // Non-live and pulled: the jump happened at the start of some buffer not yet rendered when the
  // action came. Find where the output becomes the track from the cue point on: after the 5 ms
  // crossfade it must equal the track sample for sample (16-bit source: within one LSB).
  const ptrdiff_t cue_frame = static_cast<ptrdiff_t>(std::llround(cue_s * kSr));
  std::vector<float> q(mono.size());
  for (size_t i = 0; i < mono.size(); ++i) q[i] = std::lrint(std::clamp(mono[i], -1.0f, 1.0f) * 32767.0f) / 32768.0f;
  ptrdiff_t landed = -1;
  for (size_t j = 0; j + 2000 < after.size() && landed < 0; j += 256) {
    bool same = true;
    for (size_t m = 300; m < 2000 && same; ++m) same = std::fabs(after[j + m] - q[cue_frame + m]) < 2e-4;
    if (same) landed = static_cast<ptrdiff_t>(j);
  }
  ASSERT_GE(landed, 0) << "the output never became the track from the hotcue";
  // And the kick 30 ms after the hotcue is heard 30 ms after the jump (±1 ms).
  auto src_on = onsets(mono);
  const double src_kick_delay = src_on[16] - (fb + 16 * period);  // the detector's own offset
  std::vector<float> tail(after.begin() + landed, after.end());
  auto on = onsets(tail, 0.3, 0.05);
  ASSERT_FALSE(on.empty());
  EXPECT_NEAR(on[0], 0.030 + src_kick_delay, 0.001);
  EXPECT_LT(landed, 256 * 8);  // within the few buffers the appsink holds

  // A 4-beat loop, 8 s of it.
  ASSERT_TRUE(action(deck, "beatloop", 0, 4.0));
  auto loop = pull(pipe, "sink", 8.0);
  auto lo = onsets(loop, 0.3, 0.05);
  ASSERT_GE(lo.size(), 12u);
  for (size_t i = 4; i + 4 < lo.size(); ++i) EXPECT_NEAR(lo[i + 4] - lo[i], 4 * period, 0.001) << i;
  // No click: nothing in the looped output steps further than the music itself does. A seam that
  // lands on a kick's attack blends two attacks a sample apart, which may add |a−b|/240 (the
  // 5 ms linear crossfade's slope) on top of the attack's own step: allow 5 %.
  EXPECT_LT(max_step(loop, 0, loop.size()), 1.05 * max_step(mono, 0, mono.size()));
  gst_object_unref(deck);
}

// Acceptance: two decks at different BPMs in one pipeline; after `sync` their beats coincide
// within ±2 ms for a minute.
TEST(DjDeck, SyncToLeaderForAMinute) {
  const std::string b_path = write_wav("click128.wav", click_track(128, 90, 0.11));
  const std::string a_path = write_wav("click122.wav", click_track(122, 90, 0.4));
  GstElement* pipe = launch("djdeck name=a location=\"" + a_path + "\" position=0.9 ! appsink name=sa sync=false max-buffers=8 "
                            "djdeck name=b location=\"" + b_path + "\" sync-leader=a keylock=true ! "
                            "appsink name=sb sync=false max-buffers=8");
  Pipe guard(pipe);
  GstElement* a = gst_bin_get_by_name(GST_BIN(pipe), "a");
  GstElement* b = gst_bin_get_by_name(GST_BIN(pipe), "b");
  wait_ready(a);
  wait_ready(b);
  g_object_set(a, "position", 3.3, "playing", TRUE, nullptr);
  g_object_set(b, "position", 10.0, "playing", TRUE, nullptr);
  ASSERT_TRUE(action(b, "sync"));
  double tempo = 0;
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::vector<float> oa, ob;
  for (int i = 0; i < 60; ++i) {  // interleave so neither appsink fills up
    auto x = pull(pipe, "sa", 1.0);
    auto y = pull(pipe, "sb", 1.0);
    oa.insert(oa.end(), x.begin(), x.end());
    ob.insert(ob.end(), y.begin(), y.end());
  }
  g_object_get(b, "tempo", &tempo, nullptr);
  EXPECT_NEAR(tempo, 122.0 / 128.0, 1e-9);
  auto on_a = onsets(oa), on_b = onsets(ob);
  ASSERT_GT(on_b.size(), 100u);
  double worst = 0;
  for (double x : on_b) {
    if (x < 0.05) continue;
    double best = 1e9;
    for (double y : on_a) best = std::min(best, std::fabs(x - y));
    worst = std::max(worst, best);
  }
  EXPECT_LT(worst, 0.002);
  EXPECT_FALSE(action(a, "sync"));  // a has no leader
  gst_object_unref(a);
  gst_object_unref(b);
}

// ---------------------------------------------------------------- teardown

namespace {

// Counts GLib criticals and warnings (a use of a finalized object shows up as one) while alive.
struct CriticalCounter {
  static std::atomic<int>& count() {
    static std::atomic<int> n{0};
    return n;
  }
  static void handler(const gchar* domain, GLogLevelFlags level, const gchar* msg, gpointer) {
    ++count();
    std::fprintf(stderr, "%s-%s: %s\n", domain ? domain : "", (level & G_LOG_LEVEL_CRITICAL) ? "CRITICAL" : "WARNING",
                 msg);
  }
  GLogFunc old;
  gpointer old_data = nullptr;
  CriticalCounter() {
    count() = 0;
    old = g_log_set_default_handler(handler, nullptr);
  }
  ~CriticalCounter() { g_log_set_default_handler(old, old_data); }
};

// A bus handler as slow as a busy application: holds the deck's loader thread on its track message
// for a moment, so the deck is already streaming while the load's completion is still running.
GstBusSyncReply slow_on_track(GstBus*, GstMessage* m, gpointer) {
  const GstStructure* s = gst_message_get_structure(m);
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && s && gst_structure_has_name(s, "djdeck-track")) g_usleep(30000);
  return GST_BUS_PASS;
}

// Plays `path` until the first buffer reaches the sink (or `wait_ms` passes when `first_buffer` is
// false), then tears the pipeline down. Returns the seconds the teardown took.
double play_and_tear_down(const std::string& path, bool first_buffer, int wait_ms) {
  GstElement* pipe = launch("djdeck name=d playing=true location=\"" + path +
                            "\" ! fakesink name=sink sync=false signal-handoffs=true");
  GstBus* bus = gst_element_get_bus(pipe);
  gst_bus_set_sync_handler(bus, slow_on_track, nullptr, nullptr);
  gst_object_unref(bus);
  struct Seen {
    std::mutex m;
    std::condition_variable cv;
    bool buffer = false;
  } seen;
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  g_signal_connect(sink, "handoff", G_CALLBACK(+[](GstElement*, GstBuffer*, GstPad*, gpointer d) {
                     auto* s = static_cast<Seen*>(d);
                     std::lock_guard<std::mutex> lk(s->m);
                     s->buffer = true;
                     s->cv.notify_all();
                   }),
                   &seen);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  {
    std::unique_lock<std::mutex> lk(seen.m);
    if (first_buffer)
      seen.cv.wait_for(lk, std::chrono::seconds(30), [&] { return seen.buffer; });
    else
      seen.cv.wait_for(lk, std::chrono::milliseconds(wait_ms), [] { return false; });
  }
  const gint64 t0 = g_get_monotonic_time();
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return (g_get_monotonic_time() - t0) / 1e6;
}

}  // namespace

// Tearing a deck down while it loads, or right after its first buffers (when the load's completion
// may still be running on the loader thread), neither crashes, hangs nor touches a dead object.
TEST(DjDeck, TeardownDuringAndRightAfterLoadIsSafe) {
  const std::string long_path = write_wav("long360.wav", click_track(124, 360, 0.25, 440.0, 0.1));
  const std::string short_path = write_wav("short12.wav", click_track(128, 12, 0.1, 330.0, 0.1));
  CriticalCounter criticals;
  double worst = 0;
  // Mid-load: a six-minute track, torn down at different points of its decode and analysis.
  for (int i = 0; i < 10; ++i) worst = std::max(worst, play_and_tear_down(long_path, false, 40 * i));
  // Right after the first buffers: the six-minute track, then a short one many times.
  worst = std::max(worst, play_and_tear_down(long_path, true, 0));
  for (int i = 0; i < 25; ++i) worst = std::max(worst, play_and_tear_down(short_path, true, 0));
  // A bare element dropped while it loads (dispose during the load, and on its completion).
  for (int i = 0; i < 10; ++i) {
    GstElement* d = gst_element_factory_make("djdeck", nullptr);
    ASSERT_NE(d, nullptr);
    g_object_set(d, "location", (i % 2 ? long_path : short_path).c_str(), nullptr);
    g_usleep(static_cast<gulong>(i) * 15000);
    const gint64 t0 = g_get_monotonic_time();
    gst_object_unref(d);
    worst = std::max(worst, (g_get_monotonic_time() - t0) / 1e6);
  }
  EXPECT_EQ(CriticalCounter::count().load(), 0);
  EXPECT_LT(worst, 5.0) << "a teardown waited for a whole load instead of cancelling it";
}

// A load cut short by going to NULL is not lost: the deck loads the track when it comes back up.
TEST(DjDeck, LoadCutShortByShutdownResumes) {
  const std::string long_path = write_wav("long360.wav", click_track(124, 360, 0.25, 440.0, 0.1));
  GstElement* pipe = launch("djdeck name=d location=\"" + long_path + "\" ! fakesink sync=false");
  Pipe guard(pipe);
  GstElement* deck = gst_bin_get_by_name(GST_BIN(pipe), "d");
  gst_element_set_state(pipe, GST_STATE_READY);
  g_usleep(50000);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_element_set_state(pipe, GST_STATE_PAUSED);
  wait_ready(deck, 30);
  double bpm = 0;
  g_object_get(deck, "bpm", &bpm, nullptr);
  EXPECT_NEAR(bpm, 124.0, 0.01);
  gst_object_unref(deck);
}

// Sync stays engaged (sync lock): the follower keeps up with the leader's later tempo changes and
// stays on its beats; moving its own tempo or a sync with a negative value lets go. (Varispeed:
// with keylock a tempo change leaves a transient of a few ms, see the dsp test.)
TEST(DjDeck, SyncFollowsTheLeadersTempoChanges) {
  const std::string b_path = write_wav("click128.wav", click_track(128, 90, 0.11));
  const std::string a_path = write_wav("click122.wav", click_track(122, 90, 0.4));
  GstElement* pipe = launch("djdeck name=a location=\"" + a_path + "\" ! appsink name=sa sync=false max-buffers=8 "
                            "djdeck name=b location=\"" + b_path + "\" sync-leader=a keylock=false ! "
                            "appsink name=sb sync=false max-buffers=8");
  Pipe guard(pipe);
  GstElement* a = gst_bin_get_by_name(GST_BIN(pipe), "a");
  GstElement* b = gst_bin_get_by_name(GST_BIN(pipe), "b");
  wait_ready(a);
  wait_ready(b);
  g_object_set(a, "position", 2.0, "playing", TRUE, nullptr);
  g_object_set(b, "position", 5.0, "playing", TRUE, nullptr);
  ASSERT_TRUE(action(b, "sync"));
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  std::vector<float> oa, ob;
  std::vector<double> changes;  // output seconds at which the leader's tempo changed
  const double leader_tempi[] = {1.0, 1.05, 0.96, 1.02};
  for (int seg = 0; seg < 4; ++seg) {
    if (seg > 0) {
      changes.push_back(static_cast<double>(oa.size()) / kSr);
      g_object_set(a, "tempo", leader_tempi[seg], nullptr);
    }
    for (int i = 0; i < 8; ++i) {
      auto x = pull(pipe, "sa", 1.0);
      auto y = pull(pipe, "sb", 1.0);
      oa.insert(oa.end(), x.begin(), x.end());
      ob.insert(ob.end(), y.begin(), y.end());
    }
    double tempo = 0;
    g_object_get(b, "tempo", &tempo, nullptr);
    EXPECT_NEAR(tempo, leader_tempi[seg] * 122.0 / 128.0, 1e-9) << "segment " << seg;
  }
  auto on_a = onsets(oa), on_b = onsets(ob);
  ASSERT_GT(on_b.size(), 50u);
  double worst = 0;
  size_t checked = 0;
  for (double x : on_b) {
    bool settling = x < 0.05;
    for (double c : changes) settling = settling || (x > c - 0.1 && x < c + 0.5);  // ramp and lock-in
    if (settling) continue;
    double best = 1e9;
    for (double y : on_a) best = std::min(best, std::fabs(x - y));
    worst = std::max(worst, best);
    ++checked;
  }
  EXPECT_GT(checked, 40u);
  EXPECT_LT(worst, 0.002);

  // The follower's own tempo fader takes over: the leader's next change no longer carries over.
  g_object_set(b, "tempo", 0.99, nullptr);
  g_object_set(a, "tempo", 1.0, nullptr);
  pull(pipe, "sa", 0.5);
  pull(pipe, "sb", 0.5);
  double tempo = 0;
  g_object_get(b, "tempo", &tempo, nullptr);
  EXPECT_DOUBLE_EQ(tempo, 0.99);
  // Engaged again, then released with a negative value.
  ASSERT_TRUE(action(b, "sync"));
  pull(pipe, "sa", 0.5);
  pull(pipe, "sb", 0.5);
  g_object_get(b, "tempo", &tempo, nullptr);
  EXPECT_NEAR(tempo, 122.0 / 128.0, 1e-9);
  ASSERT_TRUE(action(b, "sync", 0, -1.0));
  g_object_set(a, "tempo", 1.08, nullptr);
  pull(pipe, "sa", 0.5);
  pull(pipe, "sb", 0.5);
  g_object_get(b, "tempo", &tempo, nullptr);
  EXPECT_NEAR(tempo, 122.0 / 128.0, 1e-9);
  gst_object_unref(a);
  gst_object_unref(b);
}
