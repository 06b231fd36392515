// One WebRTC receiver of a battle: a bin with a webrtcbin fed from the battle's RTP tees (the
// rtsp-stream-transport of this server). The master always; a DJ's peer also gets their headphone
// cue as a second audio track. The server makes the offer. Webrtcbin calls back on streaming threads;
// every event is handed to the main context before it reaches the owner.
//
// The tee pushes straight into the webrtcbin (no queue, no thread of our own per peer: webrtcbin's
// DTLS encoder already hands packets to the network on its own thread). Until the connection is up,
// the peer's pads drop the packets (webrtcbin would block the shared tee until DTLS has its keys),
// and whatever a peer's branch returns (an SRTP error, flushing on leave) never reaches the tee:
// one peer can neither pause nor end the battle for the others.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

namespace dju {

class Peer : public std::enable_shared_from_this<Peer> {
 public:
  struct Options {
    // Gather ICE candidates on 127.0.0.1 only (a server whose browsers run on the same machine).
    bool loopback_only = false;
  };
  struct Events {
    std::function<void(const std::string& sdp)> offer;
    std::function<void(const std::string& candidate, guint mline)> ice;
    std::function<void(const std::string& state)> connection;
    // The peer's branch failed (e.g. SRTP); the battle plays on, this peer hears nothing more.
    std::function<void(const std::string& reason)> failed;
  };

  // Adds the branch to the running pipeline: the bin reaches PLAYING before the tee pads are linked
  // (linked first, the tee would see FLUSHING and pause the shared encoder for everyone).
  static std::shared_ptr<Peer> create(GstPipeline* pipeline, GstElement* master_tee, GstElement* cue_tee,
                                      const std::string& name, const Options& options, Events events,
                                      std::string* error);
  ~Peer();

  bool set_answer(const std::string& sdp, std::string* error);
  // Drops mDNS (.local) candidates: the server cannot resolve them, and ICE succeeds without.
  bool add_ice(const std::string& candidate, guint mline);
  // Unlinks from the tees (at an idle point of each) and removes the bin. Idempotent.
  void stop();

  const std::string& name() const { return name_; }
  double created_ms() const { return created_ms_; }
  const std::string& connection_state() const { return connection_state_; }

  // Shared with the pad functions between the tee and the webrtcbin (see peer.cc).
  struct Gate;
  // Main context: the branch failed; tells the owner once.
  void report_failure(const std::string& reason);

 private:
  Peer() = default;
  void on_negotiation_needed();
  void on_offer_created(GstPromise* promise);

  std::string name_;
  Events events_;
  GstPipeline* pipeline_ = nullptr;
  GstElement* bin_ = nullptr;
  GstElement* webrtc_ = nullptr;
  GstElement* tees_[2] = {};
  GstPad* tee_pads_[2] = {};
  std::shared_ptr<Gate> gate_;
  bool offered_ = false;
  bool stopped_ = false;
  double created_ms_ = 0;
  std::string connection_state_ = "new";
};

}  // namespace dju
