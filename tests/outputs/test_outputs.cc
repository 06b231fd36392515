// Broadcast outputs against real far ends on 127.0.0.1: nginx-rtmp, SRT readers (ffmpeg/ffprobe),
// HLS files read back by ffprobe, icecast2. The "battle" is a live 48 kHz stereo source into a
// master tee with one more branch (the monitor) standing in for the battle's WebRTC audio.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>
#include <json-glib/json-glib.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "far_ends.h"
#include "output_manager.h"

using namespace dju_test;

namespace {

class Battle {
 public:
  Battle() {
    GError* err = nullptr;
    pipeline_ = gst_parse_launch(
        "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 samplesperbuffer=256 ! "
        "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved ! tee name=master ! "
        "queue ! appsink name=monitor sync=false emit-signals=false",
        &err);
    EXPECT_TRUE(pipeline_) << (err ? err->message : "");
    g_clear_error(&err);
    GstElement* monitor = gst_bin_get_by_name(GST_BIN(pipeline_), "monitor");
    GstAppSinkCallbacks cbs{};
    cbs.new_sample = [](GstAppSink* sink, gpointer data) -> GstFlowReturn {
      auto* self = static_cast<Battle*>(data);
      GstSample* s = gst_app_sink_pull_sample(sink);
      if (s) gst_sample_unref(s);
      gint64 now = g_get_monotonic_time();
      gint64 last = self->last_buffer_us_.exchange(now);
      if (last) {
        gint64 gap = now - last;
        gint64 prev = self->max_gap_us_.load();
        while (gap > prev && !self->max_gap_us_.compare_exchange_weak(prev, gap)) {
        }
      }
      self->buffers_.fetch_add(1);
      return GST_FLOW_OK;
    };
    gst_app_sink_set_callbacks(GST_APP_SINK(monitor), &cbs, this, nullptr);
    gst_object_unref(monitor);
    tee_ = gst_bin_get_by_name(GST_BIN(pipeline_), "master");
    hls_root_ = make_temp_dir("dju-hls-XXXXXX");
    manager_ = dju::OutputManager::create(GST_PIPELINE(pipeline_), tee_, hls_root_);
    GstBus* bus = gst_element_get_bus(pipeline_);
    watch_ = gst_bus_add_watch(bus, on_bus, this);
    gst_object_unref(bus);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    run_until([&] { return buffers_.load() > 10; }, 5);
  }

  ~Battle() {
    manager_.reset();
    gst_element_set_state(pipeline_, GST_STATE_NULL);
    g_source_remove(watch_);
    gst_object_unref(tee_);
    gst_object_unref(pipeline_);
    gchar* cmd = g_strdup_printf("rm -rf '%s'", hls_root_.c_str());
    (void)!system(cmd);
    g_free(cmd);
  }

  static gboolean on_bus(GstBus*, GstMessage* m, gpointer data) {
    auto* self = static_cast<Battle*>(data);
    if (self->manager_ && self->manager_->handle_bus_message(m)) return TRUE;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gst_message_parse_error(m, &err, nullptr);
      self->battle_errors_.push_back(err ? err->message : "?");
      g_clear_error(&err);
    }
    return TRUE;
  }

  // Iterates the main context (the server's) until pred holds or timeout_s passes.
  static bool run_until(const std::function<bool()>& pred, double timeout_s) {
    gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
    while (g_get_monotonic_time() < end) {
      while (g_main_context_iteration(nullptr, FALSE)) {
      }
      if (pred()) return true;
      g_usleep(5000);
    }
    return pred();
  }
  static void spin(double seconds) {
    run_until([] { return false; }, seconds);
  }

  std::string add(const std::string& json, std::string* error = nullptr, int* status = nullptr) {
    JsonParser* p = json_parser_new();
    EXPECT_TRUE(json_parser_load_from_data(p, json.c_str(), -1, nullptr)) << json;
    std::string e;
    int st = 0;
    std::string id = manager_->add(json_node_get_object(json_parser_get_root(p)), &e, &st);
    g_object_unref(p);
    if (error) *error = e;
    if (status) *status = st;
    return id;
  }

