// dju-bench-floor: the latency floor for browser glass-to-glass. A bare WebRTC sender,
//   audiotestsrc ! volume ! opusenc ! rtpopuspay ! webrtcbin
// with the same Opus settings as the battle server, that speaks the part of the server's WebSocket
// protocol the latency bench uses (join → joined + offer, answer, ice, control {"param":"volume"}
// → ack). The browser bench measures it exactly as it measures a battle, so the difference between
// the two is what the battle adds.
//
//   dju-bench-floor [--port N] [--frame-ms 5] [--audio-type restricted-lowdelay]
// prints "PORT <n>" on stdout once it listens on 127.0.0.1; serves a blank page at / (a secure
// origin for the browser) and the WebSocket at /ws. Each WebSocket client gets its own pipeline.
#include <glib-unix.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace {

double g_frame_ms = 5.0;
std::string g_audio_type = "restricted-lowdelay";

double now_ms() { return g_get_real_time() / 1000.0; }

struct Client {
  SoupWebsocketConnection* ws = nullptr;
  GstElement* pipeline = nullptr;
  GstElement* webrtc = nullptr;
  GstElement* gate = nullptr;
  bool closed = false;
  gint refs = 1;  // atomic: deferrals are made on webrtcbin threads
};

void client_unref(Client* c) {
  if (!g_atomic_int_dec_and_test(&c->refs)) return;
  if (c->pipeline) {
    g_signal_handlers_disconnect_by_data(c->webrtc, c);
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    gst_object_unref(c->pipeline);
  }
  if (c->ws) g_object_unref(c->ws);
  delete c;
}

void send_json(Client* c, JsonBuilder* b) {
  JsonNode* root = json_builder_get_root(b);
  gchar* text = json_to_string(root, FALSE);
  if (!c->closed && soup_websocket_connection_get_state(c->ws) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_send_text(c->ws, text);
  g_free(text);
  json_node_unref(root);
  g_object_unref(b);
}

// Runs fn on the main context (libsoup is not thread-safe; webrtcbin calls back on its threads).
struct Deferred {
  Client* client;
  std::string kind;  // "offer" or "ice"
  std::string text;
  guint mline;
};

gboolean deliver(gpointer data) {
  auto* d = static_cast<Deferred*>(data);
  JsonBuilder* b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "type");
  json_builder_add_string_value(b, d->kind.c_str());
  if (d->kind == "offer") {
    json_builder_set_member_name(b, "sdp");
    json_builder_add_string_value(b, d->text.c_str());
  } else {
    json_builder_set_member_name(b, "candidate");
    json_builder_add_string_value(b, d->text.c_str());
    json_builder_set_member_name(b, "sdpMLineIndex");
    json_builder_add_int_value(b, d->mline);
  }
  json_builder_end_object(b);
  send_json(d->client, b);
  client_unref(d->client);
  delete d;
  return G_SOURCE_REMOVE;
}

void defer(Client* c, const char* kind, const std::string& text, guint mline) {
  g_atomic_int_inc(&c->refs);
  g_main_context_invoke(nullptr, deliver, new Deferred{c, kind, text, mline});
}

void on_offer_created(GstPromise* promise, gpointer data) {
  auto* c = static_cast<Client*>(data);
  const GstStructure* reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription* offer = nullptr;
  gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  gst_promise_unref(promise);
  if (!offer) return;
  g_signal_emit_by_name(c->webrtc, "set-local-description", offer, nullptr);
  gchar* text = gst_sdp_message_as_text(offer->sdp);
  defer(c, "offer", text, 0);
  g_free(text);
  gst_webrtc_session_description_free(offer);
}

