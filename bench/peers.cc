// dju-bench-peers: many real WebRTC receivers (webrtcbin) in one process, joined to battles of a
// running djuniverse-server over its WebSocket, driven by line commands on stdin; every reply is one
// JSON line on stdout.
//
//   add BATTLE SEAT TOKEN COUNT   join COUNT peers (SEAT a|b|spectator; TOKEN "-" for spectators)
//   wait N TIMEOUT_S             reply once N peers in all have received audio (or at the timeout):
//                                {"connected":k,"peers":n,"join_ms":[…time from join to first RTP packet…]}
//   stats                        {"peers":n,"connected":k,"packets":…,"max_gap_ms":…,"late":…} since the last
//                                stats (a gap is the time between two RTP packets of one peer; late =
//                                gaps over 60 ms, which a browser's jitter buffer could not hide)
//   marker PEER COUNT ON OFF     PEER (index of a DJ peer, which decodes its master) sends the control
//                                OFF, waits for silence, sends ON and times until its decoded audio
//                                changes, COUNT times: {"marker_ms":[…],"ack_ms":[…server's own latency_ms…]}
//                                ON/OFF are JSON control messages without spaces.
//   status                       {"waiting":[…]}: each peer without audio yet and how far its negotiation got
//   send PEER JSON               PEER sends one message (JSON without spaces), e.g. a control
//   quit
//
//   dju-bench-peers --ws ws://127.0.0.1:8080/ws
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr double kLateGapMs = 60.0;

double mono_ms() { return g_get_monotonic_time() / 1000.0; }

struct Peer {
  int index = 0;
  std::string battle, seat, token;
  bool decode = false;
  SoupWebsocketConnection* ws = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  double start_ms = 0.0;  // WebSocket connect started
  double join_ms = 0.0;   // join sent
  std::atomic<double> first_packet_ms{0.0};
  // Arrival statistics (streaming thread writes, main thread reads and resets).
  std::mutex mutex;
  double last_packet_ms = 0.0;
  double max_gap_ms = 0.0;
  long late = 0;
  long packets = 0;
  // Decoded level of the master (DJ peers): peak of the last buffer and when it arrived.
  std::atomic<float> peak{0.0f};
  std::atomic<double> peak_ms{0.0};
  std::vector<double> acks;  // main thread
  // Negotiation milestones (ms since join, the WebSocket's since start; 0 = not yet), for `status`: where a peer that never got
  // audio stopped.
  std::atomic<double> ws_ms{0.0}, offer_ms{0.0}, answer_ms{0.0};
  std::atomic<int> ice_state{-1}, conn_state{-1};
  std::atomic<int> remote_candidates{0}, local_candidates{0};
};

std::string g_ws_url;
SoupSession* g_session = nullptr;
std::vector<std::unique_ptr<Peer>> g_peers;
GMainLoop* g_loop = nullptr;

void reply(const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
}

