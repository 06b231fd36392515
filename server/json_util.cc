#include "json_util.h"

#include <glib.h>

#include <cmath>

namespace dju {

double now_ms() { return static_cast<double>(g_get_real_time()) / 1000.0; }

std::string json_to_string(JsonNode* node) {
  JsonGenerator* gen = json_generator_new();
  json_generator_set_root(gen, node);
  gsize len = 0;
  gchar* text = json_generator_to_data(gen, &len);
  std::string out(text, len);
  g_free(text);
  g_object_unref(gen);
  return out;
}

std::string json_object_to_string(JsonObject* object) {
  JsonNode* node = json_node_new(JSON_NODE_OBJECT);
  json_node_set_object(node, object);
  std::string out = json_to_string(node);
  json_node_unref(node);
  return out;
}

JsonNode* json_parse(const char* data, gssize length, std::string* error) {
  JsonParser* parser = json_parser_new_immutable();
  GError* err = nullptr;
  JsonNode* root = nullptr;
  if (json_parser_load_from_data(parser, data, length, &err)) {
    root = json_parser_get_root(parser);
    if (root) {
      root = json_node_ref(root);
    } else if (error) {
      *error = "empty document";
    }
  } else if (error) {
    *error = err ? err->message : "not JSON";
  }
  if (err) g_error_free(err);
  g_object_unref(parser);
  return root;
}

static JsonNode* value_to_json(const GValue* v);

static JsonNode* array_like_to_json(const GValue* v, bool is_list) {
  JsonArray* arr = json_array_new();
  guint n = is_list ? gst_value_list_get_size(v) : gst_value_array_get_size(v);
  for (guint i = 0; i < n; i++) {
    const GValue* item = is_list ? gst_value_list_get_value(v, i) : gst_value_array_get_value(v, i);
    json_array_add_element(arr, value_to_json(item));
  }
  JsonNode* node = json_node_new(JSON_NODE_ARRAY);
  json_node_take_array(node, arr);
  return node;
}

static JsonNode* value_to_json(const GValue* v) {
  JsonNode* node = json_node_new(JSON_NODE_VALUE);
  GType t = G_VALUE_TYPE(v);
  switch (G_TYPE_FUNDAMENTAL(t)) {
    case G_TYPE_BOOLEAN: json_node_set_boolean(node, g_value_get_boolean(v)); return node;
    case G_TYPE_INT: json_node_set_int(node, g_value_get_int(v)); return node;
    case G_TYPE_UINT: json_node_set_int(node, g_value_get_uint(v)); return node;
    case G_TYPE_LONG: json_node_set_int(node, g_value_get_long(v)); return node;
    case G_TYPE_ULONG: json_node_set_int(node, static_cast<gint64>(g_value_get_ulong(v))); return node;
    case G_TYPE_INT64: json_node_set_int(node, g_value_get_int64(v)); return node;
    case G_TYPE_UINT64: json_node_set_int(node, static_cast<gint64>(g_value_get_uint64(v))); return node;
    // JSON has no inf or NaN (json-glib would write "-inf", which no browser parses): null instead.
    case G_TYPE_FLOAT:
    case G_TYPE_DOUBLE: {
      const double d = G_TYPE_FUNDAMENTAL(t) == G_TYPE_FLOAT ? g_value_get_float(v) : g_value_get_double(v);
      if (std::isfinite(d)) json_node_set_double(node, d); else json_node_init_null(node);
      return node;
    }
    case G_TYPE_STRING: {
      const char* s = g_value_get_string(v);
      if (s) json_node_set_string(node, s); else json_node_init_null(node);
      return node;
    }
    case G_TYPE_ENUM: {
      GEnumClass* klass = static_cast<GEnumClass*>(g_type_class_ref(t));
      GEnumValue* ev = g_enum_get_value(klass, g_value_get_enum(v));
      if (ev) json_node_set_string(node, ev->value_nick); else json_node_set_int(node, g_value_get_enum(v));
      g_type_class_unref(klass);
      return node;
    }
    default: break;
  }
  json_node_unref(node);
  if (GST_VALUE_HOLDS_ARRAY(v)) return array_like_to_json(v, false);
  if (GST_VALUE_HOLDS_LIST(v)) return array_like_to_json(v, true);
  if (GST_VALUE_HOLDS_STRUCTURE(v)) {
    JsonNode* n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, structure_to_json(gst_value_get_structure(v)));
    return n;
  }
  if (G_VALUE_HOLDS(v, G_TYPE_BYTES)) {
    // Raw float arrays (e.g. a waveform overview) travel as GBytes of F32.
    GBytes* bytes = static_cast<GBytes*>(g_value_get_boxed(v));
    JsonArray* arr = json_array_new();
    if (bytes) {
      gsize size = 0;
      const float* f = static_cast<const float*>(g_bytes_get_data(bytes, &size));
      for (gsize i = 0; i < size / sizeof(float); i++) json_array_add_double_element(arr, f[i]);
    }
    JsonNode* n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, arr);
    return n;
  }
  JsonNode* n = json_node_new(JSON_NODE_VALUE);
  gchar* s = gst_value_serialize(v);
  if (s) json_node_set_string(n, s); else json_node_init_null(n);
  g_free(s);
  return n;
}

JsonObject* structure_to_json(const GstStructure* structure) {
  JsonObject* o = json_object_new();
  gint n = gst_structure_n_fields(structure);
  for (gint i = 0; i < n; i++) {
    const char* name = gst_structure_nth_field_name(structure, i);
    const GValue* v = gst_structure_get_value(structure, name);
    json_object_set_member(o, name, value_to_json(v));
  }
  return o;
}

static JsonNode* value_member(JsonObject* o, const char* name) {
  if (!o || !json_object_has_member(o, name)) return nullptr;
  JsonNode* n = json_object_get_member(o, name);
  return (n && JSON_NODE_HOLDS_VALUE(n)) ? n : nullptr;
}

bool json_get_string(JsonObject* o, const char* name, std::string* out) {
  JsonNode* n = value_member(o, name);
  if (!n || json_node_get_value_type(n) != G_TYPE_STRING) return false;
  *out = json_node_get_string(n);
  return true;
}

bool json_get_number(JsonObject* o, const char* name, double* out) {
  JsonNode* n = value_member(o, name);
  if (!n) return false;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_INT64) { *out = static_cast<double>(json_node_get_int(n)); return true; }
  if (t == G_TYPE_DOUBLE) { *out = json_node_get_double(n); return true; }
  return false;
}

bool json_get_bool(JsonObject* o, const char* name, bool* out) {
  JsonNode* n = value_member(o, name);
  if (!n || json_node_get_value_type(n) != G_TYPE_BOOLEAN) return false;
  *out = json_node_get_boolean(n);
  return true;
}

}  // namespace dju
