#include "battle.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "controls.h"
#include "json_util.h"
#include "main_context.h"
#include "metrics.h"
#include "peer.h"
#include "track_library.h"

#if __has_include("mixer/gain_laws.h")
#include "mixer/gain_laws.h"
#define DJU_HAVE_GAIN_LAWS 1
#endif
#ifdef HAVE_OUTPUTS
#include "outputs/output_manager.h"
#else
namespace dju {
class OutputManager {};
}  // namespace dju
#endif

namespace dju {

const char* battle_state_name(BattleState s) {
  switch (s) {
    case BattleState::Lobby: return "lobby";
    case BattleState::Countdown: return "countdown";
    case BattleState::Live: return "live";
    case BattleState::Ended: return "ended";
  }
  return "lobby";
}

static const char kSeat[2] = {'a', 'b'};
static int seat_index(Role r) { return r == Role::SeatB ? 1 : 0; }
static std::string seat_str(int i) { return std::string(1, kSeat[i]); }

static JsonObject* typed(const char* type) {
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "type", type);
  return o;
}

static void log_event(const std::string& id, const std::string& what) {
  g_print("battle %s: %s\n", id.c_str(), what.c_str());
}

std::shared_ptr<Battle> Battle::create(const std::string& id, const BattleSettings& settings, TrackLibrary* library,
                                       BattleStore* store, const PipelineSettings& opus, std::string* error) {
  std::shared_ptr<Battle> b(new Battle());
  b->id_ = id;
  b->settings_ = settings;
  b->library_ = library;
  b->store_ = store;
  b->token_[0] = generate_token();
  b->token_[1] = generate_token();
  b->created_at_ = now_ms();
  b->ice_loopback_ = opus.ice_loopback;
  BattlePipeline* bp = BattleBuilder::build("battle-" + id, store->recording_path(id), opus, error);
  if (!bp) return nullptr;
  b->pipe_.reset(bp);

  for (int i = 0; i < 2; i++) {
    GstElement* deck = bp->deck[i];
    // Each deck syncs to the other one.
    GParamSpec* leader = g_object_class_find_property(G_OBJECT_GET_CLASS(deck), "sync-leader");
    if (leader && leader->value_type == G_TYPE_STRING)
      g_object_set(deck, "sync-leader", GST_ELEMENT_NAME(bp->deck[1 - i]), nullptr);
    else if (leader && g_type_is_a(GST_TYPE_ELEMENT, leader->value_type))
      g_object_set(deck, "sync-leader", bp->deck[1 - i], nullptr);
    if (!settings.track[i].empty()) {
      const TrackInfo* t = library->find(settings.track[i]);
      if (t) {
        g_object_set(deck, "location", t->path.c_str(), nullptr);
        b->deck_track_[i] = t->id;
      }
    }
    g_object_set(bp->cue_mixer[i], "crossfader", 2.0 * b->cue_mix_[i] - 1.0, nullptr);
  }

  // Late master buffers: a block that leaves the mixer later than the slack it grants late decks
  // means the audio threads fell behind the clock (the decks were mixed without, or the machine is
  // saturated). The live-battles benchmark raises the number of battles until this happens.
  GstPad* master_src = gst_element_get_static_pad(bp->mixer, "src");
  gst_pad_add_probe(
      master_src, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad* pad, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
        GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
        GstElement* mixer = GST_ELEMENT(GST_OBJECT_PARENT(pad));
        if (!buf || !mixer || !GST_BUFFER_PTS_IS_VALID(buf)) return GST_PAD_PROBE_OK;
        GstClock* clock = gst_element_get_clock(mixer);
        if (!clock) return GST_PAD_PROBE_OK;
        GstClockTime now = gst_clock_get_time(clock) - gst_element_get_base_time(mixer);
        gst_object_unref(clock);
        GstEvent* ev = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0);
        if (!ev) return GST_PAD_PROBE_OK;
        const GstSegment* seg = nullptr;
        gst_event_parse_segment(ev, &seg);
        GstClockTime rt = gst_segment_to_running_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
        gst_event_unref(ev);
        GstClockTime end = rt + (GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0);
        if (GST_CLOCK_TIME_IS_VALID(rt) && now > end + *static_cast<GstClockTime*>(d)) Metrics::get().late_buffer();
        return GST_PAD_PROBE_OK;
      },
      new GstClockTime(static_cast<GstClockTime>(opus.mixer_latency_ms * GST_MSECOND)),
      [](gpointer d) { delete static_cast<GstClockTime*>(d); });
  gst_object_unref(master_src);

  GstBus* bus = gst_pipeline_get_bus(bp->pipeline);
  b->bus_watch_ = gst_bus_add_watch(bus, [](GstBus*, GstMessage* m, gpointer d) -> gboolean {
    return static_cast<Battle*>(d)->on_bus(m);
  }, b.get());
  gst_object_unref(bus);
#ifdef HAVE_OUTPUTS
  b->outputs_ = OutputManager::create(bp->pipeline, bp->master_tee, b->hls_dir());
#endif
  if (gst_element_set_state(GST_ELEMENT(bp->pipeline), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "the battle pipeline failed to start";
    b->teardown_pipeline();
    return nullptr;
  }
  b->update_judge_gains();

  JsonObject* ev = json_object_new();
  json_object_set_string_member(ev, "event", "created");
  json_object_set_string_member(ev, "id", id.c_str());
  json_object_set_string_member(ev, "name", settings.name.c_str());
  json_object_set_string_member(ev, "crossfader_owner", crossfader_owner_name(settings.crossfader));
  json_object_set_double_member(ev, "duration_s", settings.duration_s);
  json_object_set_double_member(ev, "countdown_s", settings.countdown_s);
  JsonObject* tr = json_object_new();
  for (int i = 0; i < 2; i++)
    if (!settings.track[i].empty()) json_object_set_string_member(tr, seat_str(i).c_str(), settings.track[i].c_str());
  json_object_set_object_member(ev, "tracks", tr);
  json_object_set_double_member(ev, "t", b->created_at_);
  b->record(ev);
  log_event(id, "created \"" + settings.name + "\"");
  Metrics::get().battle_created();
  return b;
}