void send_json(Peer* p, JsonBuilder* b) {
  JsonNode* root = json_builder_get_root(b);
  gchar* text = json_to_string(root, FALSE);
  if (p->ws && soup_websocket_connection_get_state(p->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text(p->ws, text);
  g_free(text);
  json_node_unref(root);
  g_object_unref(b);
}

void send_text(Peer* p, const std::string& text) {
  if (p->ws && soup_websocket_connection_get_state(p->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text(p->ws, text.c_str());
}

struct Outgoing {
  Peer* peer;
  std::string text;
};

// webrtcbin calls back on its own threads; libsoup lives on the main context.
void send_from_any_thread(Peer* p, std::string text) {
  g_main_context_invoke_full(
      nullptr, G_PRIORITY_DEFAULT,
      [](gpointer d) -> gboolean {
        auto* o = static_cast<Outgoing*>(d);
        send_text(o->peer, o->text);
        return G_SOURCE_REMOVE;
      },
      new Outgoing{p, std::move(text)}, [](gpointer d) { delete static_cast<Outgoing*>(d); });
}

GstPadProbeReturn on_rtp(GstPad*, GstPadProbeInfo*, gpointer data) {
  auto* p = static_cast<Peer*>(data);
  const double now = mono_ms();
  if (p->first_packet_ms.load() == 0.0) p->first_packet_ms.store(now);
  std::lock_guard<std::mutex> lk(p->mutex);
  if (p->last_packet_ms > 0.0) {
    const double gap = now - p->last_packet_ms;
    if (gap > p->max_gap_ms) p->max_gap_ms = gap;
    if (gap > kLateGapMs) p->late++;
  }
  p->last_packet_ms = now;
  p->packets++;
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn on_pcm(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* p = static_cast<Peer*>(data);
  GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstMapInfo map;
  if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
    const float* s = reinterpret_cast<const float*>(map.data);
    float peak = 0.0f;
    for (size_t i = 0; i < map.size / sizeof(float); i++) peak = std::max(peak, std::fabs(s[i]));
    gst_buffer_unmap(buf, &map);
    p->peak.store(peak);
    p->peak_ms.store(mono_ms());
  }
  return GST_PAD_PROBE_OK;
}

void on_pad_added(GstElement*, GstPad* pad, gpointer data) {
  auto* p = static_cast<Peer*>(data);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  // The first m-line is the master; a DJ's second (the headphone cue) is just counted away.
  guint mline = 0;
  GstWebRTCRTPTransceiver* trans = nullptr;
  g_object_get(pad, "transceiver", &trans, nullptr);
  if (trans) {
    g_object_get(trans, "mlineindex", &mline, nullptr);
    gst_object_unref(trans);
  }
  const bool master = mline == 0;
  GstElement* bin;
  if (master && p->decode) {
    bin = gst_parse_bin_from_description(
        "queue ! rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=F32LE ! fakesink name=pcm sync=false async=false",
        TRUE, nullptr);
  } else {
    bin = gst_parse_bin_from_description("fakesink sync=false async=false", TRUE, nullptr);
  }
  gst_bin_add(GST_BIN(p->pipeline), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sink = gst_element_get_static_pad(bin, "sink");
  gst_pad_link(pad, sink);
  gst_object_unref(sink);
  if (master) {
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_rtp, p, nullptr);
    if (p->decode) {
      GstElement* pcm = gst_bin_get_by_name(GST_BIN(bin), "pcm");
      GstPad* ppad = gst_element_get_static_pad(pcm, "sink");
      gst_pad_add_probe(ppad, GST_PAD_PROBE_TYPE_BUFFER, on_pcm, p, nullptr);
      gst_object_unref(ppad);
      gst_object_unref(pcm);
    }
  }
}

void on_answer_created(GstPromise* promise, gpointer data) {
  auto* p = static_cast<Peer*>(data);
  const GstStructure* r = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription* answer = nullptr;
  if (r) gst_structure_get(r, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr);
  gst_promise_unref(promise);
  if (!answer) return;
  g_signal_emit_by_name(p->webrtc, "set-local-description", answer, nullptr);
  p->answer_ms.store(mono_ms() - p->join_ms);
  gchar* sdp = gst_sdp_message_as_text(answer->sdp);
  JsonBuilder* b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, "answer");
  json_builder_set_member_name(b, "sdp");
  json_builder_add_string_value(b, sdp);
  json_builder_end_object(b);
  JsonNode* root = json_builder_get_root(b);
  gchar* text = json_to_string(root, FALSE);
  send_from_any_thread(p, text);
  g_free(text);
  json_node_unref(root);
  g_object_unref(b);
  g_free(sdp);
  gst_webrtc_session_description_free(answer);
}

void on_offer(Peer* p, const char* sdp_text) {
  p->offer_ms.store(mono_ms() - p->join_ms);
  if (!p->pipeline) {
    p->pipeline = gst_pipeline_new(nullptr);
    p->webrtc = gst_element_factory_make("webrtcbin", nullptr);
    // Hand packets on as they arrive: this receiver measures arrival, not playout.
    g_object_set(p->webrtc, "latency", 0u, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
    // No UPnP discovery (threads, sockets and multicast per agent) and no TCP candidates.
    GObject* ice = nullptr;
    g_object_get(p->webrtc, "ice-agent", &ice, nullptr);
    if (ice) {
      g_object_set(ice, "ice-tcp", FALSE, nullptr);
      GObject* agent = nullptr;
      g_object_get(ice, "agent", &agent, nullptr);
      if (agent) {
        g_object_set(agent, "upnp", FALSE, nullptr);
        g_object_unref(agent);
      }
      g_object_unref(ice);
    }
    gst_bin_add(GST_BIN(p->pipeline), p->webrtc);
    g_signal_connect(p->webrtc, "pad-added", G_CALLBACK(on_pad_added), p);
    g_signal_connect(p->webrtc, "notify::ice-connection-state", G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer d) {
                       GstWebRTCICEConnectionState st;
                       g_object_get(w, "ice-connection-state", &st, nullptr);
                       static_cast<Peer*>(d)->ice_state.store(static_cast<int>(st));
                     }),
                     p);
    g_signal_connect(p->webrtc, "notify::connection-state", G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer d) {
                       GstWebRTCPeerConnectionState st;
                       g_object_get(w, "connection-state", &st, nullptr);
                       static_cast<Peer*>(d)->conn_state.store(static_cast<int>(st));
                     }),
                     p);
    g_signal_connect(p->webrtc, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint mline, gchar* cand, gpointer d) {
                       static_cast<Peer*>(d)->local_candidates++;
                       gchar* text = g_strdup_printf(R"({"type":"ice","candidate":"%s","sdpMLineIndex":%u})", cand, mline);
                       send_from_any_thread(static_cast<Peer*>(d), text);
                       g_free(text);
                     }),
                     p);
    gst_element_set_state(p->pipeline, GST_STATE_PLAYING);
  }
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new_from_text(sdp_text, &sdp) != GST_SDP_OK) return;
  GstWebRTCSessionDescription* offer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  GstPromise* done = gst_promise_new_with_change_func(
      [](GstPromise* pr, gpointer d) {
        gst_promise_unref(pr);
        auto* peer = static_cast<Peer*>(d);
        g_signal_emit_by_name(peer->webrtc, "create-answer", nullptr,
                              gst_promise_new_with_change_func(on_answer_created, peer, nullptr));
      },
      p, nullptr);
  g_signal_emit_by_name(p->webrtc, "set-remote-description", offer, done);
  gst_webrtc_session_description_free(offer);
}

