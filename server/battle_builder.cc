#include "battle_builder.h"

namespace dju {

// djjudge scores transitions; a battle without it still plays (and says so in the log).
static const char* const kRequired[] = {"djdeck", "djeq", "djmixer", "djspectrum"};
static const char* const kStock[] = {"tee", "queue", "volume", "audioconvert", "opusenc", "rtpopuspay", "oggmux",
                                     "filesink", "webrtcbin", "fakesink"};

std::vector<std::string> BattleBuilder::missing_elements() {
  std::vector<std::string> missing;
  for (const char* name : kRequired) {
    GstElementFactory* f = gst_element_factory_find(name);
    if (!f) missing.push_back(name); else gst_object_unref(f);
  }
  for (const char* name : kStock) {
    GstElementFactory* f = gst_element_factory_find(name);
    if (!f) missing.push_back(name); else gst_object_unref(f);
  }
  return missing;
}

BattlePipeline::~BattlePipeline() {
  for (int i = 0; i < 2; i++) {
    if (mixer_pad[i]) gst_object_unref(mixer_pad[i]);
    if (judge_pad[i]) gst_object_unref(judge_pad[i]);
  }
  if (recording_branch_pad) gst_object_unref(recording_branch_pad);
  if (pipeline) {
    gst_element_set_state(GST_ELEMENT(pipeline), GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
}

namespace {

// Sets a property only if the element has it (so optional tuning never breaks a build).
void set_if_present(GstElement* e, const char* prop, const GValue* v) {
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop)) g_object_set_property(G_OBJECT(e), prop, v);
}
void set_uint64_if_present(GstElement* e, const char* prop, guint64 value) {
  GParamSpec* p = g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop);
  if (!p) return;
  GValue v = G_VALUE_INIT;
  g_value_init(&v, p->value_type);
  if (p->value_type == G_TYPE_UINT64) g_value_set_uint64(&v, value);
  else if (p->value_type == G_TYPE_INT64) g_value_set_int64(&v, static_cast<gint64>(value));
  else if (p->value_type == G_TYPE_UINT) g_value_set_uint(&v, static_cast<guint>(value));
  else { g_value_unset(&v); return; }
  set_if_present(e, prop, &v);
  g_value_unset(&v);
}

struct Maker {
  GstBin* bin;
  std::string* error;
  bool ok = true;
  GstElement* make(const char* factory, const std::string& name) {
    if (!ok) return nullptr;
    GstElement* e = gst_element_factory_make(factory, name.empty() ? nullptr : name.c_str());
    if (!e) {
      ok = false;
      *error = std::string("the element ") + factory + " is not available";
      return nullptr;
    }
    gst_bin_add(bin, e);
    return e;
  }
  void link(GstElement* a, GstElement* b) {
    if (!ok) return;
    if (!gst_element_link(a, b)) {
      ok = false;
      *error = std::string("cannot link ") + GST_ELEMENT_NAME(a) + " to " + GST_ELEMENT_NAME(b);
    }
  }
  // Links a request pad of a tee to a queue's sink; returns the tee pad (owned by the tee).
  GstPad* link_tee(GstElement* tee, GstElement* queue) {
    if (!ok) return nullptr;
    GstPad* src = gst_element_request_pad_simple(tee, "src_%u");
    GstPad* sink = gst_element_get_static_pad(queue, "sink");
    if (gst_pad_link(src, sink) != GST_PAD_LINK_OK) {
      ok = false;
      *error = std::string("cannot link ") + GST_ELEMENT_NAME(tee) + " to " + GST_ELEMENT_NAME(queue);
    }
    gst_object_unref(sink);
    gst_object_unref(src);
    return src;
  }
  // Links an element's src to a request pad (by template name) of an aggregator; returns that pad (ref'd).
  GstPad* link_request(GstElement* from, GstElement* to, const char* templ) {
    if (!ok) return nullptr;
    GstPad* sink = gst_element_request_pad_simple(to, templ);
    if (!sink) {
      ok = false;
      *error = std::string(GST_ELEMENT_NAME(to)) + " gave no " + templ + " pad";
      return nullptr;
    }
    GstPad* src = gst_element_get_static_pad(from, "src");
    if (gst_pad_link(src, sink) != GST_PAD_LINK_OK) {
      ok = false;
      *error = std::string("cannot link ") + GST_ELEMENT_NAME(from) + " to " + GST_ELEMENT_NAME(to);
    }
    gst_object_unref(src);
    return sink;
  }
};

GstElement* opus_encoder(Maker& m, const std::string& name, const PipelineSettings& opus) {
  GstElement* enc = m.make("opusenc", name);
  if (!enc) return nullptr;
  gst_util_set_object_arg(G_OBJECT(enc), "audio-type", opus.audio_type.c_str());
  char frame[16];
  g_snprintf(frame, sizeof frame, "%g", opus.frame_ms);
  gst_util_set_object_arg(G_OBJECT(enc), "frame-size", frame);
  g_object_set(enc, "bitrate", opus.bitrate, nullptr);
  return enc;
}

// GstAudioAggregator mixes in blocks of 10 ms unless told otherwise: a change made just after a block
// started then waited up to 10 ms to be heard. Mix in the decks' own block of 256 frames (5.3 ms).
constexpr guint64 kBlockNs = 256 * GST_SECOND / 48000;
void mix_in_deck_blocks(GstElement* mixer) { set_uint64_if_present(mixer, "output-buffer-duration", kBlockNs); }

GstElement* small_queue(Maker& m, const std::string& name) {
  GstElement* q = m.make("queue", name);
  // Live audio: never hold more than 200 ms in a branch, and never let one branch stall the others.
  if (q) g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", 200 * GST_MSECOND, nullptr);
  return q;
}

}  // namespace

