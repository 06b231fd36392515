// JSON helpers shared by the server objects: parsing client text, serialising replies, and the
// generic GstStructure → JSON conversion (element messages reach browsers field by field).
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>

#include <string>

namespace dju {

// Milliseconds since the Unix epoch, with sub-millisecond precision (the protocol's server_time).
double now_ms();

// Serialises a node (not consumed).
std::string json_to_string(JsonNode* node);
std::string json_object_to_string(JsonObject* object);

// Parses text into a node; nullptr with a reason in *error on failure.
JsonNode* json_parse(const char* data, gssize length, std::string* error);

// Every field of a structure as one JSON object (numbers, booleans, strings, enums by nick, arrays
// and lists as arrays, nested structures as objects; anything else as GStreamer's string form).
JsonObject* structure_to_json(const GstStructure* structure);

// Reads members with type checks. Each returns false if the member is absent or of another type.
bool json_get_string(JsonObject* o, const char* name, std::string* out);
bool json_get_number(JsonObject* o, const char* name, double* out);
bool json_get_bool(JsonObject* o, const char* name, bool* out);

}  // namespace dju
