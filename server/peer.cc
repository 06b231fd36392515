#include "peer.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <nice/nice.h>

#include <atomic>

#include "json_util.h"
#include "main_context.h"

namespace dju {

// Between the battle's tee and one peer's webrtcbin: shut until the connection is up, and a wall
// that no flow error climbs over.
struct Peer::Gate {
  std::atomic<bool> open{false};
  std::atomic<bool> failed{false};
  std::weak_ptr<Peer> peer;
};

namespace {

using WeakPeer = std::weak_ptr<Peer>;
using GateRef = std::shared_ptr<Peer::Gate>;

void free_weak(gpointer p, GClosure*) { delete static_cast<WeakPeer*>(p); }

// Removal state that outlives the Peer object: the idle probes finish on the streaming thread and
// the bin leaves the pipeline on the main context.
struct Teardown {
  GstPipeline* pipeline;
  GstElement* bin;
  GstElement* tee[2];
  GstPad* tee_pad[2];
  int pending;
};

void finish_teardown(Teardown* t) {
  for (int i = 0; i < 2; i++) {
    if (!t->tee_pad[i]) continue;
    gst_element_release_request_pad(t->tee[i], t->tee_pad[i]);
    gst_object_unref(t->tee_pad[i]);
    gst_object_unref(t->tee[i]);
  }
  gst_element_set_state(t->bin, GST_STATE_NULL);
  gst_bin_remove(GST_BIN(t->pipeline), t->bin);
  gst_object_unref(t->bin);
  gst_object_unref(t->pipeline);
  delete t;
}

GQuark gate_quark() {
  static GQuark q = g_quark_from_static_string("dju-peer-gate");
  return q;
}

void gate_failed(const GateRef& gate, GstFlowReturn ret) {
  if (ret == GST_FLOW_FLUSHING || gate->failed.exchange(true)) return;
  std::string reason = std::string("the WebRTC branch stopped (") + gst_flow_get_name(ret) + ")";
  WeakPeer weak = gate->peer;
  run_on_main([weak, reason] {
    auto self = weak.lock();
    if (self) self->report_failure(reason);
  });
}

GstFlowReturn gated_chain(GstPad* pad, GstObject* parent, GstBuffer* buffer) {
  const GateRef& gate = *static_cast<GateRef*>(g_object_get_qdata(G_OBJECT(pad), gate_quark()));
  if (!gate->open.load(std::memory_order_acquire) || gate->failed.load(std::memory_order_relaxed)) {
    gst_buffer_unref(buffer);
    return GST_FLOW_OK;
  }
  GstFlowReturn ret = gst_proxy_pad_chain_default(pad, parent, buffer);
  if (ret != GST_FLOW_OK) gate_failed(gate, ret);
  return GST_FLOW_OK;
}

GstFlowReturn gated_chain_list(GstPad* pad, GstObject* parent, GstBufferList* list) {
  const GateRef& gate = *static_cast<GateRef*>(g_object_get_qdata(G_OBJECT(pad), gate_quark()));
  if (!gate->open.load(std::memory_order_acquire) || gate->failed.load(std::memory_order_relaxed)) {
    gst_buffer_list_unref(list);
    return GST_FLOW_OK;
  }
  GstFlowReturn ret = gst_proxy_pad_chain_list_default(pad, parent, list);
  if (ret != GST_FLOW_OK) gate_failed(gate, ret);
  return GST_FLOW_OK;
}

void free_gate_ref(gpointer p) { delete static_cast<GateRef*>(p); }

GstPadProbeReturn unlink_when_idle(GstPad* pad, GstPadProbeInfo*, gpointer data) {
  auto* t = static_cast<Teardown*>(data);
  GstPad* peer = gst_pad_get_peer(pad);
  if (peer) {
    gst_pad_unlink(pad, peer);
    gst_object_unref(peer);
  }
  if (g_atomic_int_dec_and_test(&t->pending)) run_on_main([t] { finish_teardown(t); });
  return GST_PAD_PROBE_REMOVE;
}

}  // namespace

std::shared_ptr<Peer> Peer::create(GstPipeline* pipeline, GstElement* master_tee, GstElement* cue_tee,
                                   const std::string& name, const Options& options, Events events,
                                   std::string* error) {
  std::shared_ptr<Peer> p(new Peer());
  p->name_ = name;
  p->events_ = std::move(events);
  p->pipeline_ = GST_PIPELINE(gst_object_ref(pipeline));
  p->created_ms_ = now_ms();
  p->bin_ = gst_bin_new(name.c_str());
  gst_object_ref_sink(p->bin_);
  p->webrtc_ = gst_element_factory_make("webrtcbin", "webrtc");
  if (!p->webrtc_) {
    *error = "webrtcbin is not available";
    return nullptr;
  }
  g_object_set(p->webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
  gst_bin_add(GST_BIN(p->bin_), p->webrtc_);

  // ICE: no UPnP port mapping (a server has no home router to ask, and every agent would start
  // its own UPnP discovery: sockets, threads and multicast per peer), no TCP candidates.
  GObject* ice = nullptr;
  g_object_get(p->webrtc_, "ice-agent", &ice, nullptr);
  if (ice) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp")) g_object_set(ice, "ice-tcp", FALSE, nullptr);
    GObject* agent = nullptr;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "agent")) g_object_get(ice, "agent", &agent, nullptr);
    if (agent && NICE_IS_AGENT(agent)) {
      g_object_set(agent, "upnp", FALSE, nullptr);
      if (options.loopback_only) {
        NiceAddress lo;
        nice_address_init(&lo);
        nice_address_set_from_string(&lo, "127.0.0.1");
        nice_agent_add_local_address(NICE_AGENT(agent), &lo);
      }
    }
    if (agent) g_object_unref(agent);
    g_object_unref(ice);
  }

  p->gate_ = std::make_shared<Gate>();
  p->gate_->peer = p;
  GstElement* tees[2] = {master_tee, cue_tee};
  GstPad* ghosts[2] = {};
  for (int i = 0; i < 2; i++) {
    if (!tees[i]) continue;
    GstPad* wsink = gst_element_request_pad_simple(p->webrtc_, "sink_%u");
    if (!wsink) {
      *error = "cannot link to webrtcbin";
      return nullptr;
    }
    GstWebRTCRTPTransceiver* trans = nullptr;
    g_object_get(wsink, "transceiver", &trans, nullptr);
    if (trans) {
      g_object_set(trans, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
      gst_object_unref(trans);
    }
    ghosts[i] = gst_ghost_pad_new(i == 0 ? "master" : "cue", wsink);
    gst_object_unref(wsink);
    g_object_set_qdata_full(G_OBJECT(ghosts[i]), gate_quark(), new GateRef(p->gate_), free_gate_ref);
    gst_pad_set_chain_function(ghosts[i], gated_chain);
    gst_pad_set_chain_list_function(ghosts[i], gated_chain_list);
    gst_element_add_pad(p->bin_, ghosts[i]);
  }

  g_signal_connect_data(p->webrtc_, "on-negotiation-needed", G_CALLBACK(+[](GstElement*, gpointer d) {
                          if (auto self = static_cast<WeakPeer*>(d)->lock()) self->on_negotiation_needed();
                        }),
                        new WeakPeer(p), free_weak, GConnectFlags(0));
  g_signal_connect_data(p->webrtc_, "on-ice-candidate",
                        G_CALLBACK(+[](GstElement*, guint mline, gchar* cand, gpointer d) {
                          WeakPeer weak = *static_cast<WeakPeer*>(d);
                          std::string c = cand;
                          run_on_main([weak, c, mline] {
                            auto self = weak.lock();
                            if (self && !self->stopped_ && self->events_.ice) self->events_.ice(c, mline);
                          });
                        }),
                        new WeakPeer(p), free_weak, GConnectFlags(0));
  g_signal_connect_data(p->webrtc_, "notify::connection-state",
                        G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer d) {
                          GstWebRTCPeerConnectionState st;
                          g_object_get(w, "connection-state", &st, nullptr);
                          WeakPeer weak = *static_cast<WeakPeer*>(d);
                          GEnumClass* k = static_cast<GEnumClass*>(
                              g_type_class_ref(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE));
                          GEnumValue* v = g_enum_get_value(k, st);
                          std::string name = v ? v->value_nick : "unknown";
                          g_type_class_unref(k);
                          run_on_main([weak, name] {
                            auto self = weak.lock();
                            if (!self || self->stopped_) return;
                            self->connection_state_ = name;
                            if (self->events_.connection) self->events_.connection(name);
                          });
                        }),
                        new WeakPeer(p), free_weak, GConnectFlags(0));

  // The gate opens when the DTLS-SRTP encoder gets its key: that is when webrtcbin lifts its own
  // block (opened earlier, the shared tee would wait in that block; "connected" is not always after
  // it). It closes if the connection fails or closes.
  g_signal_connect_data(p->bin_, "deep-element-added",
                        G_CALLBACK(+[](GstBin*, GstBin*, GstElement* element, gpointer d) {
                          GstElementFactory* f = gst_element_get_factory(element);
                          if (!f || g_strcmp0(GST_OBJECT_NAME(f), "dtlssrtpenc") != 0) return;
                          g_signal_connect_data(element, "on-key-set", G_CALLBACK(+[](GstElement*, gpointer g) {
                                                  (*static_cast<GateRef*>(g))->open.store(true, std::memory_order_release);
                                                }),
                                                new GateRef(*static_cast<GateRef*>(d)),
                                                [](gpointer g, GClosure*) { delete static_cast<GateRef*>(g); },
                                                GConnectFlags(G_CONNECT_AFTER));
                        }),
                        new GateRef(p->gate_), [](gpointer d, GClosure*) { delete static_cast<GateRef*>(d); },
                        GConnectFlags(0));
  g_signal_connect_data(p->webrtc_, "notify::connection-state",
                        G_CALLBACK(+[](GstElement* w, GParamSpec*, gpointer d) {
                          GstWebRTCPeerConnectionState st;
                          g_object_get(w, "connection-state", &st, nullptr);
                          if (st == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED || st == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED)
                            (*static_cast<GateRef*>(d))->open.store(false, std::memory_order_release);
                        }),
                        new GateRef(p->gate_), [](gpointer d, GClosure*) { delete static_cast<GateRef*>(d); },
                        GConnectFlags(0));

  // PLAYING first, then link the tees.
  gst_bin_add(GST_BIN(pipeline), p->bin_);
  gst_element_sync_state_with_parent(p->bin_);
  for (int i = 0; i < 2; i++) {
    if (!tees[i]) continue;
    GstPad* src = gst_element_request_pad_simple(tees[i], "src_%u");
    if (gst_pad_link(src, ghosts[i]) != GST_PAD_LINK_OK) {
      gst_element_release_request_pad(tees[i], src);
      gst_object_unref(src);
      *error = "cannot link the peer to the battle";
      p->stop();
      return nullptr;
    }
    p->tees_[i] = GST_ELEMENT(gst_object_ref(tees[i]));
    p->tee_pads_[i] = src;
  }
  return p;
}