std::shared_ptr<Battle> Battle::restore(const BattleStore::Record& record, BattleStore* store) {
  std::shared_ptr<Battle> b(new Battle());
  b->id_ = record.id;
  b->store_ = store;
  b->state_ = BattleState::Ended;
  double last_t = 0;
  bool ended = false;
  for (JsonObject* e : record.events) {
    std::string ev;
    double t = 0;
    json_get_string(e, "event", &ev);
    json_get_number(e, "t", &t);
    last_t = std::max(last_t, t);
    if (ev == "created") {
      b->created_at_ = t;
      json_get_string(e, "name", &b->settings_.name);
      std::string owner;
      if (json_get_string(e, "crossfader_owner", &owner)) parse_crossfader_owner(owner, &b->settings_.crossfader);
      json_get_number(e, "duration_s", &b->settings_.duration_s);
      json_get_number(e, "countdown_s", &b->settings_.countdown_s);
      if (json_object_has_member(e, "tracks")) {
        JsonObject* tr = json_object_get_object_member(e, "tracks");
        for (int i = 0; i < 2 && tr; i++) json_get_string(tr, seat_str(i).c_str(), &b->settings_.track[i]);
      }
    } else if (ev == "joined") {
      std::string seat, name;
      if (json_get_string(e, "seat", &seat) && json_get_string(e, "name", &name) && (seat == "a" || seat == "b"))
        b->dj_name_[seat == "b"] = name;
    } else if (ev == "countdown") {
      b->countdown_at_ = t;
    } else if (ev == "live") {
      b->live_at_ = t;
    } else if (ev == "transition") {
      std::string seat;
      double score = 0;
      if (json_get_string(e, "seat", &seat) && json_get_number(e, "score", &score) && (seat == "a" || seat == "b")) {
        b->score_total_[seat == "b"] += score;
        b->score_count_[seat == "b"]++;
        b->transitions_.push_back(json_object_ref(e));
      }
    } else if (ev == "ended") {
      ended = true;
      b->ended_at_ = t;
      json_get_string(e, "reason", &b->end_reason_);
      if (json_object_has_member(e, "result")) b->result_ = json_object_ref(json_object_get_object_member(e, "result"));
    }
  }
  if (b->created_at_ == 0) return nullptr;
  if (!ended) {
    // The process died while the battle ran: close its history now.
    b->ended_at_ = last_t;
    b->end_reason_ = "interrupted";
    b->result_ = json_object_new();
    double a = b->score_total_[0], bb = b->score_total_[1];
    json_object_set_string_member(b->result_, "winner", a > bb ? "a" : bb > a ? "b" : "draw");
    json_object_set_object_member(b->result_, "scores", b->scores_json());
    json_object_set_string_member(b->result_, "reason", "interrupted");
    JsonObject* ev = json_object_new();
    json_object_set_string_member(ev, "event", "ended");
    json_object_set_string_member(ev, "reason", "interrupted");
    json_object_set_object_member(ev, "result", json_object_ref(b->result_));
    json_object_set_double_member(ev, "t", last_t);
    b->record(ev);
  }
  b->recording_done_ = true;
  return b;
}

Battle::~Battle() {
  teardown_pipeline();
  for (auto& d : deck_state_)
    if (d) json_object_unref(d);
  for (auto& t : deck_track_msg_)
    if (t) json_object_unref(t);
  for (JsonObject* t : transitions_) json_object_unref(t);
  if (result_) json_object_unref(result_);
}

void Battle::teardown_pipeline() {
  if (timer_) g_source_remove(timer_);
  timer_ = 0;
  for (auto& [sid, peer] : peers_) peer->stop();
  peers_.clear();
  for (auto& [sid, s] : subs_) s.peer.reset();
#ifdef HAVE_OUTPUTS
  if (outputs_) outputs_->stop_all();
#endif
  outputs_.reset();
  if (bus_watch_) g_source_remove(bus_watch_);
  bus_watch_ = 0;
  pipe_.reset();
}

bool Battle::check_token(Role seat, const std::string& token) const {
  if (seat == Role::Spectator || token_[0].empty()) return false;
  return tokens_equal(token_[seat_index(seat)], token);
}

JsonObject* Battle::scores_json() const {
  JsonObject* o = json_object_new();
  for (int i = 0; i < 2; i++) {
    JsonObject* s = json_object_new();
    json_object_set_double_member(s, "total", score_total_[i]);
    json_object_set_int_member(s, "transitions", score_count_[i]);
    json_object_set_double_member(s, "average", score_count_[i] ? score_total_[i] / score_count_[i] : 0.0);
    json_object_set_object_member(o, seat_str(i).c_str(), s);
  }
  return o;
}

static void set_value_member(JsonObject* o, const char* name, const GValue* v) {
  GValue d = G_VALUE_INIT;
  if (G_VALUE_HOLDS_ENUM(v)) {
    GEnumClass* k = static_cast<GEnumClass*>(g_type_class_ref(G_VALUE_TYPE(v)));
    GEnumValue* ev = g_enum_get_value(k, g_value_get_enum(v));
    json_object_set_string_member(o, name, ev ? ev->value_nick : "");
    g_type_class_unref(k);
  } else if (G_VALUE_HOLDS_BOOLEAN(v)) {
    json_object_set_boolean_member(o, name, g_value_get_boolean(v));
  } else if (g_value_type_transformable(G_VALUE_TYPE(v), G_TYPE_DOUBLE)) {
    g_value_init(&d, G_TYPE_DOUBLE);
    g_value_transform(v, &d);
    json_object_set_double_member(o, name, g_value_get_double(&d));
    g_value_unset(&d);
  }
}

static bool read_property(GObject* obj, const char* prop, GValue* out) {
  GParamSpec* p = g_object_class_find_property(G_OBJECT_GET_CLASS(obj), prop);
  if (!p) return false;
  g_value_init(out, p->value_type);
  g_object_get_property(obj, prop, out);
  return true;
}

JsonObject* Battle::mixer_state() const {
  JsonObject* o = json_object_new();
  if (!pipe_) return o;
  JsonObject* ch[2] = {json_object_new(), json_object_new()};
  for (const ParamInfo* p = params_begin(); p != params_end(); p++) {
    if (p->scope == ControlScope::Deck) continue;
    for (int i = 0; i < 2; i++) {
      if (p->scope == ControlScope::Mixer && i == 1) break;
      JsonObject* dst = p->scope == ControlScope::Mixer ? o : ch[i];
      if (p->target == ControlTarget::CueMix) {
        json_object_set_double_member(dst, p->name, cue_mix_[i]);
        continue;
      }
      GObject* obj = p->target == ControlTarget::Eq ? G_OBJECT(pipe_->eq[i])
                     : p->target == ControlTarget::MixerPad ? G_OBJECT(pipe_->mixer_pad[i])
                                                            : G_OBJECT(pipe_->mixer);
      GValue v = G_VALUE_INIT;
      if (read_property(obj, p->property, &v)) {
        set_value_member(dst, p->name, &v);
        g_value_unset(&v);
      }
    }
  }
  json_object_set_object_member(o, "a", ch[0]);
  json_object_set_object_member(o, "b", ch[1]);
  return o;
}