  // The output's entry of list() as a JSON object text ("" if none) and its status.
  std::string entry(const std::string& id) {
    JsonNode* n = manager_->list();
    JsonArray* arr = json_node_get_array(n);
    std::string out;
    for (guint i = 0; i < json_array_get_length(arr); ++i) {
      JsonObject* o = json_array_get_object_element(arr, i);
      if (id == json_object_get_string_member(o, "id")) {
        JsonNode* copy = json_node_new(JSON_NODE_OBJECT);
        json_node_set_object(copy, o);
        gchar* s = json_to_string(copy, FALSE);
        out = s;
        g_free(s);
        json_node_unref(copy);
      }
    }
    json_node_unref(n);
    return out;
  }
  std::string field(const std::string& id, const char* name) {
    JsonNode* n = manager_->list();
    JsonArray* arr = json_node_get_array(n);
    std::string out;
    for (guint i = 0; i < json_array_get_length(arr); ++i) {
      JsonObject* o = json_array_get_object_element(arr, i);
      if (id == json_object_get_string_member(o, "id") && json_object_has_member(o, name)) {
        JsonNode* m = json_object_get_member(o, name);
        if (json_node_get_value_type(m) == G_TYPE_STRING)
          out = json_node_get_string(m);
        else if (json_node_get_value_type(m) == G_TYPE_INT64)
          out = std::to_string(json_node_get_int(m));
        else if (json_node_get_value_type(m) == G_TYPE_BOOLEAN)
          out = json_node_get_boolean(m) ? "true" : "false";
      }
    }
    json_node_unref(n);
    return out;
  }
  std::string status(const std::string& id) { return field(id, "status"); }
  bool wait_status(const std::string& id, const std::string& want, double timeout_s) {
    return run_until([&] { return status(id) == want; }, timeout_s);
  }
  size_t count() {
    JsonNode* n = manager_->list();
    size_t c = json_array_get_length(json_node_get_array(n));
    json_node_unref(n);
    return c;
  }
  bool has_element(const std::string& name) {
    GstElement* e = gst_bin_get_by_name(GST_BIN(pipeline_), name.c_str());
    if (e) gst_object_unref(e);
    return e != nullptr;
  }

  dju::OutputManager& manager() { return *manager_; }
  const std::string& hls_root() const { return hls_root_; }
  guint64 buffers() const { return buffers_.load(); }
  void reset_gap() { max_gap_us_.store(0); }
  double max_gap_ms() const { return max_gap_us_.load() / 1000.0; }
  const std::vector<std::string>& battle_errors() const { return battle_errors_; }

 private:
  GstElement* pipeline_ = nullptr;
  GstElement* tee_ = nullptr;
  std::string hls_root_;
  std::unique_ptr<dju::OutputManager> manager_;
  guint watch_ = 0;
  std::atomic<guint64> buffers_{0};
  std::atomic<gint64> last_buffer_us_{0};
  std::atomic<gint64> max_gap_us_{0};
  std::vector<std::string> battle_errors_;
};

// The master makes 48000/256 = 187.5 buffers a second.
constexpr double kBuffersPerSecond = 48000.0 / 256.0;
// Longest pause allowed between two master buffers at the monitor while outputs fail or go away.
// A tee held by an output would stall for seconds (a drain waits up to 3 s, a TCP connect longer);
// 0.5 s leaves room for a shared, overloaded CI box descheduling the monitor thread.
constexpr double kMaxGapMs = 500.0;

void expect_aac_48k_stereo(const std::vector<ProbedStream>& streams, const std::string& raw) {
  const ProbedStream* a = find_stream(streams, "audio");
  ASSERT_NE(a, nullptr) << raw;
  EXPECT_EQ(a->codec_name, "aac") << raw;
  EXPECT_EQ(a->sample_rate, 48000) << raw;
  EXPECT_EQ(a->channels, 2) << raw;
}

}  // namespace

