#include "output_spec.h"

#include <cstring>

namespace dju {
namespace {

// Each getter leaves *out untouched when the member is absent and fails on a wrong type.
bool get_string(JsonObject* o, const char* name, std::string* out, std::string* error) {
  JsonNode* n = json_object_get_member(o, name);
  if (!n || JSON_NODE_HOLDS_NULL(n)) return true;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
    *error = std::string("\"") + name + "\" must be a string";
    return false;
  }
  *out = json_node_get_string(n);
  return true;
}

bool get_int(JsonObject* o, const char* name, int lo, int hi, int* out, std::string* error) {
  JsonNode* n = json_object_get_member(o, name);
  if (!n || JSON_NODE_HOLDS_NULL(n)) return true;
  GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
  double v;
  if (t == G_TYPE_INT64) {
    v = static_cast<double>(json_node_get_int(n));
  } else if (t == G_TYPE_DOUBLE) {
    v = json_node_get_double(n);
    if (v != static_cast<double>(static_cast<long long>(v))) {
      *error = std::string("\"") + name + "\" must be a whole number";
      return false;
    }
  } else {
    *error = std::string("\"") + name + "\" must be a number";
    return false;
  }
  if (v < lo || v > hi) {
    *error = std::string("\"") + name + "\" must be between " + std::to_string(lo) + " and " +
             std::to_string(hi);
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool get_bool(JsonObject* o, const char* name, bool* out, std::string* error) {
  JsonNode* n = json_object_get_member(o, name);
  if (!n || JSON_NODE_HOLDS_NULL(n)) return true;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
    *error = std::string("\"") + name + "\" must be true or false";
    return false;
  }
  *out = json_node_get_boolean(n);
  return true;
}

// No control characters or spaces: these strings end up in element properties and URLs.
bool printable(const std::string& s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f) return false;
  return true;
}

bool parse_rtmp(JsonObject* o, OutputSpec* spec, std::string* error) {
  if (!get_string(o, "url", &spec->url, error)) return false;
  if (spec->url.empty()) {
    *error = "an rtmp output needs \"url\": rtmp://host/app/stream-key";
    return false;
  }
  GError* err = nullptr;
  GUri* uri = g_uri_parse(spec->url.c_str(), G_URI_FLAGS_NONE, &err);
  if (!uri) {
    *error = "\"url\" is not a valid URL: " + std::string(err->message);
    g_error_free(err);
    return false;
  }
  std::string scheme = g_uri_get_scheme(uri) ? g_uri_get_scheme(uri) : "";
  std::string host = g_uri_get_host(uri) ? g_uri_get_host(uri) : "";
  std::string path = g_uri_get_path(uri) ? g_uri_get_path(uri) : "";
  g_uri_unref(uri);
  if (scheme != "rtmp" && scheme != "rtmps") {
    *error = "an rtmp output's \"url\" must start with rtmp:// or rtmps://";
    return false;
  }
  // rtmp2sink takes the last path segment as the stream (key) and the rest as the application.
  size_t slash = path.find_last_of('/');
  if (host.empty() || slash == std::string::npos || slash == 0 || slash + 1 >= path.size()) {
    *error = "an rtmp output's \"url\" must name host, application and stream key: "
             "rtmp://host/app/stream-key";
    return false;
  }
  if (!printable(spec->url)) {
    *error = "\"url\" must not contain spaces or control characters";
    return false;
  }
  if (!get_bool(o, "video", &spec->video, error)) return false;
  if (!get_int(o, "video_kbps", 300, 12000, &spec->video_kbps, error)) return false;
  return true;
}

bool parse_srt(JsonObject* o, OutputSpec* spec, std::string* error) {
  if (!json_object_has_member(o, "port")) {
    *error = "an srt output needs \"port\" (the UDP port it listens on, 1024-65535)";
    return false;
  }
  if (!get_int(o, "port", 1024, 65535, &spec->port, error)) return false;
  if (!get_string(o, "bind", &spec->bind, error)) return false;
  if (!g_hostname_is_ip_address(spec->bind.c_str())) {
    *error = "\"bind\" must be an IP address such as 0.0.0.0 or 127.0.0.1";
    return false;
  }
  if (!get_string(o, "passphrase", &spec->passphrase, error)) return false;
  if (!spec->passphrase.empty() && (spec->passphrase.size() < 10 || spec->passphrase.size() > 79)) {
    *error = "\"passphrase\" must be 10 to 79 characters long (SRT's rule)";
    return false;
  }
  if (!get_int(o, "latency_ms", 20, 8000, &spec->latency_ms, error)) return false;
  if (!get_bool(o, "video", &spec->video, error)) return false;
  if (!get_int(o, "video_kbps", 300, 12000, &spec->video_kbps, error)) return false;
  return true;
}

bool parse_icecast(JsonObject* o, OutputSpec* spec, std::string* error) {
  if (!get_string(o, "url", &spec->url, error)) return false;
  if (spec->url.empty()) {
    *error = "an icecast output needs \"url\": icecast://source:password@host:8000/mount";
    return false;
  }
  GError* err = nullptr;
  GUri* uri = g_uri_parse(spec->url.c_str(), G_URI_FLAGS_HAS_PASSWORD, &err);
  if (!uri) {
    *error = "\"url\" is not a valid URL: " + std::string(err->message);
    g_error_free(err);
    return false;
  }
  std::string scheme = g_uri_get_scheme(uri) ? g_uri_get_scheme(uri) : "";
  spec->host = g_uri_get_host(uri) ? g_uri_get_host(uri) : "";
  spec->mount = g_uri_get_path(uri) ? g_uri_get_path(uri) : "";
  if (g_uri_get_user(uri) && *g_uri_get_user(uri)) spec->user = g_uri_get_user(uri);
  spec->password = g_uri_get_password(uri) ? g_uri_get_password(uri) : "";
  if (g_uri_get_port(uri) > 0) spec->icecast_port = g_uri_get_port(uri);
  g_uri_unref(uri);
  if (scheme != "icecast" && scheme != "http") {
    *error = "an icecast output's \"url\" must start with icecast:// (or http://)";
    return false;
  }
  if (spec->host.empty() || spec->mount.size() < 2 || spec->mount[0] != '/') {
    *error = "an icecast output's \"url\" must name host and mount: icecast://source:password@host:8000/mount";
    return false;
  }
  if (spec->password.empty()) {
    *error = "an icecast output's \"url\" must carry the source password: icecast://source:password@host/mount";
    return false;
  }
  if (!printable(spec->mount)) {
    *error = "the mount must not contain spaces or control characters";
    return false;
  }
  if (!get_string(o, "format", &spec->format, error)) return false;
  if (spec->format != "mp3" && spec->format != "ogg") {
    *error = "\"format\" must be \"mp3\" or \"ogg\"";
    return false;
  }
  return true;
}

}  // namespace

