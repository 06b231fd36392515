#include "battle_store.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include <algorithm>

#include "json_util.h"

namespace dju {

bool is_battle_id(const std::string& id) {
  return id.size() == 12 &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

BattleStore::BattleStore(std::string data_dir) : data_dir_(std::move(data_dir)) {
  g_mkdir_with_parents((data_dir_ + "/battles").c_str(), 0755);
  g_mkdir_with_parents((data_dir_ + "/recordings").c_str(), 0755);
}

std::string BattleStore::recording_path(const std::string& battle_id) const {
  return data_dir_ + "/recordings/" + battle_id + ".ogg";
}

bool BattleStore::append(const std::string& battle_id, JsonObject* event) {
  if (!is_battle_id(battle_id)) return false;
  if (!json_object_has_member(event, "t")) json_object_set_double_member(event, "t", now_ms());
  std::string line = json_object_to_string(event) + "\n";
  std::string path = data_dir_ + "/battles/" + battle_id + ".jsonl";
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ssize_t n = write(fd, line.data(), line.size());
  close(fd);
  return n == static_cast<ssize_t>(line.size());
}

BattleStore::Record::Record(Record&& o) noexcept : id(std::move(o.id)), events(std::move(o.events)) {
  o.events.clear();
}

BattleStore::Record::~Record() {
  for (JsonObject* e : events) json_object_unref(e);
}

std::vector<BattleStore::Record> BattleStore::load_all() const {
  std::vector<Record> out;
  std::string dir = data_dir_ + "/battles";
  GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d) return out;
  while (const char* name = g_dir_read_name(d)) {
    std::string file = name;
    if (file.size() != 18 || file.substr(12) != ".jsonl" || !is_battle_id(file.substr(0, 12))) continue;
    gchar* text = nullptr;
    gsize len = 0;
    if (!g_file_get_contents((dir + "/" + file).c_str(), &text, &len, nullptr)) continue;
    Record r;
    r.id = file.substr(0, 12);
    gchar** lines = g_strsplit(text, "\n", -1);
    for (gchar** l = lines; *l; l++) {
      if (!**l) continue;
      std::string err;
      JsonNode* n = json_parse(*l, -1, &err);
      if (n && JSON_NODE_HOLDS_OBJECT(n)) r.events.push_back(json_object_ref(json_node_get_object(n)));
      if (n) json_node_unref(n);
    }
    g_strfreev(lines);
    g_free(text);
    if (!r.events.empty()) out.push_back(std::move(r));
  }
  g_dir_close(d);
  return out;
}

}  // namespace dju
