// Persistence of battles in the data folder: one JSON-lines file per battle
// (battles/<id>.jsonl, one event per line, appended as it happens) and its recording
// (recordings/<id>.ogg). Lines are written with one write() each, so a killed process loses at
// most the line it was writing; a torn last line is skipped when reading.
#pragma once

#include <json-glib/json-glib.h>

#include <string>
#include <vector>

namespace dju {

class BattleStore {
 public:
  explicit BattleStore(std::string data_dir);

  // Adds "t" (server time, ms) and appends the event. Does not take ownership.
  bool append(const std::string& battle_id, JsonObject* event);

  struct Record {
    std::string id;
    std::vector<JsonObject*> events;  // owned by the record
    Record() = default;
    Record(Record&&) noexcept;
    Record(const Record&) = delete;
    ~Record();
  };
  std::vector<Record> load_all() const;

  std::string recording_path(const std::string& battle_id) const;
  const std::string& data_dir() const { return data_dir_; }

 private:
  std::string data_dir_;
};

// Ids are 12 lowercase hex characters (what the store accepts back from a URL).
bool is_battle_id(const std::string& id);

}  // namespace dju