void Peer::report_failure(const std::string& reason) {
  if (stopped_) return;
  if (events_.failed) events_.failed(reason);
}

Peer::~Peer() {
  stop();
  if (pipeline_) gst_object_unref(pipeline_);
}

void Peer::on_negotiation_needed() {
  // Called from a webrtcbin thread. One offer per peer; the branch never changes afterwards.
  if (offered_) return;
  offered_ = true;
  GstPromise* promise = gst_promise_new_with_change_func(
      [](GstPromise* pr, gpointer d) {
        if (auto self = static_cast<WeakPeer*>(d)->lock()) self->on_offer_created(pr);
        gst_promise_unref(pr);
      },
      new WeakPeer(weak_from_this()), [](gpointer d) { delete static_cast<WeakPeer*>(d); });
  g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
}

void Peer::on_offer_created(GstPromise* promise) {
  if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) return;
  const GstStructure* reply = gst_promise_get_reply(promise);
  GstWebRTCSessionDescription* offer = nullptr;
  gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
  if (!offer) return;
  g_signal_emit_by_name(webrtc_, "set-local-description", offer, nullptr);
  gchar* text = gst_sdp_message_as_text(offer->sdp);
  std::string sdp = text;
  g_free(text);
  gst_webrtc_session_description_free(offer);
  WeakPeer weak = weak_from_this();
  run_on_main([weak, sdp] {
    auto self = weak.lock();
    if (self && !self->stopped_ && self->events_.offer) self->events_.offer(sdp);
  });
}

