#include "battle_directory.h"

#include "battle.h"

namespace dju {

void LocalBattleDirectory::add(std::shared_ptr<Battle> battle) { battles_[battle->id()] = std::move(battle); }

std::shared_ptr<Battle> LocalBattleDirectory::find(const std::string& id) const {
  auto it = battles_.find(id);
  return it == battles_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Battle>> LocalBattleDirectory::list() const {
  std::vector<std::shared_ptr<Battle>> out;
  for (const auto& [id, b] : battles_) out.push_back(b);
  return out;
}

bool LocalBattleDirectory::remove(const std::string& id) { return battles_.erase(id) > 0; }

}  // namespace dju