void on_ws_message(SoupWebsocketConnection*, SoupWebsocketDataType type, GBytes* message, gpointer data) {
  auto* p = static_cast<Peer*>(data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT) return;
  gsize len = 0;
  const char* text = static_cast<const char*>(g_bytes_get_data(message, &len));
  // The battle's spectrum (20 Hz) and deck state (10 Hz per deck) are most of the traffic and of no
  // use here: skip them before parsing, so that one process can keep up with hundreds of peers.
  if (g_strstr_len(text, static_cast<gssize>(len), "\"type\":\"spectrum\"") ||
      g_strstr_len(text, static_cast<gssize>(len), "\"type\":\"state\""))
    return;
  JsonParser* parser = json_parser_new();
  if (json_parser_load_from_data(parser, text, static_cast<gssize>(len), nullptr) &&
      JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    JsonObject* o = json_node_get_object(json_parser_get_root(parser));
    const char* kind = json_object_get_string_member_with_default(o, "type", "");
    if (std::strcmp(kind, "offer") == 0) {
      on_offer(p, json_object_get_string_member_with_default(o, "sdp", ""));
    } else if (std::strcmp(kind, "ice") == 0 && p->webrtc) {
      const char* cand = json_object_get_string_member_with_default(o, "candidate", "");
      if (*cand && !std::strstr(cand, ".local")) p->remote_candidates++;
      if (*cand && !std::strstr(cand, ".local"))
        g_signal_emit_by_name(p->webrtc, "add-ice-candidate",
                              static_cast<guint>(json_object_get_int_member_with_default(o, "sdpMLineIndex", 0)), cand);
    } else if (std::strcmp(kind, "ack") == 0 && json_object_has_member(o, "latency_ms")) {
      p->acks.push_back(json_object_get_double_member(o, "latency_ms"));
    } else if (std::strcmp(kind, "error") == 0) {
      std::fprintf(stderr, "peer %d: error %s\n", p->index, text);
    }
  }
  g_object_unref(parser);
}

void connect_peer(Peer* p) {
  p->start_ms = mono_ms();
  SoupMessage* msg = soup_message_new(SOUP_METHOD_GET, g_ws_url.c_str());
  soup_session_websocket_connect_async(
      g_session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT, nullptr,
      [](GObject* src, GAsyncResult* res, gpointer d) {
        auto* peer = static_cast<Peer*>(d);
        GError* err = nullptr;
        peer->ws = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
        if (!peer->ws) {
          std::fprintf(stderr, "peer %d: websocket: %s\n", peer->index, err ? err->message : "?");
          g_clear_error(&err);
          return;
        }
        soup_websocket_connection_set_max_incoming_payload_size(peer->ws, 0);
        peer->ws_ms.store(mono_ms() - peer->start_ms);
        g_signal_connect(peer->ws, "message", G_CALLBACK(on_ws_message), peer);
        JsonBuilder* b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, "join");
        json_builder_set_member_name(b, "battle");
        json_builder_add_string_value(b, peer->battle.c_str());
        json_builder_set_member_name(b, "seat");
        json_builder_add_string_value(b, peer->seat.c_str());
        if (peer->token != "-") {
          json_builder_set_member_name(b, "token");
          json_builder_add_string_value(b, peer->token.c_str());
        }
        json_builder_end_object(b);
        peer->join_ms = mono_ms();
        send_json(peer, b);
      },
      p);
  g_object_unref(msg);
}

