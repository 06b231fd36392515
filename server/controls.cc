#include "controls.h"

#include <cmath>
#include <set>

#include "json_util.h"

namespace dju {

static const ParamInfo kParams[] = {
    {"tempo", ControlScope::Deck, ControlTarget::Deck, "tempo"},
    {"keylock", ControlScope::Deck, ControlTarget::Deck, "keylock"},
    {"key-shift", ControlScope::Deck, ControlTarget::Deck, "key-shift"},
    {"position", ControlScope::Deck, ControlTarget::Deck, "position"},
    {"eq-low", ControlScope::Channel, ControlTarget::Eq, "low"},
    {"eq-mid", ControlScope::Channel, ControlTarget::Eq, "mid"},
    {"eq-high", ControlScope::Channel, ControlTarget::Eq, "high"},
    {"eq-low-kill", ControlScope::Channel, ControlTarget::Eq, "low-kill"},
    {"eq-mid-kill", ControlScope::Channel, ControlTarget::Eq, "mid-kill"},
    {"eq-high-kill", ControlScope::Channel, ControlTarget::Eq, "high-kill"},
    {"filter", ControlScope::Channel, ControlTarget::Eq, "filter"},
    {"volume", ControlScope::Channel, ControlTarget::MixerPad, "volume"},
    {"trim", ControlScope::Channel, ControlTarget::MixerPad, "gain"},  // dB, djmixer's range (-24 … +12)
    {"cue-mix", ControlScope::Channel, ControlTarget::CueMix, nullptr},
    {"crossfader", ControlScope::Mixer, ControlTarget::Mixer, "crossfader"},
    {"crossfader-curve", ControlScope::Mixer, ControlTarget::Mixer, "crossfader-curve"},
};

const ParamInfo* find_param(const std::string& name) {
  for (const auto& p : kParams)
    if (name == p.name) return &p;
  return nullptr;
}
const ParamInfo* params_begin() { return std::begin(kParams); }
const ParamInfo* params_end() { return std::end(kParams); }

static const std::set<std::string> kActions = {
    "play",    "pause",    "cue",       "hotcue",      "hotcue-set", "hotcue-clear", "loop-in",
    "loop-out", "loop-exit", "reloop", "beatloop", "loop-halve", "loop-double", "beatjump",
    "nudge",   "jog",      "scratch",   "sync",        "load"};

bool is_deck_action(const std::string& name) { return kActions.count(name) > 0; }
bool action_takes_hotcue(const std::string& name) {
  return name == "hotcue" || name == "hotcue-set" || name == "hotcue-clear";
}

// 0..127 with 64 at the centre value: below maps [lo, centre], above [centre, hi].
static double centred(double v, double lo, double centre, double hi) {
  return v <= 64 ? lo + (centre - lo) * v / 64.0 : centre + (hi - centre) * (v - 64) / 63.0;
}

JsonObject* midi_to_control(JsonObject* midi, const MidiContext& ctx, std::string* error) {
  std::string kind;
  double number = -1, value = -1;
  if (json_object_has_member(midi, "data")) {
    JsonNode* dn = json_object_get_member(midi, "data");
    JsonArray* a = JSON_NODE_HOLDS_ARRAY(dn) ? json_node_get_array(dn) : nullptr;
    if (!a || json_array_get_length(a) != 3) {
      *error = "data must be [status, data1, data2]";
      return nullptr;
    }
    int bytes[3] = {0, 0, 0};
    for (guint i = 0; i < json_array_get_length(a); i++) {
      JsonNode* e = json_array_get_element(a, i);
      if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64) {
        *error = "data bytes must be integers";
        return nullptr;
      }
      bytes[i] = static_cast<int>(json_node_get_int(e));
      if (bytes[i] < 0 || bytes[i] > 255 || (i > 0 && bytes[i] > 127)) {
        *error = "MIDI byte out of range";
        return nullptr;
      }
    }
    switch (bytes[0] & 0xF0) {
      case 0x90: kind = bytes[2] == 0 ? "note-off" : "note-on"; number = bytes[1]; value = bytes[2]; break;
      case 0x80: kind = "note-off"; number = bytes[1]; value = bytes[2]; break;
      case 0xB0: kind = "cc"; number = bytes[1]; value = bytes[2]; break;
      case 0xE0: kind = "pitchbend"; number = 0; value = ((bytes[2] << 7) | bytes[1]) - 8192; break;
      default: *error = "unsupported MIDI status byte"; return nullptr;
    }
  } else {
    if (!json_get_string(midi, "kind", &kind)) {
      *error = "midi needs kind (note-on, note-off, cc, pitchbend) or data";
      return nullptr;
    }
    json_get_number(midi, "number", &number);
    if (!json_get_number(midi, "value", &value)) {
      *error = "midi needs a numeric value";
      return nullptr;
    }
    if (kind == "note-on" && value == 0) kind = "note-off";
  }
  JsonObject* c = json_object_new();
  std::string deck;
  if (json_get_string(midi, "deck", &deck)) json_object_set_string_member(c, "deck", deck.c_str());
  auto fail = [&](const std::string& why) -> JsonObject* {
    json_object_unref(c);
    *error = why;
    return nullptr;
  };
  if (kind == "note-on" || kind == "note-off") {
    if (value < 0 || value > 127) return fail("velocity out of range (0..127)");
    bool on = kind == "note-on";
    int n = static_cast<int>(number);
    if (n == 60) {
      if (!on) { json_object_unref(c); *error = ""; return nullptr; }  // release of play: nothing to do
      json_object_set_string_member(c, "action", ctx.playing ? "pause" : "play");
    } else if (n == 61) {
      json_object_set_string_member(c, "action", "cue");
      json_object_set_double_member(c, "value", on ? 1.0 : 0.0);
    } else if (n >= 62 && n <= 65) {
      if (!on) { json_object_unref(c); *error = ""; return nullptr; }
      json_object_set_string_member(c, "action", "hotcue");
      json_object_set_int_member(c, "index", n - 61);
    } else {
      return fail("note " + std::to_string(n) + " is not mapped");
    }
  } else if (kind == "cc") {
    if (value < 0 || value > 127) return fail("CC value out of range (0..127)");
    int n = static_cast<int>(number);
    switch (n) {
      case 1: json_object_set_string_member(c, "param", "tempo");
              json_object_set_double_member(c, "value", centred(value, 0.92, 1.0, 1.08)); break;
      case 2: json_object_set_string_member(c, "param", "volume");
              json_object_set_double_member(c, "value", value / 127.0); break;
      case 3: case 4: case 5:
        json_object_set_string_member(c, "param", n == 3 ? "eq-high" : n == 4 ? "eq-mid" : "eq-low");
        json_object_set_double_member(c, "value", centred(value, ctx.eq_min_db, 0.0, ctx.eq_max_db));
        break;
      case 6: json_object_set_string_member(c, "param", "crossfader");
              json_object_set_double_member(c, "value", centred(value, -1.0, 0.0, 1.0)); break;
      default: return fail("CC " + std::to_string(n) + " is not mapped");
    }
  } else if (kind == "pitchbend") {
    if (value < -8192 || value > 8191) return fail("pitch bend out of range (-8192..8191)");
    json_object_set_string_member(c, "action", "jog");
    json_object_set_double_member(c, "value", value / 8192.0);
  } else {
    return fail("unknown MIDI kind " + kind);
  }
  return c;
}

}  // namespace dju
