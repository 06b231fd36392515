// What a `control` message may name: deck actions, and parameters with the element property each
// one moves. Ranges are never written here: values are checked against the element's own
// GParamSpec, so the protocol can never drift from the elements. Also the default MIDI mapping.
#pragma once

#include <json-glib/json-glib.h>

#include <string>

namespace dju {

enum class ControlScope { Deck, Channel, Mixer };
enum class ControlTarget { Deck, Eq, MixerPad, Mixer, CueMix };

struct ParamInfo {
  const char* name;
  ControlScope scope;
  ControlTarget target;
  const char* property;  // on the target element (or pad); nullptr for cue-mix
};

const ParamInfo* find_param(const std::string& name);
// Every parameter, for enumerating state.
const ParamInfo* params_begin();
const ParamInfo* params_end();

// djdeck's action names (the contract), plus "load" which the server handles.
bool is_deck_action(const std::string& name);
// Actions whose `index` is a hotcue number 1..8.
bool action_takes_hotcue(const std::string& name);

// The default mapping from a MIDI-style message to a control message (a new object with deck,
// action/param, value, index), or nullptr with *error. playing: whether the deck plays now (note 60
// toggles). eq_min_db/eq_max_db: the EQ's gain range (CC 3–5 put 0 dB at the centre, 64).
struct MidiContext {
  bool playing = false;
  double eq_min_db = -26.0, eq_max_db = 6.0;
};
JsonObject* midi_to_control(JsonObject* midi, const MidiContext& ctx, std::string* error);

}  // namespace dju