void start_pipeline(Client* c) {
  gchar* desc = g_strdup_printf(
      "audiotestsrc is-live=true wave=sine freq=440 volume=0.5 samplesperbuffer=256 ! "
      "audio/x-raw,format=F32LE,rate=48000,channels=2 ! volume name=gate volume=0 ! audioconvert ! "
      "opusenc bitrate=128000 frame-size=%g audio-type=%s ! rtpopuspay pt=96 ! "
      "application/x-rtp,media=audio,encoding-name=OPUS,payload=96 ! webrtcbin name=webrtc bundle-policy=max-bundle",
      g_frame_ms, g_audio_type.c_str());
  GError* err = nullptr;
  c->pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!c->pipeline) {
    std::fprintf(stderr, "floor: %s\n", err ? err->message : "pipeline did not parse");
    g_clear_error(&err);
    return;
  }
  c->webrtc = gst_bin_get_by_name(GST_BIN(c->pipeline), "webrtc");
  c->gate = gst_bin_get_by_name(GST_BIN(c->pipeline), "gate");
  gst_object_unref(c->webrtc);  // the pipeline keeps them alive
  gst_object_unref(c->gate);
  GstWebRTCRTPTransceiver* trans = nullptr;
  g_signal_emit_by_name(c->webrtc, "get-transceiver", 0, &trans);
  if (trans) {
    g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
    gst_object_unref(trans);
  }
  g_signal_connect(c->webrtc, "on-negotiation-needed", G_CALLBACK(+[](GstElement* w, gpointer d) {
                     g_signal_emit_by_name(w, "create-offer", nullptr,
                                           gst_promise_new_with_change_func(on_offer_created, d, nullptr));
                   }),
                   c);
  g_signal_connect(c->webrtc, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint mline, gchar* cand, gpointer d) {
                     defer(static_cast<Client*>(d), "ice", cand, mline);
                   }),
                   c);
  gst_element_set_state(c->pipeline, GST_STATE_PLAYING);
}

void on_message(SoupWebsocketConnection*, SoupWebsocketDataType type, GBytes* message, gpointer data) {
  auto* c = static_cast<Client*>(data);
  if (type != SOUP_WEBSOCKET_DATA_TEXT) return;
  const double received = now_ms();
  gsize len = 0;
  const char* text = static_cast<const char*>(g_bytes_get_data(message, &len));
  JsonParser* parser = json_parser_new();
  if (!json_parser_load_from_data(parser, text, static_cast<gssize>(len), nullptr) ||
      !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
    g_object_unref(parser);
    return;
  }
  JsonObject* o = json_node_get_object(json_parser_get_root(parser));
  const char* kind = json_object_get_string_member_with_default(o, "type", "");
  if (std::strcmp(kind, "join") == 0 && !c->pipeline) {
    JsonBuilder* b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "type");
    json_builder_add_string_value(b, "joined");
    json_builder_set_member_name(b, "seat");
    json_builder_add_string_value(b, "a");
    json_builder_set_member_name(b, "server_time");
    json_builder_add_double_value(b, received);
    json_builder_end_object(b);
    send_json(c, b);
    start_pipeline(c);
  } else if (std::strcmp(kind, "answer") == 0 && c->webrtc) {
    GstSDPMessage* sdp = nullptr;
    if (gst_sdp_message_new_from_text(json_object_get_string_member_with_default(o, "sdp", ""), &sdp) == GST_SDP_OK) {
      GstWebRTCSessionDescription* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
      g_signal_emit_by_name(c->webrtc, "set-remote-description", answer, nullptr);
      gst_webrtc_session_description_free(answer);
    }
  } else if (std::strcmp(kind, "ice") == 0 && c->webrtc) {
    const char* cand = json_object_get_string_member_with_default(o, "candidate", "");
    if (*cand && !std::strstr(cand, ".local"))
      g_signal_emit_by_name(c->webrtc, "add-ice-candidate",
                            static_cast<guint>(json_object_get_int_member_with_default(o, "sdpMLineIndex", 0)), cand);
  } else if (std::strcmp(kind, "control") == 0 && c->gate) {
    // The floor's marker: the sine is gated on and off at once (no ramp, no mixer, no deck).
    double v = json_object_get_double_member_with_default(o, "value", 0.0);
    g_object_set(c->gate, "volume", v, nullptr);
    if (json_object_has_member(o, "id")) {
      JsonBuilder* b = json_builder_new();
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "type");
      json_builder_add_string_value(b, "ack");
      json_builder_set_member_name(b, "id");
      json_builder_add_int_value(b, json_object_get_int_member(o, "id"));
      json_builder_set_member_name(b, "server_time");
      json_builder_add_double_value(b, now_ms());
      json_builder_set_member_name(b, "received_time");
      json_builder_add_double_value(b, received);
      json_builder_end_object(b);
      send_json(c, b);
    }
  }
  g_object_unref(parser);
}