BattlePipeline* BattleBuilder::build(const std::string& name, const std::string& recording_path,
                                     const PipelineSettings& opus, std::string* error) {
  auto* bp = new BattlePipeline();
  bp->pipeline = GST_PIPELINE(gst_pipeline_new(name.c_str()));
  gst_object_ref_sink(bp->pipeline);
  Maker m{GST_BIN(bp->pipeline), error};

  bp->mixer = m.make("djmixer", "mixer");
  bp->spectrum = m.make("djspectrum", "spectrum");
  bp->master_tee = m.make("tee", "master_tee");
  if (!m.ok) { delete bp; return nullptr; }
  bp->judge = gst_element_factory_make("djjudge", "judge");
  if (bp->judge) {
    // The battle is live and its state must never wait for the judge's preroll (a deck that has not
    // delivered yet would hold the pipeline's PLAYING): like the recording sink, it changes state at once.
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(bp->judge), "async"))
      g_object_set(bp->judge, "async", FALSE, nullptr);
    gst_bin_add(GST_BIN(bp->pipeline), bp->judge);
  } else g_printerr("battle %s: djjudge is not available, transitions will not be scored\n", name.c_str());
  g_object_set(bp->master_tee, "allow-not-linked", TRUE, nullptr);
  g_object_set(bp->mixer, "latency", static_cast<guint64>(opus.mixer_latency_ms * GST_MSECOND), nullptr);
  mix_in_deck_blocks(bp->mixer);
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(bp->mixer), "post-messages"))
    g_object_set(bp->mixer, "post-messages", FALSE, nullptr);  // djspectrum reports the master
  set_uint64_if_present(bp->spectrum, "interval", 50 * GST_MSECOND);  // ~20 Hz to browsers

  const char seats[2] = {'a', 'b'};
  GstElement* deck_tee[2] = {};
  for (int i = 0; i < 2; i++) {
    std::string s(1, seats[i]);
    bp->deck[i] = m.make("djdeck", "deck_" + s);
    bp->eq[i] = m.make("djeq", "eq_" + s);
    deck_tee[i] = m.make("tee", "deck_tee_" + s);
    if (!m.ok) { delete bp; return nullptr; }
    g_object_set(bp->deck[i], "is-live", TRUE, nullptr);
    set_uint64_if_present(bp->deck[i], "report-interval", 100 * GST_MSECOND);  // ~10 Hz state
    m.link(bp->deck[i], bp->eq[i]);
    m.link(bp->eq[i], deck_tee[i]);

    GstElement* q_mix = small_queue(m, "q_mix_" + s);
    m.link_tee(deck_tee[i], q_mix);
    bp->mixer_pad[i] = m.link_request(q_mix, bp->mixer, "sink_%u");
    if (!m.ok) { delete bp; return nullptr; }
    gst_util_set_object_arg(G_OBJECT(bp->mixer_pad[i]), "crossfader-side", i == 0 ? "left" : "right");

    // Judge feed: what this deck contributes to the master (gain set by the battle from gain_laws.h).
    if (bp->judge) {
      GstElement* q_judge = small_queue(m, "q_judge_" + s);
      bp->judge_gain[i] = m.make("volume", "judge_gain_" + s);
      m.link_tee(deck_tee[i], q_judge);
      m.link(q_judge, bp->judge_gain[i]);
      bp->judge_pad[i] = m.link_request(bp->judge_gain[i], bp->judge, ("deck_" + std::to_string(i)).c_str());
    }

    // Headphone cue: own deck before the channel fader ⟷ master, mixed by the cue mixer's crossfader.
    bp->cue_mixer[i] = m.make("djmixer", "cue_mixer_" + s);
    GstElement* q_cue = small_queue(m, "q_cue_deck_" + s);
    m.link_tee(deck_tee[i], q_cue);
    GstPad* cue_deck_pad = m.link_request(q_cue, bp->cue_mixer[i], "sink_%u");
    GstElement* q_cue_master = small_queue(m, "q_cue_master_" + s);
    m.link_tee(bp->master_tee, q_cue_master);
    GstPad* cue_master_pad = m.link_request(q_cue_master, bp->cue_mixer[i], "sink_%u");
    if (!m.ok) { delete bp; return nullptr; }
    gst_util_set_object_arg(G_OBJECT(cue_deck_pad), "crossfader-side", "left");
    gst_util_set_object_arg(G_OBJECT(cue_master_pad), "crossfader-side", "right");
    gst_object_unref(cue_deck_pad);
    gst_object_unref(cue_master_pad);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(bp->cue_mixer[i]), "post-messages"))
      g_object_set(bp->cue_mixer[i], "post-messages", FALSE, nullptr);
    // The master reaches the cue mixer one mixer period after the deck: give it time to arrive.
    g_object_set(bp->cue_mixer[i], "latency", static_cast<guint64>((opus.mixer_latency_ms + 10) * GST_MSECOND), nullptr);
    mix_in_deck_blocks(bp->cue_mixer[i]);
    GstElement* cue_conv = m.make("audioconvert", "cue_convert_" + s);
    GstElement* cue_enc = opus_encoder(m, "cue_opusenc_" + s, opus);
    GstElement* cue_pay = m.make("rtpopuspay", "cue_pay_" + s);
    bp->cue_rtp_tee[i] = m.make("tee", "cue_rtp_tee_" + s);
    if (!m.ok) { delete bp; return nullptr; }
    g_object_set(cue_pay, "pt", 97, nullptr);
    g_object_set(bp->cue_rtp_tee[i], "allow-not-linked", TRUE, nullptr);
    m.link(bp->cue_mixer[i], cue_conv);
    m.link(cue_conv, cue_enc);
    m.link(cue_enc, cue_pay);
    m.link(cue_pay, bp->cue_rtp_tee[i]);
  }
  // djjudge analyses; if it also has an output, terminate it.
  if (m.ok && bp->judge && gst_element_class_get_pad_template(GST_ELEMENT_GET_CLASS(bp->judge), "src")) {
    GstElement* judge_sink = m.make("fakesink", "judge_sink");
    if (judge_sink) g_object_set(judge_sink, "sync", FALSE, "async", FALSE, nullptr);
    if (judge_sink) m.link(bp->judge, judge_sink);
  }

  m.link(bp->mixer, bp->spectrum);
  m.link(bp->spectrum, bp->master_tee);

  // WebRTC: encode once, fan out RTP.
  GstElement* q_rtp = small_queue(m, "q_rtp");
  GstElement* conv = m.make("audioconvert", "master_convert");
  GstElement* enc = opus_encoder(m, "master_opusenc", opus);
  GstElement* pay = m.make("rtpopuspay", "master_pay");
  bp->master_rtp_tee = m.make("tee", "master_rtp_tee");
  if (!m.ok) { delete bp; return nullptr; }
  g_object_set(pay, "pt", 96, nullptr);
  g_object_set(bp->master_rtp_tee, "allow-not-linked", TRUE, nullptr);
  m.link_tee(bp->master_tee, q_rtp);
  m.link(q_rtp, conv);
  m.link(conv, enc);
  m.link(enc, pay);
  m.link(pay, bp->master_rtp_tee);

  // Recording: Ogg pages every ≤ 0.5 s written straight to the file, so a killed process leaves a
  // playable file up to its last half second.
  GstElement* q_rec = small_queue(m, "q_recording");
  g_object_set(q_rec, "max-size-time", 2 * GST_SECOND, nullptr);
  GstElement* rconv = m.make("audioconvert", "recording_convert");
  GstElement* renc = m.make("opusenc", "recording_opusenc");
  GstElement* mux = m.make("oggmux", "recording_mux");
  bp->recording_sink = m.make("filesink", "recording_sink");
  if (!m.ok) { delete bp; return nullptr; }
  g_object_set(renc, "bitrate", 128000, nullptr);
  g_object_set(mux, "max-delay", static_cast<guint64>(500 * GST_MSECOND), "max-page-delay",
               static_cast<guint64>(500 * GST_MSECOND), nullptr);
  g_object_set(bp->recording_sink, "location", recording_path.c_str(), "sync", FALSE, "async", FALSE, nullptr);
  gst_util_set_object_arg(G_OBJECT(bp->recording_sink), "buffer-mode", "unbuffered");
  GstPad* rec_pad = m.link_tee(bp->master_tee, q_rec);
  if (rec_pad) bp->recording_branch_pad = GST_PAD(gst_object_ref(rec_pad));
  m.link(q_rec, rconv);
  m.link(rconv, renc);
  m.link(renc, mux);
  m.link(mux, bp->recording_sink);
  if (!m.ok) { delete bp; return nullptr; }
  return bp;
}

}  // namespace dju
