#include "listener.h"

#include <algorithm>
#include <cmath>

#include "battle.h"
#include "battle_directory.h"
#include "client.h"
#include "json_util.h"
#include "metrics.h"
#include "track_library.h"

namespace dju {

namespace {

void respond_json(SoupServerMessage* msg, int status, JsonNode* body) {
  std::string text = json_to_string(body);
  json_node_unref(body);
  soup_server_message_set_status(msg, status, nullptr);
  soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_COPY, text.data(), text.size());
}

void respond_object(SoupServerMessage* msg, int status, JsonObject* o) {
  JsonNode* n = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(n, o);
  respond_json(msg, status, n);
}

void respond_error(SoupServerMessage* msg, int status, const char* code, const std::string& message) {
  Metrics::get().refusal(code);
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "error", code);
  json_object_set_string_member(o, "message", message.c_str());
  respond_object(msg, status, o);
}

const char* content_type_for(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".wasm", "application/wasm"},
      {".txt", "text/plain; charset=utf-8"}, {".map", "application/json"}};
  for (const auto& [ext, type] : types)
    if (path.size() >= strlen(ext) && path.compare(path.size() - strlen(ext), strlen(ext), ext) == 0) return type;
  return "application/octet-stream";
}

bool serve_file(SoupServerMessage* msg, const std::string& file, const char* type) {
  GMappedFile* mapped = g_mapped_file_new(file.c_str(), FALSE, nullptr);
  if (!mapped) return false;
  GBytes* bytes = g_mapped_file_get_bytes(mapped);
  g_mapped_file_unref(mapped);
  soup_server_message_set_status(msg, 200, nullptr);
  soup_message_headers_set_content_type(soup_server_message_get_response_headers(msg), type, nullptr);
  soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
  g_bytes_unref(bytes);
  return true;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

Listener::Listener(ServerContext* ctx) : ctx_(ctx) {}

Listener::~Listener() {
  clients_.clear();
  if (server_) {
    soup_server_disconnect(server_);
    g_object_unref(server_);
  }
}

bool Listener::start(std::string* error) {
  server_ = soup_server_new("server-header", "djuniverse-server ", nullptr);
  const ServerOptions& o = ctx_->options;
  SoupServerListenOptions listen = static_cast<SoupServerListenOptions>(0);
  if (!o.tls_cert.empty()) {
    GError* err = nullptr;
    GTlsCertificate* cert = g_tls_certificate_new_from_files(o.tls_cert.c_str(), o.tls_key.c_str(), &err);
    if (!cert) {
      *error = std::string("TLS certificate: ") + (err ? err->message : "unreadable");
      if (err) g_error_free(err);
      return false;
    }
    soup_server_set_tls_certificate(server_, cert);
    g_object_unref(cert);
    listen = SOUP_SERVER_LISTEN_HTTPS;
  }
  // Uploads over the limit are refused from their headers, before the body is read.
  // (Registered on /api: an early handler owns its path in libsoup's handler table.)
  soup_server_add_early_handler(
      server_, "/api",
      [](SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer d) {
        auto* self = static_cast<Listener*>(d);
        if (!g_str_has_prefix(path, "/api/tracks")) return;
        goffset len = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
        if (len > 0 && static_cast<size_t>(len) > self->ctx_->library->max_upload_bytes())
          respond_error(msg, 413, "too-large",
                        "uploads are limited to " + std::to_string(self->ctx_->library->max_upload_bytes() / (1024 * 1024)) +
                            " MiB");
      },
      this, nullptr);
  soup_server_add_handler(
      server_, "/api",
      [](SoupServer*, SoupServerMessage* msg, const char* path, GHashTable* query, gpointer d) {
        static_cast<Listener*>(d)->handle_api(msg, path, query);
      },
      this, nullptr);
  soup_server_add_handler(
      server_, "/health",
      [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
        JsonObject* o = json_object_new();
        json_object_set_string_member(o, "status", "alive");
        respond_object(msg, 200, o);
      },
      this, nullptr);
  soup_server_add_handler(
      server_, "/ready",
      [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer d) {
        auto* self = static_cast<Listener*>(d);
        auto missing = BattleBuilder::missing_elements();
        int running = 0;
        for (auto& b : self->ctx_->directory->list()) running += b->running();
        JsonObject* o = json_object_new();
        std::string reason;
        if (!missing.empty()) {
          reason = "missing elements:";
          for (auto& m : missing) reason += " " + m;
        } else if (running >= self->ctx_->options.max_battles) {
          reason = "battle limit reached";
        }
        json_object_set_string_member(o, "status", reason.empty() ? "ready" : "not-ready");
        if (!reason.empty()) json_object_set_string_member(o, "reason", reason.c_str());
        json_object_set_int_member(o, "battles", running);
        respond_object(msg, reason.empty() ? 200 : 503, o);
      },
      this, nullptr);
  soup_server_add_handler(
      server_, "/metrics",
      [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
        std::string text = Metrics::get().render();
        soup_server_message_set_status(msg, 200, nullptr);
        soup_server_message_set_response(msg, "text/plain; version=0.0.4", SOUP_MEMORY_COPY, text.data(), text.size());
      },
      this, nullptr);
  soup_server_add_websocket_handler(
      server_, "/ws", nullptr, nullptr,
      [](SoupServer*, SoupServerMessage*, const char*, SoupWebsocketConnection* conn, gpointer d) {
        auto* self = static_cast<Listener*>(d);
        auto client = std::make_unique<Client>(self->ctx_, conn, [self](Client* c) { self->clients_.erase(c); });
        Client* raw = client.get();
        self->clients_[raw] = std::move(client);
      },
      this, nullptr);
  soup_server_add_handler(
      server_, nullptr,
      [](SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer d) {
        static_cast<Listener*>(d)->handle_static(msg, path);
      },
      this, nullptr);

  GError* err = nullptr;
  gboolean ok;
  if (o.host.empty()) {
    ok = soup_server_listen_all(server_, o.port, listen, &err);
  } else {
    GSocketAddress* addr = g_inet_socket_address_new_from_string(o.host.c_str(), o.port);
    if (!addr) {
      *error = "--host must be an IP address";
      return false;
    }
    ok = soup_server_listen(server_, addr, listen, &err);
    g_object_unref(addr);
  }
  if (!ok) {
    *error = std::string("cannot listen: ") + (err ? err->message : "?");
    if (err) g_error_free(err);
    return false;
  }
  GSList* uris = soup_server_get_uris(server_);
  for (GSList* l = uris; l; l = l->next) {
    port_ = g_uri_get_port(static_cast<GUri*>(l->data));
    g_uri_unref(static_cast<GUri*>(l->data));
  }
  g_slist_free(uris);
  g_print("listening on %s://%s:%d/\n", listen ? "https" : "http", o.host.empty() ? "localhost" : o.host.c_str(), port_);
  return true;
}

void Listener::stop_accepting() {
  if (server_) soup_server_disconnect(server_);
}

bool Listener::admin_ok(SoupServerMessage* msg) {
  if (ctx_->options.admin_token.empty()) return true;
  const char* auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  std::string given = auth && g_str_has_prefix(auth, "Bearer ") ? auth + 7 : "";
  // Constant time over the expected length; a different length fails without a byte compare leak.
  const std::string& want = ctx_->options.admin_token;
  volatile unsigned char diff = given.size() != want.size();
  for (size_t i = 0; i < want.size(); i++) diff = diff | (want[i] ^ (i < given.size() ? given[i] : 0));
  if (diff == 0) return true;
  respond_error(msg, 401, "unauthorized", "this action needs the admin token (Authorization: Bearer …)");
  return false;
}

std::string Listener::base_url(SoupServerMessage* msg) const {
  const char* host = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");
  std::string scheme = ctx_->options.tls_cert.empty() ? "http" : "https";
  std::string h = host && *host ? host : "localhost:" + std::to_string(port_);
  // Only what a Host header may hold, so a client cannot inject into the links we hand out.
  for (char c : h)
    if (!(g_ascii_isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
      return scheme + "://localhost:" + std::to_string(port_);
  return scheme + "://" + h;
}

void Listener::handle_api(SoupServerMessage* msg, const char* path, GHashTable* query) {
  std::string method = soup_server_message_get_method(msg);
  std::string p = path;
  if (p.rfind("/api/battles", 0) == 0) return handle_battles(msg, method, p.substr(12));
  if (p == "/api/tracks" || p == "/api/tracks/") return handle_tracks(msg, method, query);
  respond_error(msg, 404, "not-found", "no such API path");
}

static bool read_body_object(SoupServerMessage* msg, JsonObject** out, std::string* error) {
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  if (!body || body->length == 0) {
    *out = json_object_new();
    return true;
  }
  if (body->length > 64 * 1024) {
    *error = "the request body is over 64 KiB";
    return false;
  }
  JsonNode* n = json_parse(body->data, body->length, error);
  if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
    if (n) json_node_unref(n);
    if (error->empty()) *error = "the body must be a JSON object";
    return false;
  }
  *out = json_object_ref(json_node_get_object(n));
  json_node_unref(n);
  return true;
}

void Listener::handle_battles(SoupServerMessage* msg, const std::string& method, const std::string& rest) {
  auto parts = split_path(rest);
  if (parts.empty()) {
    if (method == "GET") {
      JsonArray* a = json_array_new();
      for (auto& b : ctx_->directory->list()) {
        JsonObject* s = b->public_state();
        json_object_remove_member(s, "decks");  // the list stays small; one battle has the detail
        json_array_add_object_element(a, s);
      }
      JsonObject* o = json_object_new();
      json_object_set_array_member(o, "battles", a);
      return respond_object(msg, 200, o);
    }
    if (method != "POST") return respond_error(msg, 405, "bad-request", "use GET or POST");
    if (!admin_ok(msg)) return;
    JsonObject* req = nullptr;
    std::string err;
    if (!read_body_object(msg, &req, &err)) return respond_error(msg, 400, "bad-request", err);
    BattleSettings s;
    auto bad = [&](const std::string& why) {
      json_object_unref(req);
      respond_error(msg, 400, "bad-request", why);
    };
    if (json_object_has_member(req, "name") && !json_get_string(req, "name", &s.name)) return bad("name must be a string");
    if (s.name.empty() || g_utf8_strlen(s.name.c_str(), -1) > 80 || !g_utf8_validate(s.name.c_str(), -1, nullptr))
      return bad("name must be 1 … 80 characters");
    std::string owner = "shared";
    if (json_object_has_member(req, "crossfader") &&
        (!json_get_string(req, "crossfader", &owner) || !parse_crossfader_owner(owner, &s.crossfader)))
      return bad("crossfader must be shared, a or b");
    if (json_object_has_member(req, "duration_s") &&
        (!json_get_number(req, "duration_s", &s.duration_s) || !(s.duration_s >= 10 && s.duration_s <= 7200)))
      return bad("duration_s must be 10 … 7200");
    if (json_object_has_member(req, "countdown_s") &&
        (!json_get_number(req, "countdown_s", &s.countdown_s) || !(s.countdown_s >= 0 && s.countdown_s <= 30)))
      return bad("countdown_s must be 0 … 30");
    if (json_object_has_member(req, "tracks")) {
      JsonNode* tn = json_object_get_member(req, "tracks");
      if (!JSON_NODE_HOLDS_OBJECT(tn)) return bad("tracks must be {\"a\":id,\"b\":id}");
      JsonObject* t = json_node_get_object(tn);
      for (int i = 0; i < 2; i++) {
        const char* seat = i ? "b" : "a";
        if (!json_object_has_member(t, seat)) continue;
        if (!json_get_string(t, seat, &s.track[i]) || !ctx_->library->find(s.track[i]))
          return bad(std::string("tracks.") + seat + " is not a track id of the library");
      }
    }
    json_object_unref(req);
    int running = 0;
    for (auto& b : ctx_->directory->list()) running += b->running();
    if (running >= ctx_->options.max_battles)
      return respond_error(msg, 503, "unavailable", "this server hosts its maximum number of battles");
    std::string id = generate_token().substr(0, 12);
    std::string error;
    auto battle = Battle::create(id, s, ctx_->library, ctx_->store, ctx_->options.pipeline, &error);
    if (!battle) return respond_error(msg, 503, "unavailable", "cannot build a battle: " + error);
    ctx_->directory->add(battle);
    std::string base = base_url(msg);
    JsonObject* o = json_object_new();
    json_object_set_string_member(o, "id", id.c_str());
    json_object_set_string_member(o, "name", s.name.c_str());
    JsonObject* seats = json_object_new();
    for (Role r : {Role::SeatA, Role::SeatB}) {
      JsonObject* seat = json_object_new();
      json_object_set_string_member(seat, "token", battle->token(r).c_str());
      std::string url = base + "/dj/" + id + "?seat=" + role_name(r) + "&token=" + battle->token(r);
      json_object_set_string_member(seat, "url", url.c_str());
      json_object_set_object_member(seats, role_name(r), seat);
    }
    json_object_set_object_member(o, "seats", seats);
    std::string watch = base + "/watch/" + id;
    json_object_set_string_member(o, "spectate_url", watch.c_str());
    json_object_set_object_member(o, "battle", battle->public_state());
    return respond_object(msg, 201, o);
  }
  auto battle = ctx_->directory->find(parts[0]);
  if (!battle) return respond_error(msg, 404, "not-found", "no battle with that id");
  if (parts.size() == 1) {
    if (method == "GET") return respond_object(msg, 200, battle->public_state());
    if (method != "DELETE") return respond_error(msg, 405, "bad-request", "use GET or DELETE");
    if (!admin_ok(msg)) return;
    // Answer once the recording is complete, so a client can download it right after.
    soup_server_message_pause(msg);
    g_object_ref(msg);
    battle->end("deleted", [msg, battle] {
      respond_object(msg, 200, battle->public_state());
      soup_server_message_unpause(msg);
      g_object_unref(msg);
    });
    return;
  }
  if (parts[1] == "recording" && parts.size() == 2) {
    if (method != "GET") return respond_error(msg, 405, "bad-request", "use GET");
    if (!serve_file(msg, battle->recording_path(), "audio/ogg"))
      return respond_error(msg, 404, "not-found", "this battle has no recording");
    return;
  }
  if (parts[1] == "outputs") {
    if (parts.size() == 2 && method == "GET") {
      JsonObject* o = json_object_new();
      json_object_set_member(o, "outputs", battle->list_outputs());
      return respond_object(msg, 200, o);
    }
    if (!admin_ok(msg)) return;
    if (parts.size() == 2 && method == "POST") {
      JsonObject* req = nullptr;
      std::string err;
      if (!read_body_object(msg, &req, &err)) return respond_error(msg, 400, "bad-request", err);
      JsonObject* body = nullptr;
      int status = battle->add_output(req, &body);
      json_object_unref(req);
      return respond_object(msg, status, body);
    }
    if (parts.size() == 3 && method == "DELETE") {
      if (!battle->remove_output(parts[2])) return respond_error(msg, 404, "not-found", "no output with that id");
      JsonObject* o = json_object_new();
      json_object_set_member(o, "outputs", battle->list_outputs());
      return respond_object(msg, 200, o);
    }
    return respond_error(msg, 405, "bad-request", "use POST …/outputs or DELETE …/outputs/{oid}");
  }
  respond_error(msg, 404, "not-found", "no such API path");
}

void Listener::handle_tracks(SoupServerMessage* msg, const std::string& method, GHashTable* query) {
  if (method == "GET") return respond_json(msg, 200, ctx_->library->list_json());
  if (method != "POST") return respond_error(msg, 405, "bad-request", "use GET or POST");
  if (soup_server_message_get_status(msg) == 413) return;  // refused by the early handler
  const char* name = query ? static_cast<const char*>(g_hash_table_lookup(query, "name")) : nullptr;
  SoupMessageBody* body = soup_server_message_get_request_body(msg);
  std::string bytes = body && body->data ? std::string(body->data, body->length) : std::string();
  soup_server_message_pause(msg);
  g_object_ref(msg);
  ctx_->library->upload(name ? name : "upload", std::move(bytes), [msg](int status, JsonObject* o) {
    if (status >= 400) {
      std::string code;
      json_get_string(o, "error", &code);
      Metrics::get().refusal(code);
    }
    respond_object(msg, status, o);
    soup_server_message_unpause(msg);
    g_object_unref(msg);
  });
}

void Listener::handle_static(SoupServerMessage* msg, const char* path) {
  std::string method = soup_server_message_get_method(msg);
  if (method != "GET" && method != "HEAD") return respond_error(msg, 405, "bad-request", "use GET");
  std::string p = path ? path : "/";
  std::string file;
  auto parts = split_path(p);
  if (parts.empty()) file = "index.html";
  else if (parts[0] == "dj" && parts.size() == 2) file = "dj.html";
  else if (parts[0] == "watch" && parts.size() == 2) file = "watch.html";
  else {
    // Only plain names under web/: no dot-segments, no hidden files.
    for (const auto& part : parts)
      if (part.empty() || part[0] == '.' || part.find('\\') != std::string::npos)
        return respond_error(msg, 404, "not-found", "no such page");
    for (size_t i = 0; i < parts.size(); i++) file += (i ? "/" : "") + parts[i];
  }
  std::string full = ctx_->options.web_dir + "/" + file;
  if (!g_file_test(full.c_str(), G_FILE_TEST_IS_REGULAR) || !serve_file(msg, full, content_type_for(full)))
    return respond_error(msg, 404, "not-found", "no such page");
}

}  // namespace dju
