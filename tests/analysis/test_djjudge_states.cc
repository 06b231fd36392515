// djjudge's state changes, driven pad by pad as a pipeline would: it prerolls like a base sink over
// all its pads (READY→PAUSED is ASYNC until every linked pad has data), holds the streaming threads
// in PAUSED until PLAYING, re-prerolls after a flush and after PLAYING→PAUSED, lets a pad's release
// complete the preroll, and posts EOS once. Each deck is fed by a test source pad linked to a
// `deck_%u` request pad; pushes that may block run on their own thread.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

constexpr const char* kCaps = "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved";

struct Deck {
  GstPad* src = nullptr;   // ours
  GstPad* sink = nullptr;  // the judge's deck_N
  std::thread pusher;
  std::atomic<bool> returned{false};
  std::atomic<int> flow{GST_FLOW_OK};
};

class JudgeStates : public ::testing::Test {
 protected:
  void SetUp() override {
    judge_ = gst_element_factory_make("djjudge", nullptr);
    ASSERT_NE(judge_, nullptr);
    bus_ = gst_bus_new();
    gst_element_set_bus(judge_, bus_);
    for (int i = 0; i < 2; ++i) {
      char name[16];
      std::snprintf(name, sizeof name, "deck_%d", i);
      decks_[i].sink = gst_element_request_pad_simple(judge_, name);
      ASSERT_NE(decks_[i].sink, nullptr);
      decks_[i].src = gst_pad_new("src", GST_PAD_SRC);
      ASSERT_EQ(gst_pad_link(decks_[i].src, decks_[i].sink), GST_PAD_LINK_OK);
      gst_pad_set_active(decks_[i].src, TRUE);
    }
  }
  void TearDown() override {
    gst_element_set_state(judge_, GST_STATE_NULL);
    for (auto& d : decks_) {
      if (d.pusher.joinable()) d.pusher.join();
      if (d.src) {
        gst_pad_set_active(d.src, FALSE);
        gst_object_unref(d.src);
      }
      if (d.sink) {
        gst_element_release_request_pad(judge_, d.sink);
        gst_object_unref(d.sink);
      }
    }
    gst_element_set_bus(judge_, nullptr);
    gst_object_unref(bus_);
    gst_object_unref(judge_);
  }

  // Stream start, caps and a TIME segment: what a source sends before its first buffer.
  void start_stream(int i) {
    GstPad* src = decks_[i].src;
    char id[16];
    std::snprintf(id, sizeof id, "deck-%d", i);
    ASSERT_TRUE(gst_pad_push_event(src, gst_event_new_stream_start(id)));
    GstCaps* caps = gst_caps_from_string(kCaps);
    ASSERT_TRUE(gst_pad_push_event(src, gst_event_new_caps(caps)));
    gst_caps_unref(caps);
    push_segment(i);
  }
  void push_segment(int i) {
    GstSegment seg;
    gst_segment_init(&seg, GST_FORMAT_TIME);
    ASSERT_TRUE(gst_pad_push_event(decks_[i].src, gst_event_new_segment(&seg)));
  }

