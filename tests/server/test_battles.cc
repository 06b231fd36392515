// Several battles at once on one server: each battle has a DJ and a spectator, both real WebRTC
// receivers, and each must hear its own battle's music and nothing of the others'. Battle n's deck a
// plays a tone of its own (300 Hz, 1.1 kHz, 3.1 kHz: no harmonic of one lands on another), so a
// spectrum tells the battles apart. One DJ pausing, or one peer leaving, changes only its battle.
// The server runs with --ice-loopback (its candidates are on 127.0.0.1 only).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server_harness.h"
#include "test_env.h"

using namespace dju_test;

namespace {

constexpr int kBattles = 3;
constexpr double kFreq[kBattles] = {300.0, 1100.0, 3100.0};

struct OneBattle {
  std::string id, token_a;
  std::unique_ptr<WsClient> dj, spectator;
  std::unique_ptr<Receiver> dj_rx, spectator_rx;
};

class SeveralBattlesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    tracks_ = fresh_dir("battles-tracks-" + name);
    data_ = fresh_dir("battles-data-" + name);
    for (int i = 0; i < kBattles; i++)
      write_tone_track(tracks_ + "/tone-" + std::to_string(i) + ".wav", kFreq[i], 120, 40);
    // --ice-loopback: the receivers are on this machine; the server offers 127.0.0.1 only.
    server_ = std::make_unique<ServerProcess>(data_, tracks_, std::vector<std::string>{"--ice-loopback"});
    ASSERT_TRUE(server_->start()) << server_->log();
    ASSERT_TRUE(wait_until([&] {
      auto b = http("GET", server_->url("/api/tracks")).body;
      for (int i = 0; i < kBattles; i++)
        if (b.find("tone-" + std::to_string(i)) == std::string::npos) return false;
      return true;
    }, 40)) << server_->log();
  }
  void TearDown() override {
    battles_.clear();  // receivers and sockets close before the server stops
    if (server_) server_->stop(SIGTERM);
  }
  std::string ws_url() const { return "ws://127.0.0.1:" + std::to_string(server_->port()) + "/ws"; }

  void create(int i) {
    std::string t = "tone-" + std::to_string(i);
    auto r = http("POST", server_->url("/api/battles"),
                  R"({"name":"Battle )" + std::to_string(i) + R"(","tracks":{"a":")" + t + R"(","b":")" + t +
                      R"("},"countdown_s":0,"duration_s":600})");
    ASSERT_EQ(r.status, 201) << r.body;
    JsonObject* o = parse_object(r.body);
    ASSERT_NE(o, nullptr);
    battles_[i].id = str_member(o, "id");
    battles_[i].token_a = str_member(json_object_get_object_member(json_object_get_object_member(o, "seats"), "a"),
                                     "token");
    json_object_unref(o);
  }
  void join(WsClient& ws, const std::string& battle, const std::string& seat, const std::string& token) {
    JsonObject* j = json_object_new();
    json_object_set_string_member(j, "type", "join");
    json_object_set_string_member(j, "battle", battle.c_str());
    json_object_set_string_member(j, "seat", seat.c_str());
    if (!token.empty()) json_object_set_string_member(j, "token", token.c_str());
    ws.send_obj(j);
    JsonObject* joined = ws.wait_for("joined", 10);
    ASSERT_NE(joined, nullptr) << "join " << seat << ": " << ws.wait_error(0.1);
    json_object_unref(joined);
  }
  void send_control(WsClient& ws, const std::string& body) { ws.send("{\"type\":\"control\"," + body + "}"); }

  // Own tone loud, every other battle's tone absent (30 dB below at least).
  bool hears_only_own(Receiver& rx, int i, double window_s = 0.3) {
    double own = rx.tone_db(0, kFreq[i], window_s);
    if (own < -30) return false;
    for (int k = 0; k < kBattles; k++)
      if (k != i && rx.tone_db(0, kFreq[k], window_s) > own - 30) return false;
    return true;
  }
  std::string levels(Receiver& rx) {
    std::string s;
    for (int k = 0; k < kBattles; k++) {
      char b[64];
      g_snprintf(b, sizeof b, " %g Hz: %.1f dB", kFreq[k], rx.tone_db(0, kFreq[k], 0.3));
      s += b;
    }
    return s;
  }

  std::string tracks_, data_;
  std::unique_ptr<ServerProcess> server_;
  std::vector<OneBattle> battles_ = std::vector<OneBattle>(kBattles);
};

