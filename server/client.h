// One WebSocket connection (the rtsp-client of this server): parses each frame, checks it (size,
// rate, JSON shape, seat permissions through the battle), answers, and relays the battle's
// messages. A refusal is an `error` message with a code; it changes nothing else.
#pragma once

#include <libsoup/soup.h>
#include <json-glib/json-glib.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "battle.h"
#include "server_context.h"

namespace dju {

class Client : public BattleSubscriber {
 public:
  Client(ServerContext* ctx, SoupWebsocketConnection* conn, std::function<void(Client*)> on_gone);
  ~Client() override;

  void send_text(const std::string& text) override;
  void replaced() override;

 private:
  void on_message(gint type, GBytes* message);
  void on_closed();
  void handle(JsonObject* msg, double received_ms);
  void handle_join(JsonObject* msg);
  void refuse(const std::string& code, const std::string& message, std::optional<gint64> id = std::nullopt);
  bool take_token();

  ServerContext* ctx_;
  SoupWebsocketConnection* conn_;
  std::function<void(Client*)> on_gone_;
  std::shared_ptr<Battle> battle_;
  uint64_t sub_id_ = 0;
  Role role_ = Role::Spectator;
  double tokens_ = 0;
  gint64 last_refill_us_ = 0;
  bool gone_ = false;
  gulong handlers_[2] = {0, 0};
};

}  // namespace dju