JsonObject* Battle::public_state() const {
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "id", id_.c_str());
  json_object_set_string_member(o, "name", settings_.name.c_str());
  json_object_set_string_member(o, "state", battle_state_name(state_));
  json_object_set_string_member(o, "crossfader_owner", crossfader_owner_name(settings_.crossfader));
  json_object_set_double_member(o, "duration_s", settings_.duration_s);
  json_object_set_double_member(o, "countdown_s", settings_.countdown_s);
  json_object_set_double_member(o, "created_at", created_at_);
  auto opt_time = [&](const char* name, double t) {
    if (t > 0) json_object_set_double_member(o, name, t); else json_object_set_null_member(o, name);
  };
  opt_time("countdown_at", countdown_at_);
  opt_time("live_at", live_at_);
  opt_time("ended_at", ended_at_);
  double remaining = settings_.duration_s;
  if (state_ == BattleState::Live) remaining = std::max(0.0, settings_.duration_s - (now_ms() - live_at_) / 1000.0);
  if (state_ == BattleState::Ended) remaining = 0;
  json_object_set_double_member(o, "remaining_s", remaining);
  JsonObject* seats = json_object_new();
  int spectators = 0;
  for (const auto& [sid, s] : subs_)
    if (s.role == Role::Spectator) spectators++;
  for (int i = 0; i < 2; i++) {
    JsonObject* s = json_object_new();
    json_object_set_boolean_member(s, "joined", seat_holder_[i] != 0);
    json_object_set_boolean_member(s, "ready", ready_[i]);
    json_object_set_string_member(s, "name", dj_name_[i].c_str());
    json_object_set_object_member(seats, seat_str(i).c_str(), s);
  }
  json_object_set_object_member(o, "seats", seats);
  json_object_set_int_member(o, "spectators", spectators);
  JsonObject* decks = json_object_new();
  for (int i = 0; i < 2; i++) {
    JsonObject* d = deck_state_[i] ? json_object_ref(deck_state_[i]) : json_object_new();
    const std::string& track = deck_track_[i].empty() ? settings_.track[i] : deck_track_[i];
    if (!track.empty()) {
      json_object_set_string_member(d, "track", track.c_str());
      const TrackInfo* t = library_ ? library_->find(track) : nullptr;
      if (t) json_object_set_object_member(d, "track_info", t->to_json(true));
    }
    json_object_set_object_member(decks, seat_str(i).c_str(), d);
  }
  json_object_set_object_member(o, "decks", decks);
  json_object_set_object_member(o, "mixer", mixer_state());
  json_object_set_object_member(o, "scores", scores_json());
  JsonArray* tr = json_array_new();
  for (JsonObject* t : transitions_) json_array_add_object_element(tr, json_object_ref(t));
  json_object_set_array_member(o, "transitions", tr);
  if (result_) json_object_set_object_member(o, "result", json_object_ref(result_));
  else json_object_set_null_member(o, "result");
  std::string rec = "/api/battles/" + id_ + "/recording";
  json_object_set_string_member(o, "recording_url", rec.c_str());
  json_object_set_boolean_member(o, "running", pipe_ != nullptr);
  return o;
}

void Battle::record(JsonObject* event) {
  store_->append(id_, event);
  json_object_unref(event);
}

void Battle::send_to(uint64_t sub_id, JsonObject* msg) {
  auto it = subs_.find(sub_id);
  if (it != subs_.end()) it->second.sub->send_text(json_object_to_string(msg));
  json_object_unref(msg);
}

void Battle::broadcast(JsonObject* msg) {
  std::string text = json_object_to_string(msg);
  json_object_unref(msg);
  for (auto& [sid, s] : subs_) s.sub->send_text(text);
}

void Battle::battle_event(const char* event, JsonObject* extra) {
  JsonObject* m = extra ? extra : json_object_new();
  json_object_set_string_member(m, "type", "battle");
  json_object_set_string_member(m, "event", event);
  json_object_set_string_member(m, "state", battle_state_name(state_));
  broadcast(m);
  update_overlay();
}

void Battle::send_loaded_tracks(uint64_t sub_id) {
  for (JsonObject* t : deck_track_msg_)
    if (t) send_to(sub_id, json_object_ref(t));
}

void Battle::update_overlay() {
#ifdef HAVE_OUTPUTS
  if (!outputs_) return;
  OverlayInfo info;
  info.battle_name = settings_.name;
  info.dj_a = dj_name_[0].empty() ? "DJ A" : dj_name_[0];
  info.dj_b = dj_name_[1].empty() ? "DJ B" : dj_name_[1];
  info.score_a = score_total_[0];
  info.score_b = score_total_[1];
  info.state = battle_state_name(state_);
  info.remaining_s = settings_.duration_s;
  if (state_ == BattleState::Live)
    info.remaining_s = std::max(0.0, settings_.duration_s - (now_ms() - live_at_) / 1000.0);
  if (state_ == BattleState::Ended) info.remaining_s = 0;
  outputs_->update_overlay(info);
#endif
}

uint64_t Battle::attach(BattleSubscriber* sub, Role role, const std::string& dj_name, Refusal* r) {
  static uint64_t next_id = 1;
  if (role != Role::Spectator && state_ == BattleState::Ended && !pipe_) {
    // History only: DJs have nothing to control.
  }
  uint64_t sid = next_id++;
  if (role != Role::Spectator) {
    int i = seat_index(role);
    if (seat_holder_[i]) {
      uint64_t old = seat_holder_[i];
      auto it = subs_.find(old);
      BattleSubscriber* old_sub = it != subs_.end() ? it->second.sub : nullptr;
      detach(old);
      if (old_sub) old_sub->replaced();
    }
    seat_holder_[i] = sid;
    if (!dj_name.empty()) dj_name_[i] = dj_name;
  }
  Sub s{sub, role, permissions_for(role, settings_.crossfader), nullptr};
  subs_[sid] = s;
  if (pipe_) {
    std::weak_ptr<Battle> weak = weak_from_this();
    Peer::Events ev;
    ev.offer = [weak, sid](const std::string& sdp) {
      auto self = weak.lock();
      if (!self) return;
      JsonObject* m = typed("offer");
      json_object_set_string_member(m, "sdp", sdp.c_str());
      self->send_to(sid, m);
    };
    ev.ice = [weak, sid](const std::string& cand, guint mline) {
      auto self = weak.lock();
      if (!self) return;
      JsonObject* m = typed("ice");
      json_object_set_string_member(m, "candidate", cand.c_str());
      json_object_set_int_member(m, "sdpMLineIndex", mline);
      self->send_to(sid, m);
    };
    std::string who = std::string(role_name(role)) + "#" + std::to_string(sid);
    ev.connection = [id = id_, who](const std::string& state) { log_event(id, "peer " + who + " " + state); };
    std::string err;
    GstElement* cue = role == Role::Spectator ? nullptr : pipe_->cue_rtp_tee[seat_index(role)];
    ev.failed = [weak, sid](const std::string& reason) {
      if (auto self = weak.lock()) self->fail_peer(sid, reason);
    };
    Peer::Options popt;
    popt.loopback_only = ice_loopback_;
    auto peer = Peer::create(pipe_->pipeline, pipe_->master_rtp_tee, cue, "peer_" + std::to_string(sid), popt, ev, &err);
    if (!peer) {
      subs_.erase(sid);
      if (role != Role::Spectator) seat_holder_[seat_index(role)] = 0;
      r->code = "internal";
      r->message = "cannot add a WebRTC peer: " + err;
      return 0;
    }
    peers_[sid] = peer;
    subs_[sid].peer = peer;
    Metrics::get().peer_joined();
  }
  log_event(id_, std::string("joined: ") + role_name(role) + "#" + std::to_string(sid));
  if (role != Role::Spectator) {
    int i = seat_index(role);
    JsonObject* ev = json_object_new();
    json_object_set_string_member(ev, "event", "joined");
    json_object_set_string_member(ev, "seat", seat_str(i).c_str());
    json_object_set_string_member(ev, "name", dj_name_[i].c_str());
    record(ev);
    JsonObject* m = json_object_new();
    json_object_set_string_member(m, "seat", seat_str(i).c_str());
    json_object_set_boolean_member(m, "joined", true);
    json_object_set_boolean_member(m, "ready", ready_[i]);
    json_object_set_string_member(m, "name", dj_name_[i].c_str());
    battle_event("seat", m);
  }
  return sid;
}

