// Broadcast outputs through the real djuniverse-server: POST/GET/DELETE …/outputs over HTTP, the
// far ends read with ffprobe, HLS files in the battle's folder, ENDLIST when the battle ends.
#include <gtest/gtest.h>

#include <sstream>

#include "far_ends.h"
#include "server_harness.h"
#include "test_env.h"

namespace {

using dju_test::http;

class ServerOutputs : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = dju_test::fresh_dir("outputs-data");
    tracks_ = dju_test::fresh_dir("outputs-tracks");
    dju_test::write_tone_track(tracks_ + "/tone.wav", 440, 120, 4);
    server_ = std::make_unique<dju_test::ServerProcess>(data_, tracks_,
                                                        std::vector<std::string>{"--admin-token", "s3cret"});
    ASSERT_TRUE(server_->start()) << server_->log();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->stop(SIGTERM), 0) << server_->log();
    }
  }
  dju_test::HttpResponse call(const std::string& method, const std::string& path, const std::string& body = "") {
    return http(method, server_->url(path), body, {{"Authorization", "Bearer s3cret"}});
  }
  std::string data_, tracks_;
  std::unique_ptr<dju_test::ServerProcess> server_;
};

TEST_F(ServerOutputs, AddReadListRemoveOverHttp) {
  auto created = call("POST", "/api/battles", R"({"name":"Outputs"})");
  ASSERT_EQ(created.status, 201) << created.body;
  JsonObject* b = dju_test::parse_object(created.body);
  std::string battle = dju_test::str_member(b, "id");
  json_object_unref(b);
  std::string base = "/api/battles/" + battle + "/outputs";

  // Refusals carry the reason and change nothing.
  auto bad = call("POST", base, R"({"kind":"srt","port":80})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("between"), std::string::npos) << bad.body;
  EXPECT_EQ(http("POST", server_->url(base), R"({"kind":"hls"})").status, 401);  // admin only

  int port = dju_test::free_udp_port();
  auto srt = call("POST", base, R"({"kind":"srt","bind":"127.0.0.1","port":)" + std::to_string(port) + "}");
  ASSERT_EQ(srt.status, 201) << srt.body;
  auto clash = call("POST", base, R"({"kind":"srt","port":)" + std::to_string(port) + "}");
  EXPECT_EQ(clash.status, 409) << clash.body;
  auto hls = call("POST", base, R"({"kind":"hls"})");
  ASSERT_EQ(hls.status, 201) << hls.body;
  JsonObject* h = dju_test::parse_object(hls.body);
  std::string hls_id = dju_test::str_member(h, "id");
  json_object_unref(h);

  ASSERT_TRUE(dju_test::wait_until(
      [&] {
        std::string l = call("GET", base).body;
        size_t n = 0;
        for (size_t p = l.find("\"live\""); p != std::string::npos; p = l.find("\"live\"", p + 1)) ++n;
        return n == 2;
      },
      10))
      << call("GET", base).body;

  std::string raw;
  auto streams = dju_test::ffprobe_streams("srt://127.0.0.1:" + std::to_string(port), &raw);
  const dju_test::ProbedStream* a = dju_test::find_stream(streams, "audio");
  ASSERT_NE(a, nullptr) << raw;
  EXPECT_EQ(a->codec_name, "aac");
  EXPECT_EQ(a->sample_rate, 48000);
  EXPECT_EQ(a->channels, 2);

  // HLS lives in the battle's folder of the server's data directory.
  std::string playlist = data_ + "/hls/" + battle + "/" + hls_id + "/playlist.m3u8";
  ASSERT_TRUE(dju_test::wait_until([&] { return dju_test::read_file(playlist).find("#EXTINF") != std::string::npos; },
                                   10))
      << playlist;

  // …and the server serves it under the battle's path, as a player or CDN would fetch it.
  auto served = http("GET", server_->url("/api/battles/" + battle + "/hls/" + hls_id + "/playlist.m3u8"));
  EXPECT_EQ(served.status, 200);
  EXPECT_NE(served.body.find("#EXTINF"), std::string::npos) << served.body;
  std::string segment;
  std::istringstream lines(served.body);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line[0] != '#') segment = line;
  ASSERT_FALSE(segment.empty()) << served.body;
  auto seg = http("GET", server_->url("/api/battles/" + battle + "/hls/" + hls_id + "/" + segment));
  EXPECT_EQ(seg.status, 200);
  EXPECT_GT(seg.body.size(), 1000u);
  EXPECT_EQ(static_cast<unsigned char>(seg.body[0]), 0x47u);  // an MPEG-TS sync byte
  // Nothing outside the battle's HLS folders is reachable through this path.
  const int escaped = http("GET", server_->url("/api/battles/" + battle + "/hls/..%2F..%2Fbattles/x")).status;
  EXPECT_TRUE(escaped == 400 || escaped == 404) << escaped;
  EXPECT_EQ(http("GET", server_->url("/api/battles/" + battle + "/hls/.." + "/playlist.m3u8")).status, 404);

  EXPECT_EQ(call("DELETE", base + "/srt-1").status, 200);
  EXPECT_EQ(call("DELETE", base + "/srt-1").status, 404);
  std::string list = call("GET", base).body;
  EXPECT_EQ(list.find("srt-1"), std::string::npos) << list;
  EXPECT_NE(list.find(hls_id), std::string::npos) << list;

  // Ending the battle ends the playlist properly.
  EXPECT_EQ(call("DELETE", "/api/battles/" + battle).status, 200);
  EXPECT_TRUE(dju_test::wait_until(
      [&] { return dju_test::read_file(playlist).find("#EXT-X-ENDLIST") != std::string::npos; }, 5))
      << dju_test::read_file(playlist);
}

}  // namespace
