#include "server_harness.h"

#include <gst/app/gstappsink.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <nice/nice.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "test_env.h"

namespace dju_test {

double wall_ms() { return static_cast<double>(g_get_real_time()) / 1000.0; }

bool wait_until(const std::function<bool()>& pred, double timeout_s) {
  gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  while (!pred()) {
    if (g_get_monotonic_time() > end) return false;
    if (!g_main_context_iteration(nullptr, FALSE)) g_usleep(2000);
  }
  return true;
}

void spin(double seconds) {
  wait_until([] { return false; }, seconds);
}

static void remove_tree(const std::string& path) {
  GDir* d = g_dir_open(path.c_str(), 0, nullptr);
  if (d) {
    while (const char* n = g_dir_read_name(d)) {
      std::string p = path + "/" + n;
      if (g_file_test(p.c_str(), G_FILE_TEST_IS_DIR) && !g_file_test(p.c_str(), G_FILE_TEST_IS_SYMLINK)) remove_tree(p);
      else g_unlink(p.c_str());
    }
    g_dir_close(d);
  }
  g_rmdir(path.c_str());
}

std::string fresh_dir(const std::string& name) {
  std::string dir = build_root() + "/tests/artifacts/server/" + name;
  remove_tree(dir);
  g_mkdir_with_parents(dir.c_str(), 0755);
  return dir;
}

void write_tone_track(const std::string& path, double freq, double bpm, double seconds) {
  const int rate = 48000;
  size_t frames = static_cast<size_t>(seconds * rate);
  std::vector<int16_t> pcm(frames * 2);
  double beat = 60.0 / bpm;
  for (size_t i = 0; i < frames; i++) {
    double t = static_cast<double>(i) / rate;
    double phase = std::fmod(t, beat) / beat;
    double env = 0.35 + 0.65 * std::exp(-6.0 * phase);
    double s = 0.5 * env * std::sin(2 * M_PI * freq * t);
    pcm[2 * i] = pcm[2 * i + 1] = static_cast<int16_t>(std::lround(s * 32767));
  }
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  uint32_t data_bytes = static_cast<uint32_t>(pcm.size() * 2);
  f.write("RIFF", 4); u32(36 + data_bytes); f.write("WAVE", 4);
  f.write("fmt ", 4); u32(16); u16(1); u16(2); u32(rate); u32(rate * 4); u16(4); u16(16);
  f.write("data", 4); u32(data_bytes);
  f.write(reinterpret_cast<const char*>(pcm.data()), data_bytes);
}

// ---------------------------------------------------------------------------------------------
ServerProcess::ServerProcess(std::string data_dir, std::string tracks_dir, std::vector<std::string> extra_args)
    : data_(std::move(data_dir)), tracks_(std::move(tracks_dir)), extra_(std::move(extra_args)) {}

ServerProcess::~ServerProcess() {
  if (proc_) stop(SIGKILL, 5);
}

bool ServerProcess::start(double timeout_s) {
  log_path_ = data_ + ".log";
  g_unlink(log_path_.c_str());
  std::vector<const char*> argv;
  std::string exe = build_root() + "/server/djuniverse-server";
  argv.push_back(exe.c_str());
  std::vector<std::string> args = {"--port", "0", "--host", "127.0.0.1", "--data", data_, "--tracks", tracks_,
                                   "--web", source_root() + "/web"};
  args.insert(args.end(), extra_.begin(), extra_.end());
  for (auto& a : args) argv.push_back(a.c_str());
  argv.push_back(nullptr);
  GSubprocessLauncher* l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE);
  g_subprocess_launcher_set_stdout_file_path(l, log_path_.c_str());
  g_subprocess_launcher_take_stderr_fd(l, -1);
  g_subprocess_launcher_set_flags(l, G_SUBPROCESS_FLAGS_STDERR_MERGE);
  GError* err = nullptr;
  proc_ = g_subprocess_launcher_spawnv(l, argv.data(), &err);
  g_object_unref(l);
  if (!proc_) {
    g_printerr("cannot start the server: %s\n", err->message);
    g_error_free(err);
    return false;
  }
  bool up = wait_until([&] {
    std::string text = log();
    auto at = text.find("listening on http://127.0.0.1:");
    if (at == std::string::npos) return false;
    port_ = std::atoi(text.c_str() + at + strlen("listening on http://127.0.0.1:"));
    return port_ > 0;
  }, timeout_s);
  return up;
}