void Battle::detach(uint64_t sid) {
  auto it = subs_.find(sid);
  if (it == subs_.end()) return;
  Role role = it->second.role;
  if (it->second.peer) it->second.peer->stop();
  peers_.erase(sid);
  subs_.erase(it);
  log_event(id_, std::string("left: ") + role_name(role) + "#" + std::to_string(sid));
  if (role != Role::Spectator) {
    int i = seat_index(role);
    if (seat_holder_[i] == sid) {
      seat_holder_[i] = 0;
      if (state_ == BattleState::Lobby) ready_[i] = false;
      JsonObject* m = json_object_new();
      json_object_set_string_member(m, "seat", seat_str(i).c_str());
      json_object_set_boolean_member(m, "joined", false);
      json_object_set_boolean_member(m, "ready", ready_[i]);
      battle_event("seat", m);
    }
  }
}

void Battle::fail_peer(uint64_t sid, const std::string& reason) {
  auto it = peers_.find(sid);
  if (it == peers_.end()) return;
  it->second->stop();
  peers_.erase(it);
  auto s = subs_.find(sid);
  if (s == subs_.end()) return;
  s->second.peer.reset();
  log_event(id_, std::string("peer ") + role_name(s->second.role) + "#" + std::to_string(sid) + " failed: " + reason);
  JsonObject* m = typed("error");
  json_object_set_string_member(m, "code", "webrtc-failed");
  std::string text = "the audio connection failed (" + reason + "); join again to reconnect";
  json_object_set_string_member(m, "message", text.c_str());
  send_to(sid, m);
}

bool Battle::answer(uint64_t sid, const std::string& sdp, Refusal* r) {
  auto it = peers_.find(sid);
  if (it == peers_.end()) {
    r->code = "unavailable";
    r->message = "this battle streams no audio (it has ended)";
    return false;
  }
  std::string err;
  if (!it->second->set_answer(sdp, &err)) {
    r->code = "malformed";
    r->message = err;
    return false;
  }
  return true;
}

bool Battle::ice(uint64_t sid, const std::string& candidate, guint mline, Refusal* r) {
  auto it = peers_.find(sid);
  if (it == peers_.end()) {
    r->code = "unavailable";
    r->message = "this battle streams no audio (it has ended)";
    return false;
  }
  if (mline > 1) {
    r->code = "out-of-range";
    r->message = "sdpMLineIndex must be 0 or 1";
    return false;
  }
  it->second->add_ice(candidate, mline);
  return true;
}

bool Battle::ready(uint64_t sid, Refusal* r) {
  auto it = subs_.find(sid);
  if (it == subs_.end() || !it->second.perms.is_allowed(perm::kReady)) {
    r->code = "forbidden";
    r->message = "only a DJ can be ready";
    return false;
  }
  if (state_ != BattleState::Lobby) {
    r->code = state_ == BattleState::Ended ? "ended" : "forbidden";
    r->message = std::string("the battle is already ") + battle_state_name(state_);
    return false;
  }
  int i = seat_index(it->second.role);
  ready_[i] = true;
  JsonObject* ev = json_object_new();
  json_object_set_string_member(ev, "event", "ready");
  json_object_set_string_member(ev, "seat", seat_str(i).c_str());
  record(ev);
  JsonObject* m = json_object_new();
  json_object_set_string_member(m, "seat", seat_str(i).c_str());
  json_object_set_boolean_member(m, "joined", true);
  json_object_set_boolean_member(m, "ready", true);
  battle_event("seat", m);
  log_event(id_, "seat " + seat_str(i) + " ready");
  if (ready_[0] && ready_[1] && seat_holder_[0] && seat_holder_[1]) start_countdown();
  return true;
}

void Battle::start_countdown() {
  if (settings_.countdown_s <= 0) return go_live();
  state_ = BattleState::Countdown;
  countdown_at_ = now_ms();
  JsonObject* ev = json_object_new();
  json_object_set_string_member(ev, "event", "countdown");
  record(ev);
  JsonObject* m = json_object_new();
  json_object_set_double_member(m, "countdown_s", settings_.countdown_s);
  battle_event("countdown", m);
  log_event(id_, "countdown");
  timer_ = g_timeout_add(static_cast<guint>(settings_.countdown_s * 1000), [](gpointer d) -> gboolean {
    auto* self = static_cast<Battle*>(d);
    self->timer_ = 0;
    self->go_live();
    return G_SOURCE_REMOVE;
  }, this);
}

void Battle::go_live() {
  state_ = BattleState::Live;
  live_at_ = now_ms();
  JsonObject* ev = json_object_new();
  json_object_set_string_member(ev, "event", "live");
  record(ev);
  JsonObject* m = json_object_new();
  json_object_set_double_member(m, "remaining_s", settings_.duration_s);
  battle_event("live", m);
  log_event(id_, "live");
  timer_ = g_timeout_add(static_cast<guint>(settings_.duration_s * 1000), [](gpointer d) -> gboolean {
    auto* self = static_cast<Battle*>(d);
    self->timer_ = 0;
    self->end("timer");
    return G_SOURCE_REMOVE;
  }, this);
}

void Battle::update_judge_gains() {
  if (!pipe_) return;
  double xf = 0;
  GValue v = G_VALUE_INIT;
  if (read_property(G_OBJECT(pipe_->mixer), "crossfader", &v)) {
    GValue d = G_VALUE_INIT;
    g_value_init(&d, G_TYPE_DOUBLE);
    if (g_value_transform(&v, &d)) xf = g_value_get_double(&d);
    g_value_unset(&d);
    g_value_unset(&v);
  }
  for (int i = 0; i < 2; i++) {
    double fader = 1.0;
    if (read_property(G_OBJECT(pipe_->mixer_pad[i]), "volume", &v)) {
      GValue d = G_VALUE_INIT;
      g_value_init(&d, G_TYPE_DOUBLE);
      if (g_value_transform(&v, &d)) fader = g_value_get_double(&d);
      g_value_unset(&d);
      g_value_unset(&v);
    }
    // The channel trim (dB) scales what the deck gives the master, before the fader.
    double trim_db = 0.0;
    if (read_property(G_OBJECT(pipe_->mixer_pad[i]), "gain", &v)) {
      GValue d = G_VALUE_INIT;
      g_value_init(&d, G_TYPE_DOUBLE);
      if (g_value_transform(&v, &d)) trim_db = g_value_get_double(&d);
      g_value_unset(&d);
      g_value_unset(&v);
    }
    double gain = std::pow(10.0, trim_db / 20.0);
#ifdef DJU_HAVE_GAIN_LAWS
    CrossfaderCurve curve = CrossfaderCurve::ConstantPower;
    float cut_in = kDefaultCutIn;
    if (read_property(G_OBJECT(pipe_->mixer), "crossfader-curve", &v)) {
      GEnumClass* k = static_cast<GEnumClass*>(g_type_class_ref(G_VALUE_TYPE(&v)));
      GEnumValue* ev = g_enum_get_value(k, g_value_get_enum(&v));
      std::string nick = ev ? ev->value_nick : "";
      g_type_class_unref(k);
      g_value_unset(&v);
      if (nick == "linear") curve = CrossfaderCurve::Linear;
      else if (nick == "cut") curve = CrossfaderCurve::Cut;
    }
    if (read_property(G_OBJECT(pipe_->mixer), "cut-in", &v)) {
      GValue d = G_VALUE_INIT;
      g_value_init(&d, G_TYPE_DOUBLE);
      if (g_value_transform(&v, &d)) cut_in = static_cast<float>(g_value_get_double(&d));
      g_value_unset(&d);
      g_value_unset(&v);
    }
    XfadeGains g = crossfader_gains(static_cast<float>(xf), curve, cut_in);
    gain *= channel_fader_gain(static_cast<float>(fader)) * (i == 0 ? g.left : g.right);
#else
    (void)fader;
    (void)xf;
#endif
    if (pipe_->judge_gain[i]) g_object_set(pipe_->judge_gain[i], "volume", gain, nullptr);
  }
}