int connected_count(std::vector<double>* join_ms) {
  int n = 0;
  for (auto& p : g_peers) {
    const double first = p->first_packet_ms.load();
    if (first > 0.0) {
      n++;
      if (join_ms) join_ms->push_back(first - p->join_ms);
    }
  }
  return n;
}

std::string number_list(const std::vector<double>& xs) {
  std::ostringstream o;
  o.precision(3);
  o << std::fixed << '[';
  for (size_t i = 0; i < xs.size(); i++) o << (i ? "," : "") << xs[i];
  o << ']';
  return o.str();
}

// Waits on the main loop (so the WebSockets keep working) until pred() or the timeout.
template <typename Pred>
bool spin_until(Pred pred, double timeout_s) {
  const double end = mono_ms() + timeout_s * 1000.0;
  while (!pred()) {
    if (mono_ms() > end) return false;
    g_main_context_iteration(nullptr, FALSE);
    g_usleep(500);
  }
  return true;
}

void run_marker(Peer* p, int count, const std::string& on, const std::string& off) {
  std::vector<double> marker;
  const size_t acks_before = p->acks.size();
  // The level with the control on sets the detection threshold.
  send_text(p, on);
  spin_until([] { return false; }, 1.0);
  float on_level = 1.0f;
  {
    std::vector<float> peaks;
    for (int i = 0; i < 40; i++) {
      spin_until([] { return false; }, 0.025);
      peaks.push_back(p->peak.load());
    }
    std::sort(peaks.begin(), peaks.end());
    on_level = peaks[peaks.size() / 4];
  }
  const float threshold = std::max(0.01f, on_level * 0.25f);
  for (int n = 0; n < count; n++) {
    send_text(p, off);
    double quiet_since = 0.0;
    spin_until([&] {
      if (p->peak.load() < threshold * 0.2f) {
        if (quiet_since == 0.0) quiet_since = mono_ms();
        return mono_ms() - quiet_since > 100.0;
      }
      quiet_since = 0.0;
      return false;
    }, 3.0);
    spin_until([] { return false; }, 0.05 + g_random_double() * 0.1);
    std::string cmd = on;
    cmd.insert(cmd.size() - 1, ",\"id\":" + std::to_string(1000 + n));
    const double t0 = mono_ms();
    send_text(p, cmd);
    if (spin_until([&] { return p->peak_ms.load() > t0 && p->peak.load() > threshold; }, 3.0))
      marker.push_back(p->peak_ms.load() - t0);
  }
  spin_until([] { return false; }, 0.2);
  std::vector<double> acks(p->acks.begin() + static_cast<long>(acks_before), p->acks.end());
  char head[96];
  std::snprintf(head, sizeof head, "{\"threshold\":%.4f,\"on_level\":%.4f,", threshold, on_level);
  reply(std::string(head) + "\"marker_ms\":" + number_list(marker) + ",\"ack_ms\":" + number_list(acks) + "}");
}

