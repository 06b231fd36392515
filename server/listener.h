// Accepts connections (the rtsp-server of this server): one SoupServer on the main context with
// the REST API, the health endpoints, the web pages and the WebSocket, which it hands to one
// Client each.
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <string>

#include "server_context.h"

namespace dju {

class Client;

class Listener {
 public:
  explicit Listener(ServerContext* ctx);
  ~Listener();

  // Listens per the options; prints the URL. False + *error on failure.
  bool start(std::string* error);
  void stop_accepting();
  int port() const { return port_; }
  size_t client_count() const { return clients_.size(); }

 private:
  void handle_api(SoupServerMessage* msg, const char* path, GHashTable* query);
  void handle_battles(SoupServerMessage* msg, const std::string& method, const std::string& rest);
  void handle_tracks(SoupServerMessage* msg, const std::string& method, GHashTable* query);
  void handle_static(SoupServerMessage* msg, const char* path);
  bool admin_ok(SoupServerMessage* msg);
  std::string base_url(SoupServerMessage* msg) const;

  ServerContext* ctx_;
  SoupServer* server_ = nullptr;
  int port_ = 0;
  std::map<Client*, std::unique_ptr<Client>> clients_;
};

}  // namespace dju
