// One battle: its pipeline, its lifecycle (lobby → countdown → live → ended), its seats and peers,
// the judge's scores credited to the DJ whose deck came in, and its history in the data folder
// (the rtsp-media of this server). A battle reloaded after a restart has its history but no
// pipeline. Everything here runs on the main context.
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "battle_builder.h"
#include "battle_store.h"
#include "seat.h"

namespace dju {

class OutputManager;
class Peer;
class TrackLibrary;

enum class BattleState { Lobby, Countdown, Live, Ended };
const char* battle_state_name(BattleState s);

// What a battle sends to its clients (implemented by the WebSocket client).
class BattleSubscriber {
 public:
  virtual ~BattleSubscriber() = default;
  virtual void send_text(const std::string& text) = 0;
  // The seat was taken over by a newer connection with the same token.
  virtual void replaced() = 0;
};

struct Refusal {
  std::string code, message;
};

struct BattleSettings {
  std::string name = "Battle";
  std::string track[2];
  CrossfaderOwner crossfader = CrossfaderOwner::Shared;
  double duration_s = 1200;
  double countdown_s = 5;
};

class Battle : public std::enable_shared_from_this<Battle> {
 public:
  // A new battle with a running pipeline. nullptr + *error if it cannot be built.
  static std::shared_ptr<Battle> create(const std::string& id, const BattleSettings& settings,
                                        TrackLibrary* library, BattleStore* store, const PipelineSettings& opus,
                                        std::string* error);
  // A battle from its history (no pipeline; ended).
  static std::shared_ptr<Battle> restore(const BattleStore::Record& record, BattleStore* store);
  ~Battle();

  const std::string& id() const { return id_; }
  const std::string& token(Role seat) const { return token_[seat == Role::SeatB ? 1 : 0]; }
  BattleState state() const { return state_; }
  bool running() const { return pipe_ != nullptr; }
  size_t peer_count() const { return peers_.size(); }
  std::string recording_path() const { return store_->recording_path(id_); }
  // Where this battle's HLS outputs write (one folder per output, named by its id).
  std::string hls_dir() const { return store_->data_dir() + "/hls/" + id_; }
  // Sends a newly joined subscriber the `track` message of every loaded deck.
  void send_loaded_tracks(uint64_t sub_id);

  bool check_token(Role seat, const std::string& token) const;
  JsonObject* public_state() const;

  // Seats and peers. attach() returns a subscriber id; a DJ seat already taken is handed over.
  uint64_t attach(BattleSubscriber* sub, Role role, const std::string& dj_name, Refusal* refusal);
  void detach(uint64_t sub_id);
  bool answer(uint64_t sub_id, const std::string& sdp, Refusal* refusal);
  bool ice(uint64_t sub_id, const std::string& candidate, guint mline, Refusal* refusal);
  bool ready(uint64_t sub_id, Refusal* refusal);
  // A control message (already parsed); ack_id: echo in the ack when the change reaches audio.
  bool control(uint64_t sub_id, JsonObject* msg, std::optional<gint64> ack_id, double received_ms,
               Refusal* refusal);
  bool midi(uint64_t sub_id, JsonObject* msg, std::optional<gint64> ack_id, double received_ms, Refusal* refusal);

  // Broadcast outputs (admin). Status and body per OutputManager.
  int add_output(JsonObject* spec, JsonObject** body);
  bool remove_output(const std::string& oid);
  JsonNode* list_outputs() const;

  // Ends the battle (result, history, recording finalized, peers closed). done() runs on the main
  // context once the recording file is complete.
  void end(const std::string& reason, std::function<void()> done = nullptr);

 private:
  Battle() = default;
  struct Sub {
    BattleSubscriber* sub;
    Role role;
    Permissions perms;
    std::shared_ptr<Peer> peer;
  };

  void broadcast(JsonObject* msg);  // consumes msg
  void send_to(uint64_t sub_id, JsonObject* msg);  // consumes msg
  void record(JsonObject* event);  // consumes event
  void battle_event(const char* event, JsonObject* extra = nullptr);
  // Tells the broadcast outputs' video what to show (name, DJs, scores, timer, state).
  void update_overlay();
  bool on_bus(GstMessage* m);
  void on_element_message(GstMessage* m);
  void on_judge(const GstStructure* s);
  void start_countdown();
  void go_live();
  void update_judge_gains();
  void update_judge_deck(int i);
  bool apply_param(int seat_index, const struct ParamInfo* p, JsonNode* value, Refusal* r, GstPad** probe_pad);
  // A peer's WebRTC branch failed: close it and tell its client (who may join again).
  void fail_peer(uint64_t sub_id, const std::string& reason);
  void ack_when_heard(GstPad* pad, uint64_t sub_id, gint64 ack_id, double received_ms);
  JsonObject* mixer_state() const;
  JsonObject* scores_json() const;
  void finalize_recording(std::function<void()> done);
  void teardown_pipeline();

  std::string id_;
  BattleSettings settings_;
  std::string token_[2];
  BattleState state_ = BattleState::Lobby;
  double created_at_ = 0, countdown_at_ = 0, live_at_ = 0, ended_at_ = 0;
  std::string end_reason_;
  TrackLibrary* library_ = nullptr;
  BattleStore* store_ = nullptr;
  std::unique_ptr<BattlePipeline> pipe_;
  std::unique_ptr<OutputManager> outputs_;
  guint bus_watch_ = 0, timer_ = 0;
  bool ice_loopback_ = false;
  bool recording_done_ = false;

  std::map<uint64_t, Sub> subs_;
  std::map<uint64_t, std::shared_ptr<Peer>> peers_;
  uint64_t seat_holder_[2] = {0, 0};
  std::string dj_name_[2];
  bool ready_[2] = {false, false};
  std::string deck_track_[2];
  JsonObject* deck_state_[2] = {nullptr, nullptr};
  JsonObject* deck_track_msg_[2] = {nullptr, nullptr};  // the last `track` message of each deck
  double cue_mix_[2] = {0.5, 0.5};
  double judge_bpm_[2] = {-1, -1};
  std::string judge_key_[2];

  double score_total_[2] = {0, 0};
  int score_count_[2] = {0, 0};
  std::vector<JsonObject*> transitions_;
  JsonObject* result_ = nullptr;
};

}  // namespace dju