// The judge scores tempo and key from what the deck knows: its analysed BPM times the tempo it plays at.
void Battle::update_judge_deck(int i) {
  if (!pipe_ || !pipe_->judge_pad[i]) return;
  double bpm = 0, tempo = 1;
  gchar* camelot = nullptr;
  g_object_get(pipe_->deck[i], "bpm", &bpm, "tempo", &tempo, nullptr);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(pipe_->deck[i]), "camelot"))
    g_object_get(pipe_->deck[i], "camelot", &camelot, nullptr);
  double played = std::min(400.0, std::max(0.0, bpm * tempo));
  if (std::fabs(played - judge_bpm_[i]) > 1e-6 &&
      g_object_class_find_property(G_OBJECT_GET_CLASS(pipe_->judge_pad[i]), "bpm")) {
    g_object_set(pipe_->judge_pad[i], "bpm", played, nullptr);
    judge_bpm_[i] = played;
  }
  std::string key = camelot ? camelot : "";
  g_free(camelot);
  if (key != judge_key_[i] && g_object_class_find_property(G_OBJECT_GET_CLASS(pipe_->judge_pad[i]), "key")) {
    g_object_set(pipe_->judge_pad[i], "key", key.c_str(), nullptr);
    judge_key_[i] = key;
  }
}

// JSON value → GValue of the property's type, refusing (never clamping) values outside its range.
static bool json_to_property_value(GParamSpec* p, JsonNode* node, GValue* out, Refusal* r) {
  GType t = p->value_type;
  bool is_value = node && JSON_NODE_HOLDS_VALUE(node);
  GType jt = is_value ? json_node_get_value_type(node) : G_TYPE_INVALID;
  g_value_init(out, t);
  if (t == G_TYPE_BOOLEAN) {
    if (jt != G_TYPE_BOOLEAN) {
      r->code = "malformed";
      r->message = std::string(p->name) + " takes true or false";
      return false;
    }
    g_value_set_boolean(out, json_node_get_boolean(node));
    return true;
  }
  if (G_TYPE_IS_ENUM(t)) {
    GEnumClass* k = static_cast<GEnumClass*>(g_type_class_ref(t));
    GEnumValue* ev = jt == G_TYPE_STRING ? g_enum_get_value_by_nick(k, json_node_get_string(node)) : nullptr;
    std::string names;
    for (guint i = 0; i < k->n_values; i++) names += std::string(i ? ", " : "") + k->values[i].value_nick;
    if (ev) g_value_set_enum(out, ev->value);
    g_type_class_unref(k);
    if (!ev) {
      r->code = jt == G_TYPE_STRING ? "out-of-range" : "malformed";
      r->message = std::string(p->name) + " takes one of: " + names;
      return false;
    }
    return true;
  }
  if (jt != G_TYPE_INT64 && jt != G_TYPE_DOUBLE) {
    r->code = "malformed";
    r->message = std::string(p->name) + " takes a number";
    return false;
  }
  double d = jt == G_TYPE_INT64 ? static_cast<double>(json_node_get_int(node)) : json_node_get_double(node);
  GValue dv = G_VALUE_INIT;
  g_value_init(&dv, G_TYPE_DOUBLE);
  g_value_set_double(&dv, d);
  bool integral = t == G_TYPE_INT || t == G_TYPE_UINT || t == G_TYPE_INT64 || t == G_TYPE_UINT64;
  bool ok = g_value_type_transformable(G_TYPE_DOUBLE, t) && g_value_transform(&dv, out);
  g_value_unset(&dv);
  if (!ok) {
    r->code = "unavailable";
    r->message = std::string(p->name) + " cannot be set from a number";
    return false;
  }
  GValue check = G_VALUE_INIT;
  g_value_init(&check, t);
  g_value_copy(out, &check);
  bool changed = g_param_value_validate(p, &check);
  g_value_unset(&check);
  if (changed || (integral && std::floor(d) != d)) {
    char range[96] = "";
    if (G_IS_PARAM_SPEC_DOUBLE(p))
      g_snprintf(range, sizeof range, " (%g … %g)", G_PARAM_SPEC_DOUBLE(p)->minimum, G_PARAM_SPEC_DOUBLE(p)->maximum);
    else if (G_IS_PARAM_SPEC_FLOAT(p))
      g_snprintf(range, sizeof range, " (%g … %g)", G_PARAM_SPEC_FLOAT(p)->minimum, G_PARAM_SPEC_FLOAT(p)->maximum);
    else if (G_IS_PARAM_SPEC_INT(p))
      g_snprintf(range, sizeof range, " (%d … %d)", G_PARAM_SPEC_INT(p)->minimum, G_PARAM_SPEC_INT(p)->maximum);
    r->code = "out-of-range";
    char val[32];
    g_snprintf(val, sizeof val, "%g", d);
    r->message = std::string(val) + " is outside the range of " + p->name + range;
    return false;
  }
  return true;
}