const char* output_kind_name(OutputKind kind) {
  switch (kind) {
    case OutputKind::Rtmp: return "rtmp";
    case OutputKind::Srt: return "srt";
    case OutputKind::Hls: return "hls";
    case OutputKind::Icecast: return "icecast";
  }
  return "?";
}

bool parse_output_spec(JsonObject* body, OutputSpec* spec, std::string* error) {
  *spec = OutputSpec();
  if (!body) {
    *error = "the request body must be a JSON object";
    return false;
  }
  std::string kind;
  if (!get_string(body, "kind", &kind, error)) return false;
  if (kind == "rtmp") {
    spec->kind = OutputKind::Rtmp;
  } else if (kind == "srt") {
    spec->kind = OutputKind::Srt;
  } else if (kind == "hls") {
    spec->kind = OutputKind::Hls;
  } else if (kind == "icecast") {
    spec->kind = OutputKind::Icecast;
  } else {
    *error = kind.empty() ? "\"kind\" is missing: one of rtmp, srt, hls, icecast"
                          : "unknown \"kind\" \"" + kind + "\": one of rtmp, srt, hls, icecast";
    return false;
  }
  if (!get_int(body, "audio_kbps", 64, 320, &spec->audio_kbps, error)) return false;
  switch (spec->kind) {
    case OutputKind::Rtmp: return parse_rtmp(body, spec, error);
    case OutputKind::Srt: return parse_srt(body, spec, error);
    case OutputKind::Icecast: return parse_icecast(body, spec, error);
    case OutputKind::Hls: return true;
  }
  return false;
}

std::string masked_url(const OutputSpec& spec) {
  switch (spec.kind) {
    case OutputKind::Rtmp: {
      size_t slash = spec.url.find_last_of('/');
      return slash == std::string::npos ? spec.url : spec.url.substr(0, slash + 1) + "****";
    }
    case OutputKind::Icecast:
      return "icecast://" + spec.user + ":****@" + spec.host + ":" + std::to_string(spec.icecast_port) +
             spec.mount;
    case OutputKind::Srt:
      return "srt://" + spec.bind + ":" + std::to_string(spec.port);
    case OutputKind::Hls:
      return "";
  }
  return "";
}

}  // namespace dju