std::string ServerProcess::log() const {
  gchar* text = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(log_path_.c_str(), &text, &len, nullptr)) return "";
  std::string s(text, len);
  g_free(text);
  return s;
}

int ServerProcess::stop(int signal_number, double timeout_s) {
  if (!proc_) return -1;
  g_subprocess_send_signal(proc_, signal_number);
  gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_s * 1e6);
  while (g_subprocess_get_identifier(proc_) && g_get_monotonic_time() < end) {
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(10000);
  }
  int status;
  if (g_subprocess_get_identifier(proc_)) {
    g_subprocess_force_exit(proc_);
    g_subprocess_wait(proc_, nullptr, nullptr);
    status = -999;
  } else if (g_subprocess_get_if_signaled(proc_)) {
    status = -g_subprocess_get_term_sig(proc_);
  } else {
    status = g_subprocess_get_exit_status(proc_);
  }
  g_object_unref(proc_);
  proc_ = nullptr;
  return status;
}

std::string ServerProcess::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

// ---------------------------------------------------------------------------------------------
JsonNode* HttpResponse::json() const {
  JsonParser* p = json_parser_new();
  JsonNode* n = nullptr;
  if (json_parser_load_from_data(p, body.c_str(), static_cast<gssize>(body.size()), nullptr) && json_parser_get_root(p))
    n = json_node_copy(json_parser_get_root(p));
  g_object_unref(p);
  return n;
}

HttpResponse http(const std::string& method, const std::string& url, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpResponse r;
  SoupSession* s = soup_session_new_with_options("timeout", 30, nullptr);
  SoupMessage* m = soup_message_new(method.c_str(), url.c_str());
  if (!m) {
    g_object_unref(s);
    return r;
  }
  for (auto& [k, v] : headers) soup_message_headers_replace(soup_message_get_request_headers(m), k.c_str(), v.c_str());
  if (!body.empty() || method == "POST") {
    GBytes* b = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(m, "application/octet-stream", b);
    g_bytes_unref(b);
  }
  GError* err = nullptr;
  GBytes* out = soup_session_send_and_read(s, m, nullptr, &err);
  r.status = static_cast<int>(soup_message_get_status(m));
  if (out) {
    gsize n = 0;
    const char* d = static_cast<const char*>(g_bytes_get_data(out, &n));
    r.body.assign(d ? d : "", n);
    g_bytes_unref(out);
  }
  if (err) g_error_free(err);
  g_object_unref(m);
  g_object_unref(s);
  return r;
}

JsonObject* parse_object(const std::string& text) {
  JsonParser* p = json_parser_new();
  JsonObject* o = nullptr;
  if (json_parser_load_from_data(p, text.c_str(), static_cast<gssize>(text.size()), nullptr)) {
    JsonNode* root = json_parser_get_root(p);
    if (root && JSON_NODE_HOLDS_OBJECT(root)) o = json_object_ref(json_node_get_object(root));
  }
  g_object_unref(p);
  return o;
}

std::string str_member(JsonObject* o, const char* name) {
  if (!o || !json_object_has_member(o, name)) return "";
  JsonNode* n = json_object_get_member(o, name);
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) return "";
  return json_node_get_string(n);
}

std::string to_json(JsonObject* o) {
  JsonNode* n = json_node_new(JSON_NODE_OBJECT);
  json_node_set_object(n, o);
  gchar* t = json_to_string(n, FALSE);
  std::string s = t;
  g_free(t);
  json_node_unref(n);
  return s;
}

