// What the listener and every client share: the battle directory, the track library, the store
// and the process options. Owned by main().
#pragma once

#include <string>

#include "battle_builder.h"

namespace dju {

class BattleDirectory;
class BattleStore;
class TrackLibrary;

struct ServerOptions {
  int port = 8080;
  std::string host;  // empty: every interface
  std::string tracks_dir, data_dir, web_dir;
  std::string admin_token;
  std::string tls_cert, tls_key;
  size_t max_upload_bytes = 64u * 1024 * 1024;
  int max_battles = 16;
  size_t max_frame_bytes = 64 * 1024;
  double rate_per_s = 200, rate_burst = 100;
  PipelineSettings pipeline;
};

struct ServerContext {
  ServerOptions options;
  BattleDirectory* directory = nullptr;
  TrackLibrary* library = nullptr;
  BattleStore* store = nullptr;
};

}  // namespace dju