bool Peer::set_answer(const std::string& sdp, std::string* error) {
  if (stopped_) return false;
  GstSDPMessage* msg = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &msg) != GST_SDP_OK || !msg ||
      gst_sdp_message_medias_len(msg) == 0) {
    if (msg) gst_sdp_message_free(msg);
    *error = "the answer is not a valid SDP";
    return false;
  }
  GstWebRTCSessionDescription* answer = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, msg);
  g_signal_emit_by_name(webrtc_, "set-remote-description", answer, nullptr);
  gst_webrtc_session_description_free(answer);
  return true;
}

bool Peer::add_ice(const std::string& candidate, guint mline) {
  if (stopped_) return false;
  if (candidate.find(".local") != std::string::npos) return false;
  if (candidate.empty()) return false;  // end-of-candidates
  g_signal_emit_by_name(webrtc_, "add-ice-candidate", mline, candidate.c_str());
  return true;
}

void Peer::stop() {
  if (stopped_ || !bin_) return;
  stopped_ = true;
  if (gate_) gate_->open.store(false);
  auto* t = new Teardown{GST_PIPELINE(gst_object_ref(pipeline_)), bin_, {nullptr, nullptr}, {nullptr, nullptr}, 0};
  bin_ = nullptr;
  for (int i = 0; i < 2; i++) {
    t->tee[i] = tees_[i];
    t->tee_pad[i] = tee_pads_[i];
    tees_[i] = nullptr;
    tee_pads_[i] = nullptr;
    if (t->tee_pad[i]) t->pending++;
  }
  if (t->pending == 0) {
    run_on_main([t] { finish_teardown(t); });
    return;
  }
  int n = t->pending;
  for (int i = 0; i < 2 && n; i++)
    if (t->tee_pad[i]) gst_pad_add_probe(t->tee_pad[i], GST_PAD_PROBE_TYPE_IDLE, unlink_when_idle, t, nullptr);
}

}  // namespace dju