TEST_F(SeveralBattlesTest, EachBattleHearsItsOwnMusicOnly) {
  for (int i = 0; i < kBattles; i++) create(i);
  if (HasFatalFailure()) return;
  // Everyone joins before any deck plays, so that every battle runs its pipeline and its peers at once.
  for (auto& b : battles_) {
    b.dj = std::make_unique<WsClient>(ws_url());
    b.dj_rx = std::make_unique<Receiver>(b.dj.get(), true);
    join(*b.dj, b.id, "a", b.token_a);
    b.spectator = std::make_unique<WsClient>(ws_url());
    b.spectator_rx = std::make_unique<Receiver>(b.spectator.get(), true);
    join(*b.spectator, b.id, "spectator", "");
    if (HasFatalFailure()) return;
  }
  ASSERT_TRUE(wait_until([&] {
    for (auto& b : battles_)
      if (b.dj_rx->frames(0) < 24000 || b.spectator_rx->frames(0) < 24000) return false;
    return true;
  }, 40)) << "every receiver of every battle gets audio\n" << server_->log();
  for (auto& b : battles_) EXPECT_LT(b.spectator_rx->rms_db(0, 0.3), -60) << "silence before play";
  // The server's candidates (kept in the client's inbox): loopback only, as asked.
  int candidates = 0;
  while (JsonObject* ice = battles_[0].spectator->wait_for("ice", 0)) {
    std::string c = str_member(ice, "candidate");
    json_object_unref(ice);
    if (c.empty()) continue;
    candidates++;
    EXPECT_NE(c.find(" 127.0.0.1 "), std::string::npos) << c;
  }
  EXPECT_GT(candidates, 0);

  for (auto& b : battles_) send_control(*b.dj, R"("deck":"a","action":"play")");
  for (int i = 0; i < kBattles; i++) {
    OneBattle& b = battles_[i];
    EXPECT_TRUE(wait_until([&] { return hears_only_own(*b.spectator_rx, i); }, 30))
        << "battle " << i << " spectator:" << levels(*b.spectator_rx) << "\n" << server_->log();
    EXPECT_TRUE(wait_until([&] { return hears_only_own(*b.dj_rx, i); }, 10))
        << "battle " << i << " DJ:" << levels(*b.dj_rx);
  }
  if (HasFailure()) return;

  // Battle 0's DJ pauses: battle 0 falls silent, the others play on.
  send_control(*battles_[0].dj, R"("deck":"a","action":"pause")");
  EXPECT_TRUE(wait_until([&] { return battles_[0].spectator_rx->tone_db(0, kFreq[0], 0.3) < -60; }, 10))
      << levels(*battles_[0].spectator_rx);
  for (int i = 1; i < kBattles; i++)
    EXPECT_TRUE(hears_only_own(*battles_[i].spectator_rx, i)) << "battle " << i << levels(*battles_[i].spectator_rx);

  spin(1.0);
  std::printf("MEASURE battle2_min_block_db_before_leave=%.1f\n", battles_[2].spectator_rx->min_block_db(0, 1.0, 0.02));
  // Battle 1's spectator leaves: its DJ and the other battles keep their music.
  battles_[1].spectator_rx.reset();
  battles_[1].spectator.reset();
  spin(1.0);
  EXPECT_TRUE(wait_until([&] { return hears_only_own(*battles_[1].dj_rx, 1); }, 5)) << levels(*battles_[1].dj_rx);
  EXPECT_TRUE(wait_until([&] { return hears_only_own(*battles_[2].spectator_rx, 2); }, 5))
      << levels(*battles_[2].spectator_rx);
  std::printf("MEASURE battle2_min_block_db_after_leave=%.1f\n", battles_[2].spectator_rx->min_block_db(0, 1.0, 0.02));

  // The server counts master buffers that left a mixer late (what the live-battles benchmark watches).
  auto metrics = http("GET", server_->url("/metrics")).body;
  auto at = metrics.find("\ndjuniverse_late_buffers_total ");
  ASSERT_NE(at, std::string::npos) << metrics.substr(0, 400);
  std::printf("MEASURE late_master_buffers=%s\n", metrics.substr(at + 31, metrics.find('\n', at + 1) - at - 31).c_str());

  // Every battle is still live on the server.
  for (auto& b : battles_) {
    auto st = http("GET", server_->url("/api/battles/" + b.id));
    EXPECT_NE(st.body.find("\"running\":true"), std::string::npos) << st.body.substr(0, 300);
  }
}

}  // namespace