bool Battle::apply_param(int i, const ParamInfo* p, JsonNode* value, Refusal* r, GstPad** probe_pad) {
  if (p->target == ControlTarget::CueMix) {
    bool numeric = value && JSON_NODE_HOLDS_VALUE(value) &&
                   (json_node_get_value_type(value) == G_TYPE_DOUBLE || json_node_get_value_type(value) == G_TYPE_INT64);
    if (!numeric) {
      r->code = "malformed";
      r->message = "cue-mix takes a number";
      return false;
    }
    double v = json_node_get_value_type(value) == G_TYPE_INT64 ? json_node_get_int(value) : json_node_get_double(value);
    if (!(v >= 0.0 && v <= 1.0)) {
      r->code = "out-of-range";
      r->message = "cue-mix takes 0 (own deck) … 1 (master)";
      return false;
    }
    // The cue mixer's crossfader: left = own deck before the fader, right = master.
    GParamSpec* ps = g_object_class_find_property(G_OBJECT_GET_CLASS(pipe_->cue_mixer[i]), "crossfader");
    GValue gv = G_VALUE_INIT;
    JsonNode* n = json_node_new(JSON_NODE_VALUE);
    json_node_set_double(n, 2.0 * v - 1.0);
    bool ok = ps && json_to_property_value(ps, n, &gv, r);
    json_node_unref(n);
    if (!ok) {
      if (G_IS_VALUE(&gv)) g_value_unset(&gv);
      if (!ps) { r->code = "unavailable"; r->message = "the cue mixer has no crossfader"; }
      return false;
    }
    g_object_set_property(G_OBJECT(pipe_->cue_mixer[i]), "crossfader", &gv);
    g_value_unset(&gv);
    cue_mix_[i] = v;
    *probe_pad = gst_element_get_static_pad(pipe_->cue_mixer[i], "src");
    return true;
  }
  GObject* obj = nullptr;
  GstElement* heard_at = nullptr;
  switch (p->target) {
    case ControlTarget::Deck: obj = G_OBJECT(pipe_->deck[i]); heard_at = pipe_->deck[i]; break;
    case ControlTarget::Eq: obj = G_OBJECT(pipe_->eq[i]); heard_at = pipe_->eq[i]; break;
    case ControlTarget::MixerPad: obj = G_OBJECT(pipe_->mixer_pad[i]); heard_at = pipe_->mixer; break;
    case ControlTarget::Mixer: obj = G_OBJECT(pipe_->mixer); heard_at = pipe_->mixer; break;
    case ControlTarget::CueMix: break;
  }
  GParamSpec* ps = g_object_class_find_property(G_OBJECT_GET_CLASS(obj), p->property);
  if (!ps || !(ps->flags & G_PARAM_WRITABLE)) {
    r->code = "unavailable";
    r->message = std::string(p->name) + " is not available on this server's elements";
    return false;
  }
  GValue gv = G_VALUE_INIT;
  if (!json_to_property_value(ps, value, &gv, r)) {
    if (G_IS_VALUE(&gv)) g_value_unset(&gv);
    return false;
  }
  g_object_set_property(obj, p->property, &gv);
  g_value_unset(&gv);
  *probe_pad = gst_element_get_static_pad(heard_at, "src");
  if (p->target == ControlTarget::MixerPad || p->target == ControlTarget::Mixer) update_judge_gains();
  return true;
}

namespace {
struct AckProbe {
  std::weak_ptr<Battle> battle;
  uint64_t sub_id;
  gint64 ack_id;
  double received_ms;
};
}  // namespace

void Battle::ack_when_heard(GstPad* pad, uint64_t sub_id, gint64 ack_id, double received_ms) {
  auto* probe = new AckProbe{weak_from_this(), sub_id, ack_id, received_ms};
  gst_pad_add_probe(
      pad, GST_PAD_PROBE_TYPE_BUFFER,
      [](GstPad*, GstPadProbeInfo*, gpointer d) -> GstPadProbeReturn {
        // The first buffer leaving the element after the change: the audio thread has it now.
        auto* a = static_cast<AckProbe*>(d);
        double heard = now_ms();
        AckProbe copy = *a;
        run_on_main([copy, heard] {
          double latency_ms = heard - copy.received_ms;
          Metrics::get().command_latency(latency_ms / 1000.0);
          auto self = copy.battle.lock();
          if (!self) return;
          JsonObject* m = typed("ack");
          json_object_set_int_member(m, "id", copy.ack_id);
          json_object_set_double_member(m, "server_time", heard);
          json_object_set_double_member(m, "received_time", copy.received_ms);
          json_object_set_double_member(m, "latency_ms", latency_ms);
          self->send_to(copy.sub_id, m);
        });
        return GST_PAD_PROBE_REMOVE;
      },
      probe, [](gpointer d) { delete static_cast<AckProbe*>(d); });
}

bool Battle::control(uint64_t sid, JsonObject* msg, std::optional<gint64> ack_id, double received_ms, Refusal* r) {
  auto it = subs_.find(sid);
  if (it == subs_.end()) {
    r->code = "not-joined";
    r->message = "join a battle first";
    return false;
  }
  const Permissions& perms = it->second.perms;
  if (state_ == BattleState::Ended || !pipe_) {
    r->code = "ended";
    r->message = "the battle has ended";
    return false;
  }
  std::string action, param, deck;
  bool has_action = json_get_string(msg, "action", &action);
  bool has_param = json_get_string(msg, "param", &param);
  if (has_action == has_param) {
    r->code = "malformed";
    r->message = "a control names either an action or a param (a string)";
    return false;
  }
  bool has_deck = json_object_has_member(msg, "deck");
  if (has_deck && (!json_get_string(msg, "deck", &deck) || (deck != "a" && deck != "b"))) {
    r->code = "malformed";
    r->message = "deck must be \"a\" or \"b\"";
    return false;
  }
  int i = deck == "b" ? 1 : 0;
  GstPad* probe_pad = nullptr;
  if (has_action) {
    if (!is_deck_action(action)) {
      r->code = "unknown-control";
      r->message = "unknown action " + action.substr(0, 40);
      return false;
    }
    if (!has_deck) {
      r->code = "malformed";
      r->message = "an action needs a deck";
      return false;
    }
    if (!perms.is_allowed(perm::deck(kSeat[i]))) {
      r->code = "forbidden";
      r->message = std::string("seat ") + role_name(it->second.role) + " may not control deck " + deck;
      return false;
    }
    if (action == "load") {
      std::string track;
      const TrackInfo* t = json_get_string(msg, "track", &track) ? library_->find(track) : nullptr;
      if (!t) {
        r->code = "not-found";
        r->message = "no track with that id in the library";
        return false;
      }
      g_object_set(pipe_->deck[i], "location", t->path.c_str(), nullptr);
      deck_track_[i] = t->id;
      log_event(id_, "deck " + deck + " loads " + t->id);
    } else {
      double value = 0, index = 0;
      if (json_object_has_member(msg, "value") && !json_get_number(msg, "value", &value)) {
        r->code = "malformed";
        r->message = "value must be a number";
        return false;
      }
      if (json_object_has_member(msg, "index") && !json_get_number(msg, "index", &index)) {
        r->code = "malformed";
        r->message = "index must be a number";
        return false;
      }
      if (action_takes_hotcue(action) && !(index >= 1 && index <= 8 && std::floor(index) == index)) {
        r->code = "out-of-range";
        r->message = "hotcue index must be 1 … 8";
        return false;
      }
      if (!std::isfinite(value) || std::fabs(value) > 1e6) {
        r->code = "out-of-range";
        r->message = "value out of range";
        return false;
      }
      gboolean ok = FALSE;
      g_signal_emit_by_name(pipe_->deck[i], "action", action.c_str(), static_cast<gint>(index), value, &ok);
      if (!ok) {
        r->code = "out-of-range";
        r->message = "deck " + deck + " refused " + action + " with these values";
        return false;
      }
    }
    probe_pad = gst_element_get_static_pad(pipe_->deck[i], "src");
  } else {
    const ParamInfo* p = find_param(param);
    if (!p) {
      r->code = "unknown-control";
      r->message = "unknown param " + param.substr(0, 40);
      return false;
    }
    if (p->scope != ControlScope::Mixer && !has_deck) {
      r->code = "malformed";
      r->message = param + " needs a deck";
      return false;
    }
    std::string needed = p->scope == ControlScope::Deck      ? perm::deck(kSeat[i])
                         : p->scope == ControlScope::Channel ? perm::channel(kSeat[i])
                                                             : std::string(perm::kCrossfader);
    if (!perms.is_allowed(needed)) {
      r->code = "forbidden";
      r->message = std::string("seat ") + role_name(it->second.role) + " may not move " + param +
                   (p->scope == ControlScope::Mixer ? "" : " of deck " + deck);
      return false;
    }
    JsonNode* value = json_object_has_member(msg, "value") ? json_object_get_member(msg, "value") : nullptr;
    if (!apply_param(i, p, value, r, &probe_pad)) return false;
    if (p->scope != ControlScope::Deck) {
      JsonObject* m = typed("state");
      json_object_set_object_member(m, "mixer", mixer_state());
      broadcast(m);
    }
  }
  Metrics::get().command();
  if (ack_id && probe_pad) ack_when_heard(probe_pad, sid, *ack_id, received_ms);
  if (probe_pad) gst_object_unref(probe_pad);
  return true;
}

