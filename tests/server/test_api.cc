// The server's REST API, web pages and WebSocket checks that need no battle audio: health, readiness,
// metrics, the track library with uploads, battle creation rules, admin token, and the WebSocket's
// refusals (malformed, unknown, oversize, flood) — each an `error` reply that changes nothing.
#include <gtest/gtest.h>

#include "server_harness.h"
#include "test_env.h"

using namespace dju_test;

namespace {

class Api : public ::testing::Test {
 protected:
  void SetUp() override {
    tracks_ = fresh_dir("api-tracks");
    write_tone_track(tracks_ + "/low-tone.wav", 220, 120, 6);
    server_ = std::make_unique<ServerProcess>(fresh_dir("api-data"), tracks_,
                                              std::vector<std::string>{"--max-upload-mb", "2", "--admin-token", "s3cret"});
    ASSERT_TRUE(server_->start()) << server_->log();
    // The library analyses in the background; wait until our track is listed.
    ASSERT_TRUE(wait_until([&] { return http("GET", server_->url("/api/tracks")).body.find("low-tone") != std::string::npos; }, 20));
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log();
    }
  }
  std::string tracks_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(Api, HealthMetricsAndTracks) {
  auto h = http("GET", server_->url("/health"));
  EXPECT_EQ(h.status, 200);
  EXPECT_NE(h.body.find("alive"), std::string::npos);
  auto r = http("GET", server_->url("/ready"));
  EXPECT_TRUE(r.status == 200 || r.status == 503) << r.body;
  auto m = http("GET", server_->url("/metrics"));
  EXPECT_EQ(m.status, 200);
  for (const char* name : {"djuniverse_battles ", "djuniverse_peers ", "djuniverse_command_latency_seconds_bucket",
                           "djuniverse_cpu_seconds_total", "djuniverse_resident_memory_bytes"})
    EXPECT_NE(m.body.find(name), std::string::npos) << name;
  auto t = http("GET", server_->url("/api/tracks"));
  ASSERT_EQ(t.status, 200);
  JsonNode* n = t.json();
  ASSERT_TRUE(n && JSON_NODE_HOLDS_ARRAY(n));
  JsonObject* track = json_array_get_object_element(json_node_get_array(n), 0);
  EXPECT_EQ(str_member(track, "id"), "low-tone");
  EXPECT_NEAR(json_object_get_double_member(track, "duration_s"), 6.0, 0.01);
  // Analysed by the deck's own loader: the tone pulses at 120 BPM.
  EXPECT_NEAR(json_object_get_double_member(track, "bpm"), 120.0, 0.5) << t.body.substr(0, 300);
  EXPECT_GT(json_array_get_length(json_object_get_array_member(track, "waveform")), 10u);
  json_node_unref(n);
}

TEST_F(Api, UploadsAreDecodedBeforeTheyEnterTheLibrary) {
  auto before = http("GET", server_->url("/api/tracks")).body;
  // Not audio.
  std::string junk(200000, '\0');
  for (size_t i = 0; i < junk.size(); i++) junk[i] = static_cast<char>((i * 7919) % 251);
  auto bad = http("POST", server_->url("/api/tracks?name=junk.mp3"), junk);
  EXPECT_EQ(bad.status, 415) << bad.body;
  EXPECT_NE(bad.body.find("not-audio"), std::string::npos);
  // Over the limit (2 MiB in this test).
  auto big = http("POST", server_->url("/api/tracks?name=big.wav"), std::string(2500000, 'x'));
  EXPECT_EQ(big.status, 413) << big.body;
  // Empty.
  EXPECT_EQ(http("POST", server_->url("/api/tracks?name=x.wav"), "").status, 400);
  EXPECT_EQ(http("GET", server_->url("/api/tracks")).body, before);  // library unchanged
  // A real file, with a hostile name: the id is sanitised, the file stays in the tracks folder.
  std::string wav = fresh_dir("api-upload") + "/t.wav";
  write_tone_track(wav, 880, 128, 8);
  gchar* data = nullptr;
  gsize len = 0;
  ASSERT_TRUE(g_file_get_contents(wav.c_str(), &data, &len, nullptr));
  auto ok = http("POST", server_->url("/api/tracks?name=..%2F..%2Fevil%20Tone.wav"), std::string(data, len));
  g_free(data);
  ASSERT_EQ(ok.status, 201) << ok.body;
  JsonObject* o = parse_object(ok.body);
  EXPECT_EQ(str_member(o, "id"), "evil-tone");
  EXPECT_NEAR(json_object_get_double_member(o, "duration_s"), 8.0, 0.01);
  EXPECT_NEAR(json_object_get_double_member(o, "bpm"), 128.0, 0.5) << ok.body.substr(0, 300);
  json_object_unref(o);
  EXPECT_TRUE(g_file_test((tracks_ + "/evil-tone.wav").c_str(), G_FILE_TEST_IS_REGULAR));
  EXPECT_NE(http("GET", server_->url("/api/tracks")).body.find("evil-tone"), std::string::npos);
}

TEST_F(Api, BattleCreationIsCheckedAndGuarded) {
  std::vector<std::pair<std::string, std::string>> admin = {{"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(http("POST", server_->url("/api/battles"), "{}").status, 401);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), "{}", {{"Authorization", "Bearer s3creT"}}).status, 401);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), "{not json", admin).status, 400);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), R"({"crossfader":"both"})", admin).status, 400);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), R"({"duration_s":1})", admin).status, 400);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), R"({"tracks":{"a":"../../etc/passwd"}})", admin).status, 400);
  EXPECT_EQ(http("POST", server_->url("/api/battles"), R"({"name":""})", admin).status, 400);
  EXPECT_EQ(http("GET", server_->url("/api/battles/0123456789ab")).status, 404);
  EXPECT_EQ(http("DELETE", server_->url("/api/battles/0123456789ab"), "", admin).status, 404);
  EXPECT_EQ(http("GET", server_->url("/api/nothing")).status, 404);
  EXPECT_EQ(http("GET", server_->url("/../etc/passwd")).status, 404);
  EXPECT_EQ(http("GET", server_->url("/.git/config")).status, 404);
  auto list = http("GET", server_->url("/api/battles"));
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.body, R"({"battles":[]})");
}

TEST_F(Api, WebSocketRefusalsAreErrorsAndTheConnectionStays) {
  WsClient ws("ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws");
  ASSERT_TRUE(ws.connected());
  ws.send("{\"type\":\"ping\",\"client_time\":42}");
  JsonObject* pong = ws.wait_for("pong");
  ASSERT_NE(pong, nullptr);
  EXPECT_GT(json_object_get_double_member(pong, "server_time"), wall_ms() - 5000);
  EXPECT_EQ(json_object_get_int_member(pong, "client_time"), 42);
  json_object_unref(pong);

  ws.send("{nope");
  EXPECT_EQ(ws.wait_error(), "malformed");
  ws.send("[1,2]");
  EXPECT_EQ(ws.wait_error(), "malformed");
  ws.send(R"({"type":"dance"})");
  EXPECT_EQ(ws.wait_error(), "unknown-type");
  ws.send(R"({"type":"control","deck":"a","action":"play","id":3})");
  EXPECT_EQ(ws.wait_error(), "not-joined");
  ws.send(R"({"type":"join","battle":"0123456789ab","seat":"spectator"})");
  EXPECT_EQ(ws.wait_error(), "not-found");
  ws.send(R"({"type":"join","battle":"0123456789ab","seat":"dj"})");
  EXPECT_EQ(ws.wait_error(), "malformed");
  std::string big = R"({"type":"ping","pad":")" + std::string(70 * 1024, 'x') + "\"}";
  ws.send(big);
  EXPECT_EQ(ws.wait_error(), "too-large");
  EXPECT_TRUE(ws.open());

  // A flood: far more than 200 messages at once; the excess is refused, then the rate recovers.
  for (int i = 0; i < 600; i++) ws.send(R"({"type":"ping"})");
  ASSERT_TRUE(wait_until([&] { return ws.count("pong") + ws.count("error") >= 601; }, 10));
  size_t limited = 0;
  while (JsonObject* e = ws.wait_for("error", 0.01)) {
    limited += str_member(e, "code") == "rate-limited";
    json_object_unref(e);
  }
  EXPECT_GE(limited, 300u);
  EXPECT_LE(ws.count("pong"), 1 + 300u);
  while (JsonObject* p = ws.wait_for("pong", 0.01)) json_object_unref(p);
  spin(1.0);
  ws.send(R"({"type":"ping"})");
  JsonObject* again = ws.wait_for("pong", 2);
  EXPECT_NE(again, nullptr);
  if (again) json_object_unref(again);
  EXPECT_TRUE(ws.open());

  auto m = http("GET", server_->url("/metrics")).body;
  EXPECT_NE(m.find("djuniverse_refusals_total{reason=\"rate-limited\"}"), std::string::npos);
  EXPECT_NE(m.find("djuniverse_refusals_total{reason=\"too-large\"}"), std::string::npos);
}

}  // namespace