void on_websocket(SoupServer*, SoupServerMessage*, const char*, SoupWebsocketConnection* ws, gpointer) {
  auto* c = new Client();
  c->ws = SOUP_WEBSOCKET_CONNECTION(g_object_ref(ws));
  g_signal_connect(ws, "message", G_CALLBACK(on_message), c);
  g_signal_connect(ws, "closed", G_CALLBACK(+[](SoupWebsocketConnection*, gpointer d) {
                     auto* cl = static_cast<Client*>(d);
                     cl->closed = true;
                     client_unref(cl);
                   }),
                   c);
}

void on_page(SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
  static const char kPage[] = "<!doctype html><title>latency floor</title><p>dju-bench-floor</p>\n";
  soup_server_message_set_status(msg, 200, nullptr);
  soup_server_message_set_response(msg, "text/html", SOUP_MEMORY_STATIC, kPage, sizeof kPage - 1);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  gchar* audio_type = nullptr;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_INT, &port, "Port on 127.0.0.1 (0 picks a free one)", "N"},
      {"frame-ms", 0, 0, G_OPTION_ARG_DOUBLE, &g_frame_ms, "Opus frame size (ms), as the server's --opus-frame-ms", "MS"},
      {"audio-type", 0, 0, G_OPTION_ARG_STRING, &audio_type, "opusenc audio-type", "TYPE"},
      {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr}};
  GOptionContext* oc = g_option_context_new("- bare WebRTC Opus sender: the latency floor");
  g_option_context_add_main_entries(oc, entries, nullptr);
  g_option_context_add_group(oc, gst_init_get_option_group());
  GError* err = nullptr;
  if (!g_option_context_parse(oc, &argc, &argv, &err)) {
    std::fprintf(stderr, "%s\n", err->message);
    return 2;
  }
  g_option_context_free(oc);
  if (audio_type) g_audio_type = audio_type;
  g_free(audio_type);
  gst_init(&argc, &argv);

  SoupServer* server = soup_server_new(nullptr, nullptr);
  soup_server_add_handler(server, "/", on_page, nullptr, nullptr);
  soup_server_add_websocket_handler(server, "/ws", nullptr, nullptr, on_websocket, nullptr, nullptr);
  GInetAddress* lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
  GSocketAddress* addr = g_inet_socket_address_new(lo, static_cast<guint16>(port));
  g_object_unref(lo);
  if (!soup_server_listen(server, addr, static_cast<SoupServerListenOptions>(0), &err)) {
    std::fprintf(stderr, "floor: cannot listen: %s\n", err->message);
    return 1;
  }
  g_object_unref(addr);
  GSList* uris = soup_server_get_uris(server);
  std::printf("PORT %d\n", uris ? g_uri_get_port(static_cast<GUri*>(uris->data)) : port);
  std::fflush(stdout);
  g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));

  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGTERM, +[](gpointer l) -> gboolean {
    g_main_loop_quit(static_cast<GMainLoop*>(l));
    return G_SOURCE_REMOVE;
  }, loop);
  g_unix_signal_add(SIGINT, +[](gpointer l) -> gboolean {
    g_main_loop_quit(static_cast<GMainLoop*>(l));
    return G_SOURCE_REMOVE;
  }, loop);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  return 0;
}