TEST(OutputSpecs, BadRequestsAreRefusedAndChangeNothing) {
  Battle battle;
  struct Case {
    const char* body;
    int status;
    const char* says;
  } cases[] = {
      {R"({})", 400, "kind"},
      {R"({"kind":"fax"})", 400, "unknown"},
      {R"({"kind":"rtmp"})", 400, "url"},
      {R"({"kind":"rtmp","url":"http://example.com/live/key"})", 400, "rtmp://"},
      {R"({"kind":"rtmp","url":"rtmp://127.0.0.1/live"})", 400, "stream key"},
      {R"({"kind":"rtmp","url":"rtmp://127.0.0.1/live/key","video":"yes"})", 400, "true or false"},
      {R"({"kind":"srt"})", 400, "port"},
      {R"({"kind":"srt","port":80})", 400, "between"},
      {R"({"kind":"srt","port":9000.5})", 400, "whole"},
      {R"({"kind":"srt","port":9000,"passphrase":"short"})", 400, "passphrase"},
      {R"({"kind":"icecast","url":"icecast://127.0.0.1:8000/live.mp3"})", 400, "password"},
      {R"({"kind":"icecast","url":"icecast://source:pw@127.0.0.1:8000/live","format":"flac"})", 400, "format"},
      {R"({"kind":"hls","audio_kbps":5000})", 400, "audio_kbps"},
  };
  for (auto& c : cases) {
    std::string err;
    int st = 0;
    EXPECT_EQ(battle.add(c.body, &err, &st), "") << c.body;
    EXPECT_EQ(st, c.status) << c.body;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.body << " -> " << err;
  }
  EXPECT_EQ(battle.count(), 0u);
  EXPECT_FALSE(battle.manager().remove("rtmp-1"));

  // Conflicts: the same SRT port twice, and a port some other program holds.
  int port = free_udp_port();
  std::string id = battle.add(R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  ASSERT_NE(id, "");
  std::string err;
  int st = 0;
  EXPECT_EQ(battle.add(R"({"kind":"srt","port":)" + std::to_string(port) + "}", &err, &st), "");
  EXPECT_EQ(st, 409) << err;
  int other = free_udp_port();
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(other));
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(battle.add(R"({"kind":"srt","port":)" + std::to_string(other) + "}", &err, &st), "");
  EXPECT_EQ(st, 409) << err;
  close(fd);
  EXPECT_EQ(battle.count(), 1u);
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(RtmpOutput, NginxReceivesAac48kStereoAndTheKeyStaysSecret) {
  RtmpServer nginx(free_tcp_port());
  ASSERT_TRUE(nginx.start());
  Battle battle;
  std::string id = battle.add(R"({"kind":"rtmp","url":")" + nginx.url("s3cretkey") + R"("})");
  ASSERT_EQ(id, "rtmp-1");
  ASSERT_TRUE(battle.wait_status(id, "live", 10)) << battle.entry(id);
  EXPECT_EQ(battle.entry(id).find("s3cretkey"), std::string::npos) << battle.entry(id);
  std::string raw;
  auto streams = ffprobe_streams(nginx.url("s3cretkey"), &raw);
  expect_aac_48k_stereo(streams, raw);
  EXPECT_EQ(find_stream(streams, "video"), nullptr) << raw;
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(RtmpOutput, VideoTrackIsH264720p30WithAac) {
  RtmpServer nginx(free_tcp_port());
  ASSERT_TRUE(nginx.start());
  Battle battle;
  dju::OverlayInfo info;
  info.battle_name = "Final <&> Round";
  info.dj_a = "DJ Ada";
  info.dj_b = "DJ Bo";
  info.score_a = 71.4;
  info.score_b = 68.9;
  info.remaining_s = 600;
  info.state = "live";
  battle.manager().update_overlay(info);
  std::string id = battle.add(R"({"kind":"rtmp","video":true,"url":")" + nginx.url("vid") + R"("})");
  ASSERT_NE(id, "");
  ASSERT_TRUE(battle.wait_status(id, "live", 10)) << battle.entry(id);
  battle.spin(1.0);
  std::string raw;
  auto streams = ffprobe_streams(nginx.url("vid"), &raw);
  expect_aac_48k_stereo(streams, raw);
  const ProbedStream* v = find_stream(streams, "video");
  ASSERT_NE(v, nullptr) << raw;
  EXPECT_EQ(v->codec_name, "h264") << raw;
  EXPECT_EQ(v->width, 1280) << raw;
  EXPECT_EQ(v->height, 720) << raw;
  EXPECT_NEAR(v->frame_rate, 30.0, 1.0) << raw;

  // One decoded frame: the overlays put white text in the top band (name, timer) and the bottom
  // band (DJs, scores); the waveform of a 0.3 sine stays in the middle.
  std::string dir = make_temp_dir("dju-frame-XXXXXX");
  std::string frame = dir + "/frame.gray";
  std::string out;
  ASSERT_EQ(run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", nginx.url("vid"), "-frames:v", "1", "-f",
                         "rawvideo", "-pix_fmt", "gray", "-y", frame},
                        &out, 20),
            0)
      << out;
  std::string pixels = read_file(frame);
  g_remove(frame.c_str());
  g_rmdir(dir.c_str());
  ASSERT_EQ(pixels.size(), 1280u * 720u);
  auto bright = [&](int row0, int row1) {
    int n = 0;
    for (int y = row0; y < row1; ++y)
      for (int x = 0; x < 1280; ++x) n += static_cast<unsigned char>(pixels[y * 1280 + x]) > 200;
    return n;
  };
  EXPECT_GT(bright(0, 110), 2000) << "no title text";
  EXPECT_GT(bright(640, 720), 2000) << "no score text";
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(SrtOutput, FfprobeReadsWhileAnotherReaderIsConnected) {
  Battle battle;
  int port = free_udp_port();
  std::string id = battle.add(R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  ASSERT_NE(id, "");
  ASSERT_TRUE(battle.wait_status(id, "live", 10)) << battle.entry(id);
  std::string url = "srt://127.0.0.1:" + std::to_string(port);
  // First reader: ffmpeg decodes 6 s of the stream to nowhere.
  std::string dir = make_temp_dir("dju-srt-XXXXXX");
  Process first;
  ASSERT_TRUE(first.start({"ffmpeg", "-nostdin", "-v", "error", "-i", url, "-t", "6", "-f", "null", "-"},
                          dir + "/ffmpeg.log"));
  battle.spin(1.5);
  ASSERT_TRUE(first.running()) << read_file(dir + "/ffmpeg.log");
  // Second reader while the first is connected.
  std::string raw;
  auto streams = ffprobe_streams(url, &raw);
  expect_aac_48k_stereo(streams, raw);
  EXPECT_TRUE(first.running()) << "the first reader dropped: " << read_file(dir + "/ffmpeg.log");
  int rc = -1;
  Battle::run_until([&] { return (rc = first.wait(0)) != -1 || !first.running(); }, 10);
  EXPECT_EQ(first.wait(100), 0) << read_file(dir + "/ffmpeg.log");
  EXPECT_EQ(read_file(dir + "/ffmpeg.log"), "");
  g_remove((dir + "/ffmpeg.log").c_str());
  g_rmdir(dir.c_str());
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(SrtOutput, VideoTrackIsH264720p30WithAac) {
  Battle battle;
  int port = free_udp_port();
  std::string id =
      battle.add(R"({"kind":"srt","video":true,"bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  ASSERT_NE(id, "");
  ASSERT_TRUE(battle.wait_status(id, "live", 10)) << battle.entry(id);
  std::string raw;
  auto streams = ffprobe_streams("srt://127.0.0.1:" + std::to_string(port), &raw);
  expect_aac_48k_stereo(streams, raw);
  const ProbedStream* v = find_stream(streams, "video");
  ASSERT_NE(v, nullptr) << raw;
  EXPECT_EQ(v->codec_name, "h264") << raw;
  EXPECT_EQ(v->width, 1280) << raw;
  EXPECT_EQ(v->height, 720) << raw;
  EXPECT_NEAR(v->frame_rate, 30.0, 1.0) << raw;
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(SrtOutput, PassphraseIsRequiredToRead) {
  Battle battle;
  int port = free_udp_port();
  std::string id = battle.add(R"({"kind":"srt","bind":"127.0.0.1","passphrase":"battle-secret-42","port":)" +
                              std::to_string(port) + "}");
  ASSERT_NE(id, "");
  EXPECT_EQ(battle.field(id, "encrypted"), "true");
  ASSERT_TRUE(battle.wait_status(id, "live", 10)) << battle.entry(id);
  std::string url = "srt://127.0.0.1:" + std::to_string(port);
  std::string raw;
  EXPECT_TRUE(ffprobe_streams(url, &raw, 6).empty()) << "read without the passphrase: " << raw;
  expect_aac_48k_stereo(ffprobe_streams(url + "?passphrase=battle-secret-42", &raw), raw);
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(HlsOutput, PlaylistParsesSegmentsDecodeDurationsAddUp) {
  Battle battle;
  std::string id = battle.add(R"({"kind":"hls"})");
  ASSERT_EQ(id, "hls-1");
  EXPECT_EQ(battle.field(id, "playlist"), "hls-1/playlist.m3u8");
  std::string dir = battle.hls_root() + "/hls-1";
  std::string playlist = dir + "/playlist.m3u8";
  ASSERT_TRUE(Battle::run_until(
      [&] {
        std::string pl = read_file(playlist);
        size_t n = 0;
        for (size_t p = pl.find("#EXTINF"); p != std::string::npos; p = pl.find("#EXTINF", p + 1)) ++n;
        return n >= 3;
      },
      15))
      << read_file(playlist);
  EXPECT_EQ(battle.status(id), "live");
  battle.manager().stop_all();  // the format needs a proper end: ENDLIST
  EXPECT_EQ(battle.status(id), "stopped");

  std::string pl = read_file(playlist);
  ASSERT_EQ(pl.rfind("#EXTM3U", 0), 0u) << pl;
  EXPECT_NE(pl.find("#EXT-X-TARGETDURATION:"), std::string::npos) << pl;
  EXPECT_NE(pl.find("#EXT-X-ENDLIST"), std::string::npos) << pl;
  std::vector<std::pair<double, std::string>> segs;
  gchar** lines = g_strsplit(pl.c_str(), "\n", -1);
  for (int i = 0; lines[i]; ++i) {
    if (g_str_has_prefix(lines[i], "#EXTINF:") && lines[i + 1]) {
      segs.push_back({g_ascii_strtod(lines[i] + 8, nullptr), g_strstrip(lines[i + 1])});
    }
  }
  g_strfreev(lines);
  ASSERT_GE(segs.size(), 3u) << pl;
  double sum_extinf = 0;
  std::vector<double> starts, durations;
  for (auto& [extinf, name] : segs) {
    std::string path = dir + "/" + name;
    std::string out;
    // Every sample of the segment decodes, without a word on stderr.
    ASSERT_EQ(run_command({"ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"}, &out, 20), 0)
        << out;
    EXPECT_EQ(out, "") << name;
    run_command({"ffprobe", "-v", "error", "-show_entries", "format=start_time,duration", "-of",
                 "default=nw=1", path},
                &out, 20);
    double start = -1, duration = -1;
    sscanf(out.c_str(), "start_time=%lf\nduration=%lf", &start, &duration);
    ASSERT_GT(duration, 0) << out;
    starts.push_back(start);
    durations.push_back(duration);
    EXPECT_NEAR(duration, extinf, 0.1) << name << " EXTINF " << extinf;
    EXPECT_LE(extinf, 2.0 + 0.1) << name;
    sum_extinf += extinf;
  }
  // Contiguous: each segment starts where the previous one ended, so the sum is the span.
  for (size_t i = 1; i < starts.size(); ++i) EXPECT_NEAR(starts[i] - starts[i - 1], segs[i - 1].first, 0.05) << i;
  double span = starts.back() + durations.back() - starts.front();
  EXPECT_NEAR(sum_extinf, span, 0.1);
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(IcecastOutput, Icecast2ServesMp3AndOggMounts) {
  IcecastServer icecast(free_tcp_port());
  ASSERT_TRUE(icecast.start());
  Battle battle;
  std::string base = "icecast://source:hackme@127.0.0.1:" + std::to_string(icecast.port());
  std::string mp3 = battle.add(R"({"kind":"icecast","url":")" + base + R"(/battle.mp3"})");
  std::string ogg = battle.add(R"({"kind":"icecast","format":"ogg","url":")" + base + R"(/battle.ogg"})");
  ASSERT_NE(mp3, "");
  ASSERT_NE(ogg, "");
  ASSERT_TRUE(battle.wait_status(mp3, "live", 10)) << battle.entry(mp3);
  ASSERT_TRUE(battle.wait_status(ogg, "live", 10)) << battle.entry(ogg);
  EXPECT_EQ(battle.entry(mp3).find("hackme"), std::string::npos);
  battle.spin(1.0);
  std::string http = "http://127.0.0.1:" + std::to_string(icecast.port());
  std::string raw;
  auto streams = ffprobe_streams(http + "/battle.mp3", &raw);
  const ProbedStream* a = find_stream(streams, "audio");
  ASSERT_NE(a, nullptr) << raw;
  EXPECT_EQ(a->codec_name, "mp3");
  EXPECT_EQ(a->sample_rate, 48000);
  EXPECT_EQ(a->channels, 2);
  streams = ffprobe_streams(http + "/battle.ogg", &raw);
  a = find_stream(streams, "audio");
  ASSERT_NE(a, nullptr) << raw;
  EXPECT_EQ(a->codec_name, "vorbis");
  EXPECT_EQ(a->sample_rate, 48000);
  EXPECT_EQ(a->channels, 2);
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(OutputFaults, KillingNginxDisturbsNothingElseAndRtmpReconnects) {
  auto nginx = std::make_unique<RtmpServer>(free_tcp_port());
  int port = nginx->port();
  ASSERT_TRUE(nginx->start());
  Battle battle;
  std::string rtmp = battle.add(R"({"kind":"rtmp","url":")" + nginx->url("fault") + R"("})");
  std::string hls = battle.add(R"({"kind":"hls"})");
  ASSERT_TRUE(battle.wait_status(rtmp, "live", 10)) << battle.entry(rtmp);
  ASSERT_TRUE(battle.wait_status(hls, "live", 10)) << battle.entry(hls);
  std::string playlist = battle.hls_root() + "/" + hls + "/playlist.m3u8";

  battle.reset_gap();
  guint64 before = battle.buffers();
  std::string pl_before = read_file(playlist);
  nginx->kill_hard();
  gint64 t0 = g_get_monotonic_time();
  ASSERT_TRUE(battle.wait_status(rtmp, "retrying", 5)) << battle.entry(rtmp);
  EXPECT_NE(battle.field(rtmp, "error"), "");
  battle.spin(3.0);
  double elapsed = (g_get_monotonic_time() - t0) / 1e6;
  double got = static_cast<double>(battle.buffers() - before);
  // The master kept flowing at full rate with no hiccup while the RTMP branch died.
  EXPECT_GT(got, 0.95 * kBuffersPerSecond * elapsed) << got << " buffers in " << elapsed << " s";
  std::printf("[measure] nginx killed: master %.0f buffers in %.2f s (%.1f/s, expected %.1f/s), longest gap %.1f ms\n",
              got, elapsed, got / elapsed, kBuffersPerSecond, battle.max_gap_ms());
  EXPECT_LT(battle.max_gap_ms(), kMaxGapMs);
  EXPECT_NE(read_file(playlist), pl_before) << "HLS stopped writing segments";
  EXPECT_EQ(battle.status(hls), "live");

  // nginx comes back on the same port: the output reconnects by itself.
  nginx = std::make_unique<RtmpServer>(port);
  ASSERT_TRUE(nginx->start());
  ASSERT_TRUE(battle.wait_status(rtmp, "live", 25)) << battle.entry(rtmp);
  EXPECT_GE(std::stoi(battle.field(rtmp, "attempts")), 2);
  std::string raw;
  expect_aac_48k_stereo(ffprobe_streams(nginx->url("fault"), &raw), raw);
  EXPECT_LT(battle.max_gap_ms(), kMaxGapMs);
  std::printf("[measure] RTMP back after nginx restart; longest master gap overall %.1f ms\n", battle.max_gap_ms());
  EXPECT_TRUE(battle.battle_errors().empty()) << battle.battle_errors()[0];
}

TEST(OutputFaults, FarEndDownAtStartRetriesWithBackoff) {
  Battle battle;
  int port = free_tcp_port();  // nothing listens there
  std::string id =
      battle.add(R"({"kind":"rtmp","url":"rtmp://127.0.0.1:)" + std::to_string(port) + R"(/live/nobody"})");
  ASSERT_NE(id, "");
  ASSERT_TRUE(battle.wait_status(id, "retrying", 5)) << battle.entry(id);
  EXPECT_NE(battle.field(id, "error"), "");
  // Backoff 1 s then 2 s: within 4.5 s at least three attempts, far fewer than a busy loop.
  battle.spin(4.5);
  int attempts = std::stoi(battle.field(id, "attempts"));
  EXPECT_GE(attempts, 3);
  EXPECT_LE(attempts, 5);
  guint64 before = battle.buffers();
  battle.spin(1.0);
  EXPECT_GT(battle.buffers() - before, 0.9 * kBuffersPerSecond);
  EXPECT_TRUE(battle.manager().remove(id));
  battle.spin(2.5);  // a pending retry must not bring it back
  EXPECT_EQ(battle.count(), 0u);
  EXPECT_FALSE(battle.has_element("output-" + id + "-" + std::to_string(attempts + 1)));
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(OutputFaults, FarEndThatNeverAnswersIsNotCalledLive) {
  // A TCP port that completes connections in the kernel but never accepts or answers them.
  int hole = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(hole, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(hole, 8), 0);
  socklen_t len = sizeof a;
  getsockname(hole, reinterpret_cast<sockaddr*>(&a), &len);
  Battle battle;
  std::string id =
      battle.add(R"({"kind":"rtmp","url":"rtmp://127.0.0.1:)" + std::to_string(ntohs(a.sin_port)) + R"(/live/x"})");
  ASSERT_NE(id, "");
  bool ever_live = false;
  Battle::run_until(
      [&] {
        ever_live = ever_live || battle.status(id) == "live";
        return battle.status(id) == "retrying";
      },
      9);
  EXPECT_FALSE(ever_live);
  EXPECT_EQ(battle.status(id), "retrying") << battle.entry(id);  // rtmp2sink gives up after its 5 s timeout
  EXPECT_NE(battle.field(id, "error"), "");
  close(hole);
  EXPECT_TRUE(battle.battle_errors().empty());
}

TEST(OutputRemoval, RemovingMidStreamIsCleanAndLeavesOthersRunning) {
  RtmpServer nginx(free_tcp_port());
  ASSERT_TRUE(nginx.start());
  Battle battle;
  int port = free_udp_port();
  std::string rtmp = battle.add(R"({"kind":"rtmp","url":")" + nginx.url("gone") + R"("})");
  std::string srt = battle.add(R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  std::string hls = battle.add(R"({"kind":"hls"})");
  ASSERT_TRUE(battle.wait_status(rtmp, "live", 10)) << battle.entry(rtmp);
  ASSERT_TRUE(battle.wait_status(srt, "live", 10)) << battle.entry(srt);
  ASSERT_TRUE(battle.wait_status(hls, "live", 10)) << battle.entry(hls);
  EXPECT_TRUE(battle.has_element("output-" + rtmp + "-1"));

  // Baseline: the longest gap over the same kind of window with nothing happening (a loaded box
  // shows tens of ms here on its own).
  battle.reset_gap();
  battle.spin(1.5);
  double baseline_ms = battle.max_gap_ms();

  battle.reset_gap();
  EXPECT_TRUE(battle.manager().remove(rtmp));
  EXPECT_TRUE(battle.manager().remove(hls));
  EXPECT_FALSE(battle.manager().remove(rtmp));
  EXPECT_EQ(battle.count(), 1u);
  ASSERT_TRUE(Battle::run_until([&] { return !battle.has_element("output-" + rtmp + "-1") &&
                                             !battle.has_element("output-" + hls + "-1"); },
                                5));
  EXPECT_FALSE(g_file_test((battle.hls_root() + "/" + hls).c_str(), G_FILE_TEST_EXISTS));
  battle.spin(0.5);
  EXPECT_LT(battle.max_gap_ms(), kMaxGapMs);
  std::printf("[measure] removal of two live outputs: longest master gap %.1f ms (idle baseline %.1f ms)\n",
              battle.max_gap_ms(), baseline_ms);
  std::string raw;
  expect_aac_48k_stereo(ffprobe_streams("srt://127.0.0.1:" + std::to_string(port), &raw), raw);
  // The SRT port is free again once its output is removed.
  EXPECT_TRUE(battle.manager().remove(srt));
  ASSERT_TRUE(Battle::run_until([&] { return !battle.has_element("output-" + srt + "-1"); }, 5));
  std::string again = battle.add(R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  EXPECT_NE(again, "");
  EXPECT_TRUE(battle.battle_errors().empty());
}

static size_t count_entries(const char* dir) {
  size_t n = 0;
  GDir* d = g_dir_open(dir, 0, nullptr);
  if (!d) return 0;
  while (g_dir_read_name(d)) ++n;
  g_dir_close(d);
  return n;
}

TEST(OutputRemoval, AddRemoveCyclesLeaveNoThreadsOrSockets) {
  Battle battle;
  int port = free_udp_port();
  auto cycle = [&](int i) {
    std::string srt = battle.add(R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
    std::string hls = battle.add(R"({"kind":"hls"})");
    ASSERT_NE(srt, "") << i;
    ASSERT_NE(hls, "") << i;
    battle.spin(0.3);
    EXPECT_TRUE(battle.manager().remove(srt));
    EXPECT_TRUE(battle.manager().remove(hls));
    ASSERT_TRUE(Battle::run_until([&] { return !battle.has_element("output-" + srt + "-1") &&
                                               !battle.has_element("output-" + hls + "-1"); },
                                  5))
        << i;
  };
  cycle(0);  // the first cycle loads plugins and starts pools
  battle.spin(0.5);
  size_t fds = count_entries("/proc/self/fd");
  size_t threads = count_entries("/proc/self/task");
  for (int i = 1; i <= 12; ++i) cycle(i);
  battle.spin(0.5);
  size_t fds_after = count_entries("/proc/self/fd");
  size_t threads_after = count_entries("/proc/self/task");
  std::printf("[measure] 12 add/remove cycles: fds %zu -> %zu, threads %zu -> %zu\n", fds, fds_after, threads,
              threads_after);
  EXPECT_LE(fds_after, fds + 2);
  EXPECT_LE(threads_after, threads + 2);
  EXPECT_EQ(battle.count(), 0u);
  EXPECT_EQ(count_entries(battle.hls_root().c_str()), 0u);
  EXPECT_TRUE(battle.battle_errors().empty());
}
