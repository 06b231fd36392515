// Builds one battle's pipeline (the rtsp-media-factory of this server):
//
//   djdeck(a) → djeq → tee ─┬─ queue → djmixer.sink_0 ─┐
//                           ├─ queue → cue mixer a      ├─ djmixer → djspectrum → master tee ─┬─ recording (Ogg Opus)
//                           └─ queue → volume → djjudge.deck_0                                ├─ cue mixers (master side)
//   djdeck(b) → … the same, sink_1 / deck_1                                                   ├─ outputs (OutputManager)
//                                                                                             └─ opusenc → rtpopuspay → RTP tee → peers
//   cue mixer a/b (djmixer: own deck pre-fader ⟷ master, by the cue-mix knob) → opusenc → rtpopuspay → cue RTP tee a/b
//
// The elements are ours; if the plugin lacks one, building fails with its name.
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace dju {

struct PipelineSettings {
  // WebRTC Opus encoding (once per battle, shared by every peer).
  int bitrate = 128000;
  double frame_ms = 5.0;
  std::string audio_type = "restricted-lowdelay";
  // Slack the mixers wait for late deck buffers before mixing without them (GstAggregator
  // "latency"). With none, a busy machine turns every scheduling hiccup into a dropout.
  double mixer_latency_ms = 20.0;
  // Peers gather ICE candidates on 127.0.0.1 only (--ice-loopback).
  bool ice_loopback = false;
};

struct BattlePipeline {
  GstPipeline* pipeline = nullptr;
  GstElement* deck[2] = {};
  GstElement* eq[2] = {};
  GstElement* mixer = nullptr;
  GstPad* mixer_pad[2] = {};  // djmixer sink pads, channel faders
  GstElement* spectrum = nullptr;
  GstElement* master_tee = nullptr;
  GstElement* master_rtp_tee = nullptr;
  GstElement* cue_mixer[2] = {};
  GstElement* cue_rtp_tee[2] = {};
  GstElement* judge = nullptr;  // null when the plugin has no djjudge (battles play, unscored)
  GstElement* judge_gain[2] = {};
  GstPad* judge_pad[2] = {};  // djjudge deck_N (bpm and key set from the deck's analysis)
  GstElement* recording_sink = nullptr;
  GstPad* recording_branch_pad = nullptr;  // master tee pad of the recording branch

  BattlePipeline() = default;
  BattlePipeline(const BattlePipeline&) = delete;
  BattlePipeline& operator=(const BattlePipeline&) = delete;
  ~BattlePipeline();
};

class BattleBuilder {
 public:
  // The plugin elements a battle needs that this GStreamer cannot make.
  static std::vector<std::string> missing_elements();

  // Builds (does not start) a battle pipeline recording to recording_path. nullptr + *error on failure.
  static BattlePipeline* build(const std::string& name, const std::string& recording_path,
                               const PipelineSettings& opus, std::string* error);
};

}  // namespace dju