  // 10 ms of a quiet tone at `pts`, pushed on the deck's own thread (the push may wait in PAUSED).
  void push_async(int i, GstClockTime pts) {
    Deck& d = decks_[i];
    if (d.pusher.joinable()) d.pusher.join();
    d.returned = false;
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, 480 * 2 * sizeof(float), nullptr);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    float* x = reinterpret_cast<float*>(map.data);
    for (int f = 0; f < 480; ++f) x[2 * f] = x[2 * f + 1] = 0.1f * static_cast<float>(std::sin(f * 0.1));
    gst_buffer_unmap(buf, &map);
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = 10 * GST_MSECOND;
    d.pusher = std::thread([&d, buf] {
      d.flow = gst_pad_push(d.src, buf);
      d.returned = true;
    });
  }
  void join(int i) {
    if (decks_[i].pusher.joinable()) decks_[i].pusher.join();
  }

  GstStateChangeReturn state(GstState* now, GstClockTime timeout) {
    GstState pending;
    return gst_element_get_state(judge_, now, &pending, timeout);
  }
  // Messages of `type` on the bus so far (popped).
  int count(GstMessageType type) {
    int n = 0;
    while (GstMessage* m = gst_bus_pop_filtered(bus_, type)) {
      ++n;
      gst_message_unref(m);
    }
    return n;
  }
  // Lets a push that should be blocked show it is not (a broken gate returns at once).
  static void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }

  // Going to PAUSED (ASYNC), both streams started, deck_0's first buffer pushed: deck_1 has not
  // prerolled yet.
  void pause_with_deck0_data() {
    ASSERT_EQ(gst_element_set_state(judge_, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
    start_stream(0);
    start_stream(1);
    push_async(0, 0);
  }
  // PAUSED and prerolled on both decks, both pushes held at the gate.
  void preroll_both() {
    pause_with_deck0_data();
    push_async(1, 0);
    GstState now = GST_STATE_VOID_PENDING;
    ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
    ASSERT_EQ(now, GST_STATE_PAUSED);
  }

  GstElement* judge_ = nullptr;
  GstBus* bus_ = nullptr;
  Deck decks_[2];
};

TEST_F(JudgeStates, ReadyToPausedIsAsyncUntilEveryPadHasData) {
  EXPECT_TRUE(GST_OBJECT_FLAG_IS_SET(judge_, GST_ELEMENT_FLAG_SINK));
  ASSERT_EQ(gst_element_set_state(judge_, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  EXPECT_EQ(count(GST_MESSAGE_ASYNC_START), 1);
  start_stream(0);
  start_stream(1);
  GstState now = GST_STATE_VOID_PENDING;
  EXPECT_EQ(state(&now, 0), GST_STATE_CHANGE_ASYNC) << "caps and segments alone do not preroll";
  push_async(0, 0);
  EXPECT_EQ(state(&now, 300 * GST_MSECOND), GST_STATE_CHANGE_ASYNC) << "deck_1 has delivered nothing yet";
  EXPECT_EQ(count(GST_MESSAGE_ASYNC_DONE), 0);
  push_async(1, 0);
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  EXPECT_EQ(count(GST_MESSAGE_ASYNC_DONE), 1);
  // Prerolled: the streaming threads wait with their buffers until PLAYING.
  settle();
  EXPECT_FALSE(decks_[0].returned) << "deck_0's push went through in PAUSED";
  EXPECT_FALSE(decks_[1].returned) << "deck_1's push went through in PAUSED";
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  join(0);
  join(1);
  EXPECT_EQ(decks_[0].flow, GST_FLOW_OK);
  EXPECT_EQ(decks_[1].flow, GST_FLOW_OK);
  // PLAYING → PAUSED with no thread holding data: ASYNC again, committed by the next buffers.
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  push_async(0, 10 * GST_MSECOND);
  push_async(1, 10 * GST_MSECOND);
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  settle();
  EXPECT_FALSE(decks_[0].returned);
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  join(0);
  join(1);
}

TEST_F(JudgeStates, AnUnlinkedPadIsNotWaitedFor) {
  gst_pad_unlink(decks_[1].src, decks_[1].sink);
  ASSERT_EQ(gst_element_set_state(judge_, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  start_stream(0);
  push_async(0, 0);
  GstState now = GST_STATE_VOID_PENDING;
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
}

TEST_F(JudgeStates, FlushReleasesTheWaitAndPrerollsAgain) {
  preroll_both();
  count(GST_MESSAGE_ASYNC_START);
  count(GST_MESSAGE_ASYNC_DONE);
  // A flushing seek: flush-start on every pad takes the held buffers back and loses the state.
  for (auto& d : decks_) ASSERT_TRUE(gst_pad_push_event(d.src, gst_event_new_flush_start()));
  join(0);
  join(1);
  EXPECT_EQ(decks_[0].flow, GST_FLOW_FLUSHING);
  EXPECT_EQ(decks_[1].flow, GST_FLOW_FLUSHING);
  EXPECT_GE(count(GST_MESSAGE_ASYNC_START), 1);
  GstState now = GST_STATE_VOID_PENDING;
  EXPECT_EQ(state(&now, 0), GST_STATE_CHANGE_ASYNC);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(gst_pad_push_event(decks_[i].src, gst_event_new_flush_stop(TRUE)));
    push_segment(i);
  }
  push_async(0, 0);
  EXPECT_EQ(state(&now, 300 * GST_MSECOND), GST_STATE_CHANGE_ASYNC) << "re-prerolled on one deck of two";
  push_async(1, 0);
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  EXPECT_EQ(count(GST_MESSAGE_ASYNC_DONE), 1);
  settle();
  EXPECT_FALSE(decks_[0].returned);
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  join(0);
  join(1);
  EXPECT_EQ(decks_[0].flow, GST_FLOW_OK);
}

TEST_F(JudgeStates, GoingToReadyReleasesTheWait) {
  preroll_both();
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  join(0);
  join(1);
  EXPECT_EQ(decks_[0].flow, GST_FLOW_FLUSHING);
  EXPECT_EQ(decks_[1].flow, GST_FLOW_FLUSHING);
}

TEST_F(JudgeStates, ReleasingTheSilentPadCompletesThePreroll) {
  pause_with_deck0_data();
  GstState now = GST_STATE_VOID_PENDING;
  EXPECT_EQ(state(&now, 300 * GST_MSECOND), GST_STATE_CHANGE_ASYNC);
  // deck_1 goes away without a word: deck_0 is all there is, and it has prerolled.
  gst_pad_unlink(decks_[1].src, decks_[1].sink);
  gst_element_release_request_pad(judge_, decks_[1].sink);
  gst_object_unref(decks_[1].sink);
  decks_[1].sink = nullptr;
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  join(0);
  EXPECT_EQ(decks_[0].flow, GST_FLOW_OK);
}

TEST_F(JudgeStates, EosPrerollsAndIsPostedOnceWhenPlaying) {
  pause_with_deck0_data();
  // deck_1 ends at once: EOS prerolls it, and (in PAUSED) waits for PLAYING before it is posted.
  std::atomic<bool> eos_returned{false};
  std::thread eos1([&] {
    gst_pad_push_event(decks_[1].src, gst_event_new_eos());
    eos_returned = true;
  });
  GstState now = GST_STATE_VOID_PENDING;
  ASSERT_EQ(state(&now, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  settle();
  EXPECT_FALSE(eos_returned) << "EOS went through in PAUSED";
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  eos1.join();
  join(0);
  EXPECT_EQ(count(GST_MESSAGE_EOS), 0) << "EOS posted while deck_0 plays on";
  std::thread eos0([&] { gst_pad_push_event(decks_[0].src, gst_event_new_eos()); });
  eos0.join();
  EXPECT_EQ(count(GST_MESSAGE_EOS), 1);
  // Paused and played again after the end: EOS again (a bin forgets its sinks' EOS on PAUSED), and
  // at EOS on every pad the pause needs no preroll.
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PAUSED), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(count(GST_MESSAGE_EOS), 0);
  EXPECT_EQ(gst_element_set_state(judge_, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(count(GST_MESSAGE_EOS), 1);
}

// A live source on one pad: the pipeline plays without prerolling (the source does not preroll), the
// judge commits straight to PLAYING once both decks delivered, and the pipeline's latency query,
// which goes through the judge's pads, succeeds.
TEST(JudgeStatesPipeline, LiveAndFileDecksCommitToPlaying) {
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(
      "djjudge name=j "
      "audiotestsrc is-live=true samplesperbuffer=480 num-buffers=50 ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! queue ! j.deck_0 "
      "audiotestsrc samplesperbuffer=480 num-buffers=50 ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! j.deck_1",
      &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  EXPECT_EQ(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_NO_PREROLL);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstState now = GST_STATE_VOID_PENDING, pending;
  EXPECT_EQ(gst_element_get_state(pipe, &now, &pending, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PLAYING);
  GstElement* j = gst_bin_get_by_name(GST_BIN(pipe), "j");
  GstQuery* q = gst_query_new_latency();
  ASSERT_TRUE(gst_element_query(j, q));
  gboolean live = TRUE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  EXPECT_FALSE(live) << "djjudge does not sync: it must not hold the pipeline's latency";
  EXPECT_EQ(min, 10 * GST_MSECOND) << "the live deck's one buffer";
  gst_query_unref(q);
  gst_object_unref(j);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
}

// Another element that is not a sink (a decodebin on some other branch, here an identity that posts
// async-start and later async-done as decodebin does) still prerolls when both decks have data: the
// judge waits for it and commits after it, so the pipeline's PAUSED is posted by the judge's commit
// (GstBin can otherwise lose the pipeline's EOS; see gstdjjudge.cc). Then it plays to EOS.
TEST(JudgeStatesPipeline, CommitsAfterAnotherElementStillPrerolling) {
  GError* err = nullptr;
  GstElement* pipe = gst_parse_launch(
      "djjudge name=j identity name=other "
      "audiotestsrc name=s0 samplesperbuffer=480 num-buffers=50 ! audio/x-raw,format=F32LE,rate=48000,channels=2 "
      "! j.deck_0 "
      "audiotestsrc name=s1 samplesperbuffer=480 num-buffers=50 ! audio/x-raw,format=F32LE,rate=48000,channels=2 "
      "! j.deck_1",
      &err);
  ASSERT_NE(pipe, nullptr) << (err ? err->message : "");
  GstElement* j = gst_bin_get_by_name(GST_BIN(pipe), "j");
  GstElement* other = gst_bin_get_by_name(GST_BIN(pipe), "other");
  // The sources wait until `other` has said it is prerolling.
  gulong probe[2];
  GstPad* srcpad[2];
  for (int i = 0; i < 2; ++i) {
    GstElement* s = gst_bin_get_by_name(GST_BIN(pipe), i ? "s1" : "s0");
    srcpad[i] = gst_element_get_static_pad(s, "src");
    probe[i] = gst_pad_add_probe(srcpad[i], GST_PAD_PROBE_TYPE_BLOCK_DOWNSTREAM, nullptr, nullptr, nullptr);
    gst_object_unref(s);
  }
  ASSERT_EQ(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_ASYNC);
  gst_element_post_message(other, gst_message_new_async_start(GST_OBJECT(other)));
  for (int i = 0; i < 2; ++i) {
    gst_pad_remove_probe(srcpad[i], probe[i]);
    gst_object_unref(srcpad[i]);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  GstState now = GST_STATE_VOID_PENDING, pending = GST_STATE_VOID_PENDING;
  EXPECT_EQ(gst_element_get_state(j, &now, &pending, 0), GST_STATE_CHANGE_ASYNC)
      << "the judge committed while another element was still prerolling";
  EXPECT_EQ(now, GST_STATE_READY);
  gst_element_post_message(other, gst_message_new_async_done(GST_OBJECT(other), GST_CLOCK_TIME_NONE));
  EXPECT_EQ(gst_element_get_state(pipe, &now, &pending, 5 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  EXPECT_EQ(gst_element_get_state(j, &now, &pending, 0), GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(now, GST_STATE_PAUSED);
  gst_element_set_state(pipe, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(m, nullptr) << "no EOS";
  EXPECT_EQ(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(other);
  gst_object_unref(j);
  gst_object_unref(pipe);
}

}  // namespace
