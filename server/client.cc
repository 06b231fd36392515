#include "client.h"

#include "battle_directory.h"
#include "json_util.h"
#include "main_context.h"
#include "metrics.h"

namespace dju {

Client::Client(ServerContext* ctx, SoupWebsocketConnection* conn, std::function<void(Client*)> on_gone)
    : ctx_(ctx), conn_(SOUP_WEBSOCKET_CONNECTION(g_object_ref(conn))), on_gone_(std::move(on_gone)) {
  tokens_ = ctx_->options.rate_burst;
  last_refill_us_ = g_get_monotonic_time();
  // libsoup closes the connection above this (protocol error 1009); below it, frames over the
  // protocol limit get a readable refusal and the connection stays up.
  soup_websocket_connection_set_max_incoming_payload_size(conn_, 16 * ctx_->options.max_frame_bytes);
  soup_websocket_connection_set_keepalive_interval(conn_, 15);
  handlers_[0] = g_signal_connect(conn_, "message", G_CALLBACK(+[](SoupWebsocketConnection*, gint type, GBytes* m,
                                                                    gpointer d) {
                                    static_cast<Client*>(d)->on_message(type, m);
                                  }),
                                  this);
  handlers_[1] = g_signal_connect(conn_, "closed", G_CALLBACK(+[](SoupWebsocketConnection*, gpointer d) {
                                    static_cast<Client*>(d)->on_closed();
                                  }),
                                  this);
}

Client::~Client() {
  for (gulong h : handlers_)
    if (h) g_signal_handler_disconnect(conn_, h);
  if (battle_ && sub_id_) battle_->detach(sub_id_);
  if (soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
  g_object_unref(conn_);
}

void Client::send_text(const std::string& text) {
  if (gone_ || soup_websocket_connection_get_state(conn_) != SOUP_WEBSOCKET_STATE_OPEN) return;
  soup_websocket_connection_send_text(conn_, text.c_str());
  Metrics::get().message_out();
}

void Client::replaced() {
  sub_id_ = 0;
  battle_.reset();
  refuse("replaced", "this seat was taken over by a newer connection with the same token");
  if (soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_NORMAL, "replaced");
}

void Client::on_closed() {
  if (gone_) return;
  gone_ = true;
  if (battle_ && sub_id_) battle_->detach(sub_id_);
  battle_.reset();
  sub_id_ = 0;
  auto cb = on_gone_;
  Client* self = this;
  run_on_main([cb, self] { cb(self); });  // deleted outside libsoup's signal emission
}

void Client::refuse(const std::string& code, const std::string& message, std::optional<gint64> id) {
  Metrics::get().refusal(code);
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "type", "error");
  json_object_set_string_member(o, "code", code.c_str());
  json_object_set_string_member(o, "message", message.c_str());
  if (id) json_object_set_int_member(o, "id", *id);
  send_text(json_object_to_string(o));
  json_object_unref(o);
}

bool Client::take_token() {
  gint64 now = g_get_monotonic_time();
  tokens_ = std::min(ctx_->options.rate_burst, tokens_ + (now - last_refill_us_) / 1e6 * ctx_->options.rate_per_s);
  last_refill_us_ = now;
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void Client::on_message(gint type, GBytes* message) {
  double received = now_ms();
  Metrics::get().message_in();
  gsize size = 0;
  const char* data = static_cast<const char*>(g_bytes_get_data(message, &size));
  if (!take_token()) {
    refuse("rate-limited", "too many messages: at most " + std::to_string(static_cast<int>(ctx_->options.rate_per_s)) +
                               " per second");
    return;
  }
  if (size > ctx_->options.max_frame_bytes) {
    refuse("too-large", "frames are limited to " + std::to_string(ctx_->options.max_frame_bytes / 1024) + " KiB");
    return;
  }
  if (type != SOUP_WEBSOCKET_DATA_TEXT) {
    refuse("malformed", "send JSON text frames");
    return;
  }
  std::string err;
  JsonNode* root = json_parse(data, static_cast<gssize>(size), &err);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    if (root) json_node_unref(root);
    refuse("malformed", root ? "a message is a JSON object" : "not JSON: " + err);
    return;
  }
  handle(json_node_get_object(root), received);
  json_node_unref(root);
}

void Client::handle_join(JsonObject* msg) {
  if (battle_) return refuse("already-joined", "this connection has joined already");
  std::string id, seat, token, name;
  if (!json_get_string(msg, "battle", &id) || !json_get_string(msg, "seat", &seat))
    return refuse("malformed", "join needs battle and seat");
  Role role;
  if (!parse_role(seat, &role)) return refuse("malformed", "seat must be a, b or spectator");
  auto battle = ctx_->directory->find(id);
  if (!battle) return refuse("not-found", "no battle with that id");
  if (role != Role::Spectator) {
    json_get_string(msg, "token", &token);
    if (!battle->check_token(role, token)) return refuse("unauthorized", "wrong or missing token for seat " + seat);
  }
  json_get_string(msg, "name", &name);
  if (name.size() > 40) name.resize(40);
  Refusal r;
  uint64_t sid = battle->attach(this, role, name, &r);
  if (!sid) return refuse(r.code, r.message);
  battle_ = battle;
  sub_id_ = sid;
  role_ = role;
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "type", "joined");
  json_object_set_string_member(o, "seat", role_name(role));
  json_object_set_double_member(o, "server_time", now_ms());
  JsonObject* state = battle->public_state();
  // What this seat may do under the battle's crossfader rule.
  std::string owner;
  json_get_string(state, "crossfader_owner", &owner);
  CrossfaderOwner xo = CrossfaderOwner::Shared;
  parse_crossfader_owner(owner, &xo);
  JsonArray* perms = json_array_new();
  for (const auto& p : permissions_for(role, xo).list()) json_array_add_string_element(perms, p.c_str());
  json_object_set_array_member(o, "permissions", perms);
  json_object_set_object_member(o, "battle", state);
  send_text(json_object_to_string(o));
  json_object_unref(o);
  // A page that joins after the decks loaded still gets each deck's full analysis (waveform, grid).
  battle->send_loaded_tracks(sid);
}

