// Broadcast outputs of one battle: RTMP push, SRT listener, HLS, Icecast.
//
// Contract between the battle (server/) and the outputs (server/outputs/). Every output lives in
// its own bin inside the battle's pipeline, fed from the battle's raw master tee (F32, 48 kHz,
// stereo); an output whose far end fails is torn down and retried with backoff without touching
// the battle or the other outputs. All methods run on the server's main context.
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include <memory>
#include <string>

namespace dju {

// What the video visual of an RTMP output shows; the battle updates it as things change.
struct OverlayInfo {
  std::string battle_name;
  std::string dj_a;
  std::string dj_b;
  double score_a = 0.0;
  double score_b = 0.0;
  double remaining_s = 0.0;  // battle timer
  std::string state;         // lobby | countdown | live | ended
};

class OutputManager {
 public:
  // pipeline: the battle's pipeline; master_tee: a tee carrying the raw master.
  // hls_root: folder where HLS outputs write their playlists and segments (one subfolder each).
  static std::unique_ptr<OutputManager> create(GstPipeline* pipeline, GstElement* master_tee,
                                               const std::string& hls_root);
  virtual ~OutputManager() = default;

  // Adds an output from a JSON request body such as {"kind":"rtmp","url":"rtmp://h/app/key","video":true},
  // {"kind":"srt","port":9000}, {"kind":"hls"}, {"kind":"icecast","url":"icecast://source:pw@h:8000/mount"}.
  // Returns its id, or "" with a readable reason in *error (and *http_status: 400 bad request,
  // 409 conflict such as a port in use) and nothing changed.
  virtual std::string add(JsonObject* spec, std::string* error, int* http_status) = 0;

  // Removes an output cleanly mid-stream. False if no such id.
  virtual bool remove(const std::string& id) = 0;

  // [{"id":…,"kind":…,"status":"starting|live|retrying|stopped","error":…,"url"/"port"/"playlist":…}, …]
  virtual JsonNode* list() const = 0;

  // Called for every message on the battle's bus; returns true if it belonged to an output (an
  // error inside an output's bin is handled here and never ends the battle).
  virtual bool handle_bus_message(GstMessage* message) = 0;

  virtual void update_overlay(const OverlayInfo& info) = 0;

  // Stops every output (EOS where the format needs a proper end, e.g. HLS ENDLIST).
  virtual void stop_all() = 0;
};

}  // namespace dju
