// Where battles are found by id. An interface so that a shared directory (Redis, for several
// server nodes) can replace the in-process one without touching the rest of the server.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace dju {

class Battle;

class BattleDirectory {
 public:
  virtual ~BattleDirectory() = default;
  virtual void add(std::shared_ptr<Battle> battle) = 0;
  virtual std::shared_ptr<Battle> find(const std::string& id) const = 0;
  virtual std::vector<std::shared_ptr<Battle>> list() const = 0;
  virtual bool remove(const std::string& id) = 0;
};

// Battles of this process, in memory.
class LocalBattleDirectory : public BattleDirectory {
 public:
  void add(std::shared_ptr<Battle> battle) override;
  std::shared_ptr<Battle> find(const std::string& id) const override;
  std::vector<std::shared_ptr<Battle>> list() const override;
  bool remove(const std::string& id) override;

 private:
  std::map<std::string, std::shared_ptr<Battle>> battles_;
};

}  // namespace dju