bool Battle::midi(uint64_t sid, JsonObject* msg, std::optional<gint64> ack_id, double received_ms, Refusal* r) {
  MidiContext ctx;
  std::string deck;
  int i = json_get_string(msg, "deck", &deck) && deck == "b" ? 1 : 0;
  if (pipe_) {
    gboolean playing = FALSE;
    g_object_get(pipe_->deck[i], "playing", &playing, nullptr);
    ctx.playing = playing;
    GParamSpec* ps = g_object_class_find_property(G_OBJECT_GET_CLASS(pipe_->eq[i]), "low");
    if (ps && G_IS_PARAM_SPEC_DOUBLE(ps)) {
      ctx.eq_min_db = G_PARAM_SPEC_DOUBLE(ps)->minimum;
      ctx.eq_max_db = G_PARAM_SPEC_DOUBLE(ps)->maximum;
    } else if (ps && G_IS_PARAM_SPEC_FLOAT(ps)) {
      ctx.eq_min_db = G_PARAM_SPEC_FLOAT(ps)->minimum;
      ctx.eq_max_db = G_PARAM_SPEC_FLOAT(ps)->maximum;
    }
  }
  std::string err;
  JsonObject* c = midi_to_control(msg, ctx, &err);
  if (!c) {
    if (err.empty()) return true;  // a release with nothing to do
    r->code = err.find("range") != std::string::npos ? "out-of-range"
              : err.find("not mapped") != std::string::npos ? "unknown-control" : "malformed";
    r->message = err;
    return false;
  }
  bool ok = control(sid, c, ack_id, received_ms, r);
  json_object_unref(c);
  return ok;
}

int Battle::add_output(JsonObject* spec, JsonObject** body) {
  *body = json_object_new();
#ifdef HAVE_OUTPUTS
  if (outputs_) {
    std::string error;
    int status = 400;
    std::string oid = outputs_->add(spec, &error, &status);
    if (oid.empty()) {
      json_object_set_string_member(*body, "error", status == 409 ? "conflict" : "bad-request");
      json_object_set_string_member(*body, "message", error.c_str());
      return status;
    }
    json_object_set_string_member(*body, "id", oid.c_str());
    json_object_set_member(*body, "outputs", outputs_->list());
    log_event(id_, "output " + oid + " added");
    update_overlay();
    return 201;
  }
#endif
  (void)spec;
  json_object_set_string_member(*body, "error", "unavailable");
  json_object_set_string_member(*body, "message",
                                pipe_ ? "this server was built without broadcast outputs" : "the battle has ended");
  return pipe_ ? 501 : 409;
}

bool Battle::remove_output(const std::string& oid) {
#ifdef HAVE_OUTPUTS
  if (outputs_ && outputs_->remove(oid)) {
    log_event(id_, "output " + oid + " removed");
    return true;
  }
#endif
  (void)oid;
  return false;
}

JsonNode* Battle::list_outputs() const {
#ifdef HAVE_OUTPUTS
  if (outputs_) return outputs_->list();
#endif
  JsonNode* n = json_node_new(JSON_NODE_ARRAY);
  json_node_take_array(n, json_array_new());
  return n;
}

bool Battle::on_bus(GstMessage* m) {
#ifdef HAVE_OUTPUTS
  if (outputs_ && outputs_->handle_bus_message(m)) return G_SOURCE_CONTINUE;
#endif
  switch (GST_MESSAGE_TYPE(m)) {
    case GST_MESSAGE_ELEMENT: on_element_message(m); break;
    case GST_MESSAGE_QOS: Metrics::get().qos_event(); break;
    case GST_MESSAGE_LATENCY:
      if (pipe_) gst_bin_recalculate_latency(GST_BIN(pipe_->pipeline));
      break;
    case GST_MESSAGE_WARNING: {
      GError* e = nullptr;
      gst_message_parse_warning(m, &e, nullptr);
      log_event(id_, std::string("warning from ") + GST_OBJECT_NAME(GST_MESSAGE_SRC(m)) + ": " + (e ? e->message : ""));
      if (e) g_error_free(e);
      break;
    }
    case GST_MESSAGE_ERROR: {
      GError* e = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(m, &e, &dbg);
      std::string src = GST_OBJECT_NAME(GST_MESSAGE_SRC(m));
      log_event(id_, "error from " + src + ": " + (e ? e->message : "") + (dbg ? std::string(" (") + dbg + ")" : ""));
      if (e) g_error_free(e);
      g_free(dbg);
      if (pipe_) GST_DEBUG_BIN_TO_DOT_FILE_WITH_TS(GST_BIN(pipe_->pipeline), GST_DEBUG_GRAPH_SHOW_ALL, "battle-error");
      // An error inside one peer's branch closes that peer only (its pads never pass the error
      // upstream, see peer.h).
      bool in_peer = false;
      uint64_t peer_sid = 0;
      for (GstObject* p = GST_MESSAGE_SRC(m); p && !in_peer; p = GST_OBJECT_PARENT(p)) {
        std::string name = GST_OBJECT_NAME(p);
        if (name.rfind("peer_", 0) == 0 && pipe_ && GST_OBJECT_PARENT(p) == GST_OBJECT(pipe_->pipeline)) {
          in_peer = true;
          peer_sid = g_ascii_strtoull(name.c_str() + 5, nullptr, 10);
        }
      }
      if (in_peer) fail_peer(peer_sid, std::string("error from ") + src);
      else if (state_ != BattleState::Ended) end("error");
      break;
    }
    default: break;
  }
  return G_SOURCE_CONTINUE;
}