gboolean on_stdin(GIOChannel* ch, GIOCondition, gpointer) {
  gchar* line = nullptr;
  gsize len = 0;
  GIOStatus st = g_io_channel_read_line(ch, &line, &len, nullptr, nullptr);
  if (st == G_IO_STATUS_EOF) {
    g_main_loop_quit(g_loop);
    return G_SOURCE_REMOVE;
  }
  if (st != G_IO_STATUS_NORMAL || !line) return G_SOURCE_CONTINUE;
  std::istringstream in(line);
  g_free(line);
  std::string cmd;
  in >> cmd;
  if (cmd == "add") {
    std::string battle, seat, token;
    int count = 0;
    in >> battle >> seat >> token >> count;
    for (int i = 0; i < count; i++) {
      auto p = std::make_unique<Peer>();
      p->index = static_cast<int>(g_peers.size());
      p->battle = battle;
      p->seat = seat;
      p->token = token;
      p->decode = seat != "spectator";
      connect_peer(p.get());
      g_peers.push_back(std::move(p));
    }
    reply("{\"peers\":" + std::to_string(g_peers.size()) + "}");
  } else if (cmd == "wait") {
    int n = 0;
    double timeout = 30.0;
    in >> n >> timeout;
    spin_until([n] { return connected_count(nullptr) >= n; }, timeout);
    std::vector<double> join;
    const int k = connected_count(&join);
    reply("{\"connected\":" + std::to_string(k) + ",\"peers\":" + std::to_string(g_peers.size()) +
          ",\"join_ms\":" + number_list(join) + "}");
  } else if (cmd == "stats") {
    long packets = 0, late = 0, late_dj = 0;
    int late_peers = 0;
    double max_gap = 0.0;
    for (auto& p : g_peers) {
      std::lock_guard<std::mutex> lk(p->mutex);
      packets += p->packets;
      late += p->late;
      if (p->late) late_peers++;
      if (p->decode) late_dj += p->late;
      max_gap = std::max(max_gap, p->max_gap_ms);
      p->packets = 0;
      p->late = 0;
      p->max_gap_ms = 0.0;
    }
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "{\"peers\":%zu,\"connected\":%d,\"packets\":%ld,\"max_gap_ms\":%.2f,\"late\":%ld,\"late_peers\":%d,"
                  "\"late_dj\":%ld}",
                  g_peers.size(), connected_count(nullptr), packets, max_gap, late, late_peers, late_dj);
    reply(buf);
  } else if (cmd == "marker") {
    size_t index = 0;
    int count = 0;
    std::string on, off;
    in >> index >> count >> on >> off;
    if (index >= g_peers.size() || !g_peers[index]->decode) {
      reply("{\"error\":\"no such DJ peer\"}");
    } else {
      run_marker(g_peers[index].get(), count, on, off);
    }
  } else if (cmd == "status") {
    // One entry per peer that has no audio yet: how far its negotiation got.
    std::ostringstream o;
    o.precision(1);
    o << std::fixed << "{\"waiting\":[";
    bool first = true;
    for (auto& p : g_peers) {
      if (p->first_packet_ms.load() > 0.0) continue;
      o << (first ? "" : ",") << "{\"peer\":" << p->index << ",\"battle\":\"" << p->battle << "\",\"seat\":\""
        << p->seat << "\",\"ws_ms\":" << p->ws_ms.load() << ",\"offer_ms\":" << p->offer_ms.load()
        << ",\"answer_ms\":" << p->answer_ms.load() << ",\"ice_state\":" << p->ice_state.load()
        << ",\"connection_state\":" << p->conn_state.load() << ",\"local_candidates\":" << p->local_candidates.load()
        << ",\"remote_candidates\":" << p->remote_candidates.load() << "}";
      first = false;
    }
    o << "]}";
    reply(o.str());
  } else if (cmd == "send") {
    size_t index = 0;
    std::string text;
    in >> index >> text;
    if (index < g_peers.size()) send_text(g_peers[index].get(), text);
    reply(index < g_peers.size() ? "{\"sent\":true}" : "{\"error\":\"no such peer\"}");
  } else if (cmd == "quit") {
    g_main_loop_quit(g_loop);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  gchar* ws = nullptr;
  GOptionEntry entries[] = {{"ws", 0, 0, G_OPTION_ARG_STRING, &ws, "WebSocket URL of the server", "URL"},
                            {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext* oc = g_option_context_new("- WebRTC receivers for the battle server's benchmarks");
  g_option_context_add_main_entries(oc, entries, nullptr);
  g_option_context_add_group(oc, gst_init_get_option_group());
  GError* err = nullptr;
  if (!g_option_context_parse(oc, &argc, &argv, &err) || !ws) {
    std::fprintf(stderr, "%s\n", err ? err->message : "--ws is required");
    return 2;
  }
  g_option_context_free(oc);
  gst_init(&argc, &argv);
  g_ws_url = ws;
  g_free(ws);
  // Every peer has its own WebSocket to the one server: no per-host connection limit.
  g_session = soup_session_new_with_options("max-conns", 100000, "max-conns-per-host", 100000, nullptr);
  g_loop = g_main_loop_new(nullptr, FALSE);
  GIOChannel* ch = g_io_channel_unix_new(0);
  g_io_add_watch(ch, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP), on_stdin, nullptr);
  g_main_loop_run(g_loop);
  for (auto& p : g_peers) {
    if (p->pipeline) {
      gst_element_set_state(p->pipeline, GST_STATE_NULL);
      gst_object_unref(p->pipeline);
    }
    if (p->ws) {
      soup_websocket_connection_close(p->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
      g_object_unref(p->ws);
    }
  }
  g_peers.clear();
  g_object_unref(g_session);
  return 0;
}