void Client::handle(JsonObject* msg, double received_ms) {
  std::string type;
  if (!json_get_string(msg, "type", &type)) return refuse("malformed", "a message needs a string type");
  std::optional<gint64> id;
  if (json_object_has_member(msg, "id")) {
    double d;
    if (!json_get_number(msg, "id", &d) || d != static_cast<double>(static_cast<gint64>(d)))
      return refuse("malformed", "id must be an integer");
    id = static_cast<gint64>(d);
  }
  if (type == "ping") {
    JsonObject* o = json_object_new();
    json_object_set_string_member(o, "type", "pong");
    json_object_set_double_member(o, "server_time", now_ms());
    if (json_object_has_member(msg, "client_time"))
      json_object_set_member(o, "client_time", json_node_copy(json_object_get_member(msg, "client_time")));
    send_text(json_object_to_string(o));
    json_object_unref(o);
    return;
  }
  if (type == "join") return handle_join(msg);
  bool known = type == "answer" || type == "ice" || type == "control" || type == "midi" || type == "ready";
  if (!known) return refuse("unknown-type", "unknown message type " + type.substr(0, 40), id);
  if (!battle_) return refuse("not-joined", "join a battle first", id);
  Refusal r;
  bool ok = true;
  if (type == "answer") {
    std::string sdp;
    if (!json_get_string(msg, "sdp", &sdp)) return refuse("malformed", "answer needs sdp");
    ok = battle_->answer(sub_id_, sdp, &r);
  } else if (type == "ice") {
    std::string cand;
    double mline = 0;
    if (!json_get_string(msg, "candidate", &cand)) return refuse("malformed", "ice needs candidate");
    if (json_object_has_member(msg, "sdpMLineIndex") && !json_get_number(msg, "sdpMLineIndex", &mline))
      return refuse("malformed", "sdpMLineIndex must be a number");
    if (mline < 0) return refuse("out-of-range", "sdpMLineIndex must be 0 or 1");
    ok = battle_->ice(sub_id_, cand, static_cast<guint>(mline), &r);
  } else if (type == "control") {
    ok = battle_->control(sub_id_, msg, id, received_ms, &r);
  } else if (type == "midi") {
    ok = battle_->midi(sub_id_, msg, id, received_ms, &r);
  } else if (type == "ready") {
    ok = battle_->ready(sub_id_, &r);
  }
  if (!ok) refuse(r.code, r.message, id);
}

}  // namespace dju
