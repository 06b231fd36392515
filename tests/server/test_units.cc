// Pure parts of the server: seats and permissions, tokens, MIDI mapping, ids.
#include <gtest/gtest.h>

#include <cmath>

#include "controls.h"
#include "json_util.h"
#include "seat.h"
#include "track_library.h"

using namespace dju;

TEST(Seats, DenyByDefault) {
  Permissions spectator = permissions_for(Role::Spectator, CrossfaderOwner::Shared);
  EXPECT_TRUE(spectator.list().empty());
  EXPECT_FALSE(spectator.is_allowed("deck.a"));
  EXPECT_FALSE(spectator.is_allowed(perm::kCrossfader));
}

TEST(Seats, EachDjOwnsOneDeckAndChannel) {
  Permissions a = permissions_for(Role::SeatA, CrossfaderOwner::Shared);
  Permissions b = permissions_for(Role::SeatB, CrossfaderOwner::Shared);
  EXPECT_TRUE(a.is_allowed(perm::deck('a')));
  EXPECT_TRUE(a.is_allowed(perm::channel('a')));
  EXPECT_FALSE(a.is_allowed(perm::deck('b')));
  EXPECT_FALSE(a.is_allowed(perm::channel('b')));
  EXPECT_TRUE(b.is_allowed(perm::deck('b')));
  EXPECT_FALSE(b.is_allowed(perm::deck('a')));
  EXPECT_TRUE(a.is_allowed(perm::kCrossfader));
  EXPECT_TRUE(b.is_allowed(perm::kCrossfader));
}

TEST(Seats, CrossfaderFollowsTheBattleSetting) {
  EXPECT_TRUE(permissions_for(Role::SeatA, CrossfaderOwner::SeatA).is_allowed(perm::kCrossfader));
  EXPECT_FALSE(permissions_for(Role::SeatB, CrossfaderOwner::SeatA).is_allowed(perm::kCrossfader));
  EXPECT_FALSE(permissions_for(Role::SeatA, CrossfaderOwner::SeatB).is_allowed(perm::kCrossfader));
  EXPECT_TRUE(permissions_for(Role::SeatB, CrossfaderOwner::SeatB).is_allowed(perm::kCrossfader));
}

TEST(Tokens, AreLongRandomAndComparedExactly) {
  std::string t1 = generate_token(), t2 = generate_token();
  EXPECT_EQ(t1.size(), 32u);  // 128 bits in hex
  EXPECT_NE(t1, t2);
  EXPECT_TRUE(tokens_equal(t1, t1));
  EXPECT_FALSE(tokens_equal(t1, t2));
  EXPECT_FALSE(tokens_equal(t1, t1.substr(0, 31)));
  EXPECT_FALSE(tokens_equal(t1, ""));
  EXPECT_FALSE(tokens_equal("", ""));
  std::string flipped = t1;
  flipped[31] = flipped[31] == '0' ? '1' : '0';
  EXPECT_FALSE(tokens_equal(t1, flipped));
}

static JsonObject* obj(const char* text) {
  std::string err;
  JsonNode* n = json_parse(text, -1, &err);
  JsonObject* o = json_object_ref(json_node_get_object(n));
  json_node_unref(n);
  return o;
}

TEST(Midi, DefaultMapping) {
  MidiContext ctx;
  std::string err;
  struct Case {
    const char* midi;
    const char* expect_action;
    const char* expect_param;
    double value;
  } cases[] = {
      {R"({"deck":"a","kind":"note-on","number":60,"value":127})", "play", nullptr, 0},
      {R"({"deck":"a","kind":"note-on","number":61,"value":100})", "cue", nullptr, 1},
      {R"({"deck":"a","kind":"note-off","number":61,"value":0})", "cue", nullptr, 0},
      {R"({"deck":"a","kind":"cc","number":6,"value":0})", nullptr, "crossfader", -1},
      {R"({"deck":"a","kind":"cc","number":6,"value":127})", nullptr, "crossfader", 1},
      {R"({"deck":"a","kind":"cc","number":6,"value":64})", nullptr, "crossfader", 0},
      {R"({"deck":"a","kind":"cc","number":1,"value":64})", nullptr, "tempo", 1.0},
      {R"({"deck":"a","kind":"cc","number":1,"value":127})", nullptr, "tempo", 1.08},
      {R"({"deck":"a","kind":"cc","number":2,"value":127})", nullptr, "volume", 1.0},
      {R"({"deck":"a","kind":"cc","number":5,"value":0})", nullptr, "eq-low", -26},
      {R"({"deck":"a","kind":"cc","number":3,"value":64})", nullptr, "eq-high", 0},
      {R"({"deck":"b","data":[176,6,127]})", nullptr, "crossfader", 1},
      {R"({"deck":"b","data":[144,60,100]})", "play", nullptr, 0},
      {R"({"deck":"b","data":[224,0,96]})", "jog", nullptr, 0.5},
  };
  for (const auto& c : cases) {
    JsonObject* m = obj(c.midi);
    JsonObject* ctl = midi_to_control(m, ctx, &err);
    ASSERT_NE(ctl, nullptr) << c.midi << ": " << err;
    std::string action, param;
    double v = 0;
    json_get_string(ctl, "action", &action);
    json_get_string(ctl, "param", &param);
    json_get_number(ctl, "value", &v);
    if (c.expect_action) {
      EXPECT_EQ(action, c.expect_action) << c.midi;
    }
    if (c.expect_param) {
      EXPECT_EQ(param, c.expect_param) << c.midi;
    }
    if (c.expect_param || std::string(c.expect_action) == "cue" || std::string(c.expect_action) == "jog") {
      EXPECT_NEAR(v, c.value, 1e-9) << c.midi;
    }
    json_object_unref(ctl);
    json_object_unref(m);
  }
  // Hotcues 1-4 on notes 62-65.
  JsonObject* m = obj(R"({"deck":"a","kind":"note-on","number":65,"value":1})");
  JsonObject* ctl = midi_to_control(m, ctx, &err);
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(json_object_get_int_member(ctl, "index"), 4);
  json_object_unref(ctl);
  json_object_unref(m);
  // Play toggles to pause while playing.
  ctx.playing = true;
  m = obj(R"({"deck":"a","kind":"note-on","number":60,"value":127})");
  ctl = midi_to_control(m, ctx, &err);
  ASSERT_NE(ctl, nullptr);
  EXPECT_EQ(std::string(json_object_get_string_member(ctl, "action")), "pause");
  json_object_unref(ctl);
  json_object_unref(m);
}