void Battle::on_element_message(GstMessage* m) {
  const GstStructure* s = gst_message_get_structure(m);
  if (!s || !pipe_) return;
  const char* name = gst_structure_get_name(s);
  GstObject* src = GST_MESSAGE_SRC(m);
  int deck = src == GST_OBJECT(pipe_->deck[0]) ? 0 : src == GST_OBJECT(pipe_->deck[1]) ? 1 : -1;
  if (deck >= 0 && g_str_equal(name, "djdeck-state")) {
    if (deck_state_[deck]) json_object_unref(deck_state_[deck]);
    deck_state_[deck] = structure_to_json(s);
    JsonObject* msg = structure_to_json(s);
    json_object_set_string_member(msg, "type", "state");
    json_object_set_string_member(msg, "deck", seat_str(deck).c_str());
    broadcast(msg);
    update_judge_deck(deck);
  } else if (deck >= 0 && g_str_equal(name, "djdeck-track")) {
    JsonObject* msg = structure_to_json(s);
    json_object_set_string_member(msg, "type", "track");
    json_object_set_string_member(msg, "deck", seat_str(deck).c_str());
    json_object_set_string_member(msg, "track", deck_track_[deck].c_str());
    json_object_remove_member(msg, "location");  // a server path; the id says it
    json_object_remove_member(msg, "uri");
    if (deck_track_msg_[deck]) json_object_unref(deck_track_msg_[deck]);
    deck_track_msg_[deck] = json_object_ref(msg);
    broadcast(msg);
    update_judge_deck(deck);
    log_event(id_, "deck " + seat_str(deck) + " loaded " + deck_track_[deck]);
  } else if (deck >= 0 && g_str_equal(name, "djdeck-error")) {
    const char* reason = gst_structure_get_string(s, "reason");
    JsonObject* msg = typed("error");
    json_object_set_string_member(msg, "code", "load-failed");
    json_object_set_string_member(msg, "deck", seat_str(deck).c_str());
    json_object_set_string_member(msg, "message", reason ? reason : "the track could not be loaded");
    broadcast(msg);
    log_event(id_, "deck " + seat_str(deck) + " failed to load: " + (reason ? reason : "?"));
  } else if (src == GST_OBJECT(pipe_->spectrum) && g_str_equal(name, "djspectrum")) {
    JsonObject* msg = structure_to_json(s);
    json_object_set_string_member(msg, "type", "spectrum");
    broadcast(msg);
  } else if (pipe_->judge && src == GST_OBJECT(pipe_->judge) && g_str_equal(name, "djjudge")) {
    on_judge(s);
  }
}

void Battle::on_judge(const GstStructure* s) {
  guint incoming = 0;
  double score = 0;
  const char* phase = gst_structure_get_string(s, "phase");
  if (!gst_structure_get_uint(s, "incoming", &incoming) || incoming > 1) return;
  gst_structure_get_double(s, "score", &score);
  bool is_final = phase && g_str_equal(phase, "final");
  bool counted = is_final && state_ == BattleState::Live;
  JsonObject* msg = structure_to_json(s);
  json_object_set_string_member(msg, "type", "judge");
  json_object_set_string_member(msg, "seat", seat_str(static_cast<int>(incoming)).c_str());
  json_object_set_boolean_member(msg, "counted", counted);
  if (counted) {
    score_total_[incoming] += score;
    score_count_[incoming]++;
    JsonObject* t = structure_to_json(s);
    json_object_set_string_member(t, "event", "transition");
    json_object_set_string_member(t, "seat", seat_str(static_cast<int>(incoming)).c_str());
    json_object_set_double_member(t, "score", score);
    json_object_set_double_member(t, "t", now_ms());
    transitions_.push_back(json_object_ref(t));
    record(t);
    char line[96];
    g_snprintf(line, sizeof line, "transition to deck %c scored %.1f", kSeat[incoming], score);
    log_event(id_, line);
  }
  broadcast(msg);
  if (counted) {
    JsonObject* sc = typed("score");
    json_object_set_object_member(sc, "scores", scores_json());
    broadcast(sc);
    update_overlay();
  }
}

void Battle::finalize_recording(std::function<void()> done) {
  if (!pipe_ || recording_done_) {
    recording_done_ = true;
    if (done) done();
    return;
  }
  struct Finish {
    std::function<void()> done;
    bool fired = false;
    guint timeout = 0;
  };
  auto finish = std::make_shared<Finish>();
  finish->done = std::move(done);
  std::weak_ptr<Battle> weak = weak_from_this();
  auto complete = [finish, weak]() {
    if (finish->fired) return;
    finish->fired = true;
    if (finish->timeout) g_source_remove(finish->timeout);
    finish->timeout = 0;
    if (auto self = weak.lock()) self->recording_done_ = true;
    if (finish->done) finish->done();
  };
  // EOS reaching the file sink: the muxer has written its last page.
  GstPad* sinkpad = gst_element_get_static_pad(pipe_->recording_sink, "sink");
  gst_pad_add_probe(
      sinkpad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer d) -> GstPadProbeReturn {
        if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) != GST_EVENT_EOS) return GST_PAD_PROBE_OK;
        auto fn = *static_cast<std::function<void()>*>(d);
        run_on_main(fn);
        return GST_PAD_PROBE_REMOVE;
      },
      new std::function<void()>(complete), [](gpointer d) { delete static_cast<std::function<void()>*>(d); });
  gst_object_unref(sinkpad);
  finish->timeout = g_timeout_add(3000, [](gpointer d) -> gboolean {
    auto* f = static_cast<std::function<void()>*>(d);
    (*f)();
    return G_SOURCE_REMOVE;
  }, new std::function<void()>([finish, complete] { finish->timeout = 0; complete(); }));
  // Detach the branch at an idle point of the tee, then end its stream.
  gst_pad_add_probe(pipe_->recording_branch_pad, GST_PAD_PROBE_TYPE_IDLE,
                    [](GstPad* pad, GstPadProbeInfo*, gpointer) -> GstPadProbeReturn {
                      GstPad* peer = gst_pad_get_peer(pad);
                      if (peer) {
                        gst_pad_unlink(pad, peer);
                        gst_pad_send_event(peer, gst_event_new_eos());
                        gst_object_unref(peer);
                      }
                      return GST_PAD_PROBE_REMOVE;
                    },
                    nullptr, nullptr);
}

void Battle::end(const std::string& reason, std::function<void()> done) {
  if (state_ == BattleState::Ended) {
    if (pipe_) {
      finalize_recording([self = shared_from_this(), done] {
        self->teardown_pipeline();
        if (done) done();
      });
    } else if (done) {
      done();
    }
    return;
  }
  if (timer_) g_source_remove(timer_);
  timer_ = 0;
  state_ = BattleState::Ended;
  ended_at_ = now_ms();
  end_reason_ = reason;
  result_ = json_object_new();
  double a = score_total_[0], b = score_total_[1];
  json_object_set_string_member(result_, "winner", a > b ? "a" : b > a ? "b" : "draw");
  json_object_set_object_member(result_, "scores", scores_json());
  json_object_set_string_member(result_, "reason", reason.c_str());
  JsonObject* ev = json_object_new();
  json_object_set_string_member(ev, "event", "ended");
  json_object_set_string_member(ev, "reason", reason.c_str());
  json_object_set_object_member(ev, "result", json_object_ref(result_));
  record(ev);
  JsonObject* m = json_object_new();
  json_object_set_object_member(m, "result", json_object_ref(result_));
  battle_event("ended", m);
  log_event(id_, "ended (" + reason + ")");
  finalize_recording([self = shared_from_this(), done] {
    log_event(self->id_, "recording finalized");
    self->teardown_pipeline();
    if (done) done();
  });
}

}  // namespace dju