// ---------------------------------------------------------------------------------------------
WsClient::WsClient(const std::string& url) {
  session_ = soup_session_new();
  SoupMessage* m = soup_message_new("GET", url.c_str());
  bool done = false;
  struct Ctx {
    WsClient* self;
    bool* done;
  } ctx{this, &done};
  soup_session_websocket_connect_async(
      session_, m, nullptr, nullptr, G_PRIORITY_DEFAULT, nullptr,
      [](GObject* src, GAsyncResult* res, gpointer d) {
        auto* c = static_cast<Ctx*>(d);
        c->self->conn_ = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, nullptr);
        *c->done = true;
      },
      &ctx);
  wait_until([&] { return done; }, 5);
  g_object_unref(m);
  if (!conn_) return;
  soup_websocket_connection_set_max_incoming_payload_size(conn_, 16 * 1024 * 1024);
  g_signal_connect(conn_, "message", G_CALLBACK(+[](SoupWebsocketConnection*, gint, GBytes* b, gpointer d) {
                     auto* self = static_cast<WsClient*>(d);
                     gsize n = 0;
                     const char* text = static_cast<const char*>(g_bytes_get_data(b, &n));
                     JsonObject* o = parse_object(std::string(text, n));
                     if (!o) return;
                     self->all_types_.push_back(str_member(o, "type"));
                     if (self->on_message) self->on_message(o);
                     self->inbox_.push_back(o);
                   }),
                   this);
  g_signal_connect(conn_, "closed", G_CALLBACK(+[](SoupWebsocketConnection*, gpointer d) {
                     static_cast<WsClient*>(d)->closed_ = true;
                   }),
                   this);
}

WsClient::~WsClient() {
  on_message = nullptr;
  close();
  for (JsonObject* o : inbox_) json_object_unref(o);
  if (conn_) {
    g_signal_handlers_disconnect_by_data(conn_, this);
    g_object_unref(conn_);
  }
  g_object_unref(session_);
}

bool WsClient::open() const { return conn_ && soup_websocket_connection_get_state(conn_) == SOUP_WEBSOCKET_STATE_OPEN; }

void WsClient::send(const std::string& text) {
  if (open()) soup_websocket_connection_send_text(conn_, text.c_str());
}

void WsClient::send_obj(JsonObject* o) {
  send(to_json(o));
  json_object_unref(o);
}

void WsClient::close() {
  if (open()) {
    soup_websocket_connection_close(conn_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    wait_until([&] { return closed_; }, 2);
  }
}

JsonObject* WsClient::wait_for(const std::string& type, double timeout_s) {
  JsonObject* found = nullptr;
  wait_until([&] {
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
      if (str_member(*it, "type") == type) {
        found = *it;
        inbox_.erase(it);
        return true;
      }
    }
    return false;
  }, timeout_s);
  return found;
}

std::string WsClient::wait_error(double timeout_s) {
  JsonObject* e = wait_for("error", timeout_s);
  if (!e) return "";
  std::string code = str_member(e, "code");
  json_object_unref(e);
  return code;
}

size_t WsClient::count(const std::string& type) {
  size_t n = 0;
  for (auto& t : all_types_) n += t == type;
  return n;
}

// ---------------------------------------------------------------------------------------------
static void post_main(std::function<void()> fn) {
  GSource* s = g_idle_source_new();
  g_source_set_callback(
      s, [](gpointer p) -> gboolean { (*static_cast<std::function<void()>*>(p))(); return G_SOURCE_REMOVE; },
      new std::function<void()>(std::move(fn)), [](gpointer p) { delete static_cast<std::function<void()>*>(p); });
  g_source_attach(s, nullptr);
  g_source_unref(s);
}

Receiver::Receiver(WsClient* ws, bool loopback_only) : ws_(ws) {
  pipe_ = gst_pipeline_new(nullptr);
  webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  // No UPnP discovery, no TCP; with loopback_only (for a server started with --ice-loopback) ICE
  // on 127.0.0.1 only.
  GObject* ice = nullptr;
  g_object_get(webrtc_, "ice-agent", &ice, nullptr);
  if (ice) {
    g_object_set(ice, "ice-tcp", FALSE, nullptr);
    GObject* agent = nullptr;
    g_object_get(ice, "agent", &agent, nullptr);
    if (agent) {
      g_object_set(agent, "upnp", FALSE, nullptr);
      if (loopback_only) {
        NiceAddress lo;
        nice_address_init(&lo);
        nice_address_set_from_string(&lo, "127.0.0.1");
        nice_agent_add_local_address(NICE_AGENT(agent), &lo);
      }
      g_object_unref(agent);
    }
    g_object_unref(ice);
  }
  gst_bin_add(GST_BIN(pipe_), webrtc_);
  g_signal_connect(webrtc_, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint mline, gchar* cand, gpointer d) {
                     auto* self = static_cast<Receiver*>(d);
                     std::string c = cand;
                     post_main([self, c, mline] {
                       JsonObject* o = json_object_new();
                       json_object_set_string_member(o, "type", "ice");
                       json_object_set_string_member(o, "candidate", c.c_str());
                       json_object_set_int_member(o, "sdpMLineIndex", mline);
                       self->ws_->send_obj(o);
                     });
                   }),
                   this);
  g_signal_connect(webrtc_, "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer d) {
                     static_cast<Receiver*>(d)->on_pad(pad);
                   }),
                   this);
  g_signal_connect(webrtc_, "notify::connection-state", G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer d) {
                     GstWebRTCPeerConnectionState st;
                     g_object_get(w, "connection-state", &st, nullptr);
                     if (st == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) static_cast<Receiver*>(d)->connected_ = true;
                   }),
                   this);
  gst_element_set_state(pipe_, GST_STATE_PLAYING);
  ws_->on_message = [this](JsonObject* o) {
    std::string type = str_member(o, "type");
    if (type == "offer") {
      on_offer(str_member(o, "sdp"));
    } else if (type == "ice") {
      std::string c = str_member(o, "candidate");
      guint mline = static_cast<guint>(json_object_get_int_member(o, "sdpMLineIndex"));
      g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, c.c_str());
    }
  };
}