TEST(Midi, RefusesWhatItCannotMap) {
  MidiContext ctx;
  for (const char* bad : {R"({"deck":"a","kind":"cc","number":99,"value":1})",
                          R"({"deck":"a","kind":"cc","number":6,"value":128})",
                          R"({"deck":"a","kind":"sysex","number":1,"value":1})",
                          R"({"deck":"a","data":[176,6]})", R"({"deck":"a","data":[240,1,2]})",
                          R"({"deck":"a","data":[176,6,300]})", R"({"deck":"a","kind":"cc","number":6})"}) {
    std::string err;
    JsonObject* m = obj(bad);
    EXPECT_EQ(midi_to_control(m, ctx, &err), nullptr) << bad;
    EXPECT_FALSE(err.empty()) << bad;
    json_object_unref(m);
  }
}

TEST(Controls, NamesMapToElementProperties) {
  ASSERT_NE(find_param("eq-low"), nullptr);
  EXPECT_STREQ(find_param("eq-low")->property, "low");
  EXPECT_EQ(find_param("crossfader")->scope, ControlScope::Mixer);
  EXPECT_EQ(find_param("volume")->scope, ControlScope::Channel);
  EXPECT_EQ(find_param("tempo")->scope, ControlScope::Deck);
  EXPECT_EQ(find_param("location"), nullptr);  // never settable from a client
  EXPECT_TRUE(is_deck_action("hotcue"));
  EXPECT_FALSE(is_deck_action("rm"));
}

TEST(Library, IdsNeverCarryPaths) {
  EXPECT_EQ(sanitize_id("../../etc/passwd"), "etc-passwd");
  EXPECT_EQ(sanitize_id("My Track (Remix).flac"), "my-track-remix-flac");
  EXPECT_EQ(sanitize_id("///"), "");
  EXPECT_LE(sanitize_id(std::string(500, 'a')).size(), 64u);
}

// A silent channel's level is -inf in GStreamer; JSON has no such number, so it must go out as null.
TEST(Json, NonFiniteNumbersBecomeNull) {
  GstStructure* s = gst_structure_new("djspectrum", "rms", G_TYPE_DOUBLE, -INFINITY, "flatness", G_TYPE_FLOAT,
                                      NAN, "peak", G_TYPE_DOUBLE, -6.0, nullptr);
  JsonObject* o = structure_to_json(s);
  EXPECT_TRUE(json_object_get_null_member(o, "rms"));
  EXPECT_TRUE(json_object_get_null_member(o, "flatness"));
  EXPECT_DOUBLE_EQ(json_object_get_double_member(o, "peak"), -6.0);
  JsonNode* root = json_node_new(JSON_NODE_OBJECT);
  json_node_take_object(root, o);
  gchar* text = json_to_string(root, FALSE);
  JsonParser* parser = json_parser_new();
  EXPECT_TRUE(json_parser_load_from_data(parser, text, -1, nullptr)) << text;
  g_object_unref(parser);
  g_free(text);
  json_node_unref(root);
  gst_structure_free(s);
}

TEST(Json, StructureFieldsBecomeMembers) {
  GstStructure* s = gst_structure_new("djdeck-state", "position", G_TYPE_DOUBLE, 1.5, "playing", G_TYPE_BOOLEAN, TRUE,
                                      "beat", G_TYPE_INT, 3, "key", G_TYPE_STRING, "A minor", nullptr);
  GValue arr = G_VALUE_INIT;
  gst_value_array_init(&arr, 2);
  for (double d : {0.25, 0.5}) {
    GValue v = G_VALUE_INIT;
    g_value_init(&v, G_TYPE_DOUBLE);
    g_value_set_double(&v, d);
    gst_value_array_append_and_take_value(&arr, &v);
  }
  gst_structure_take_value(s, "hotcues", &arr);
  JsonObject* o = structure_to_json(s);
  EXPECT_DOUBLE_EQ(json_object_get_double_member(o, "position"), 1.5);
  EXPECT_TRUE(json_object_get_boolean_member(o, "playing"));
  EXPECT_EQ(json_object_get_int_member(o, "beat"), 3);
  EXPECT_STREQ(json_object_get_string_member(o, "key"), "A minor");
  EXPECT_EQ(json_array_get_length(json_object_get_array_member(o, "hotcues")), 2u);
  json_object_unref(o);
  gst_structure_free(s);
}