Receiver::~Receiver() {
  ws_->on_message = nullptr;
  gst_element_set_state(pipe_, GST_STATE_NULL);
  gst_object_unref(pipe_);
}

void Receiver::on_offer(const std::string& sdp) {
  GstSDPMessage* msg = nullptr;
  gst_sdp_message_new_from_text(sdp.c_str(), &msg);
  GstWebRTCSessionDescription* offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, msg);
  GstPromise* p = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-remote-description", offer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gst_webrtc_session_description_free(offer);
  p = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "create-answer", nullptr, p);
  gst_promise_wait(p);
  GstWebRTCSessionDescription* answer = nullptr;
  gst_structure_get(gst_promise_get_reply(p), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref(p);
  if (!answer) return;
  p = gst_promise_new();
  g_signal_emit_by_name(webrtc_, "set-local-description", answer, p);
  gst_promise_wait(p);
  gst_promise_unref(p);
  gchar* text = gst_sdp_message_as_text(answer->sdp);
  JsonObject* o = json_object_new();
  json_object_set_string_member(o, "type", "answer");
  json_object_set_string_member(o, "sdp", text);
  g_free(text);
  gst_webrtc_session_description_free(answer);
  ws_->send_obj(o);
}

void Receiver::on_pad(GstPad* pad) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  guint mline = 0;
  GstWebRTCRTPTransceiver* t = nullptr;
  g_object_get(pad, "transceiver", &t, nullptr);
  if (t) {
    g_object_get(t, "mlineindex", &mline, nullptr);
    gst_object_unref(t);
  }
  if (mline > 1) return;
  GstElement* bin = gst_parse_bin_from_description(
      "queue ! rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! appsink name=sink sync=false",
      TRUE, nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink");
  struct Ctx {
    Receiver* self;
    int track;
  };
  GstAppSinkCallbacks cb{};
  cb.new_sample = [](GstAppSink* s, gpointer d) -> GstFlowReturn {
    auto* c = static_cast<Ctx*>(d);
    GstSample* sample = gst_app_sink_pull_sample(s);
    if (!sample) return GST_FLOW_OK;
    GstMapInfo map;
    GstBuffer* b = gst_sample_get_buffer(sample);
    if (gst_buffer_map(b, &map, GST_MAP_READ)) {
      Track& tr = c->self->tracks_[c->track];
      const float* f = reinterpret_cast<const float*>(map.data);
      size_t n = map.size / 8;
      std::lock_guard<std::mutex> lock(tr.m);
      if (tr.total == 0) tr.first_ms = wall_ms();
      for (size_t i = 0; i < n; i++) tr.mono.push_back(0.5f * (f[2 * i] + f[2 * i + 1]));
      tr.total += n;
      if (tr.mono.size() > 48000 * 4) tr.mono.erase(tr.mono.begin(), tr.mono.end() - 48000 * 4);
      gst_buffer_unmap(b, &map);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
  };
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, new Ctx{this, static_cast<int>(mline)},
                             [](gpointer d) { delete static_cast<Ctx*>(d); });
  gst_object_unref(sink);
  gst_bin_add(GST_BIN(pipe_), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

size_t Receiver::frames(int track) {
  std::lock_guard<std::mutex> lock(tracks_[track].m);
  return tracks_[track].total;
}

double Receiver::first_audio_ms(int track) {
  std::lock_guard<std::mutex> lock(tracks_[track].m);
  return tracks_[track].first_ms;
}

int Receiver::tracks() const {
  int n = 0;
  for (auto& t : tracks_) n += t.total > 0;
  return n;
}

std::vector<float> Receiver::last(int track, double window_s) {
  std::lock_guard<std::mutex> lock(tracks_[track].m);
  auto& v = tracks_[track].mono;
  size_t n = std::min(v.size(), static_cast<size_t>(window_s * 48000));
  return std::vector<float>(v.end() - n, v.end());
}

double Receiver::rms_db(int track, double window_s) {
  auto v = last(track, window_s);
  if (v.empty()) return -200;
  double sum = 0;
  for (float x : v) sum += static_cast<double>(x) * x;
  return 10 * std::log10(sum / v.size() + 1e-20);
}

double Receiver::min_block_db(int track, double window_s, double block_s) {
  auto v = last(track, window_s);
  size_t block = static_cast<size_t>(block_s * 48000);
  double lowest = 200;
  for (size_t at = 0; block && at + block <= v.size(); at += block) {
    double sum = 0;
    for (size_t i = at; i < at + block; i++) sum += static_cast<double>(v[i]) * v[i];
    lowest = std::min(lowest, 10 * std::log10(sum / block + 1e-20));
  }
  return lowest;
}

double Receiver::median_block_db(int track, double window_s, double block_s) {
  auto v = last(track, window_s);
  size_t block = static_cast<size_t>(block_s * 48000);
  std::vector<double> levels;
  for (size_t at = 0; block && at + block <= v.size(); at += block) {
    double sum = 0;
    for (size_t i = at; i < at + block; i++) sum += static_cast<double>(v[i]) * v[i];
    levels.push_back(10 * std::log10(sum / block + 1e-20));
  }
  if (levels.empty()) return -200;
  std::nth_element(levels.begin(), levels.begin() + levels.size() / 2, levels.end());
  return levels[levels.size() / 2];
}

std::string Receiver::describe(int track, double window_s) {
  auto v = last(track, window_s);
  size_t at = 0;
  for (size_t i = 0; i < v.size(); i++)
    if (std::fabs(v[i]) > std::fabs(v[at])) at = i;
  char line[160];
  std::snprintf(line, sizeof line, "%zu samples, peak %.4f %.1f ms before the end, total %zu; 50 ms blocks (dB):",
                v.size(), v.empty() ? 0.0 : v[at], (v.size() - at) / 48.0, frames(track));
  std::string out = line;
  const size_t block = 2400;
  for (size_t b = 0; b + block <= v.size(); b += block) {
    double sum = 0;
    for (size_t i = b; i < b + block; i++) sum += static_cast<double>(v[i]) * v[i];
    std::snprintf(line, sizeof line, " %.0f", 10 * std::log10(sum / block + 1e-20));
    out += line;
  }
  return out;
}

Receiver::Dropouts Receiver::dropouts(int track, double window_s, double threshold_db, double block_s) {
  auto v = last(track, window_s);
  size_t block = static_cast<size_t>(block_s * 48000);
  Dropouts d;
  int run = 0;
  for (size_t at = 0; block && at + block <= v.size(); at += block) {
    double sum = 0;
    for (size_t i = at; i < at + block; i++) sum += static_cast<double>(v[i]) * v[i];
    d.blocks++;
    if (10 * std::log10(sum / block + 1e-20) < threshold_db) {
      d.quiet++;
      d.longest_quiet = std::max(d.longest_quiet, ++run);
    } else {
      run = 0;
    }
  }
  return d;
}

double Receiver::tone_db(int track, double freq, double window_s) {
  auto v = last(track, window_s);
  if (v.empty()) return -200;
  // Goertzel at freq, normalised so a full-scale sine reads 0 dB.
  double w = 2 * M_PI * freq / 48000.0, coeff = 2 * std::cos(w), s1 = 0, s2 = 0;
  for (float x : v) {
    double s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  double amp = 2 * std::sqrt(std::max(power, 0.0)) / v.size();
  return 20 * std::log10(amp + 1e-12);
}

}  // namespace dju_test
