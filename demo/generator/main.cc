// dju-demo-generator: writes the DJ Universe demo library — original, deterministic tracks with a
// manifest that is the ground truth for tempo, beat grid, key and arrangement.
//
//   dju-demo-generator --output DIR [--only ID,ID…] [--jobs N] [--expect ID…]
//   dju-demo-generator --list
//
// --expect makes the build fail loudly when the list of files the build declares no longer
// matches the catalogue.
#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "catalogue.h"
#include "flac_writer.h"
#include "render.h"
#include "theory.h"

namespace {

using demo::RenderedTrack;
using demo::TrackSpec;

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

std::string num(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

std::string layer_names(const std::string& letters) {
  static const std::pair<char, const char*> names[] = {
      {'K', "kick"}, {'S', "backbeat"}, {'H', "hats"},  {'O', "open-hats"}, {'P', "percussion"},
      {'B', "bass"}, {'C', "chords"},   {'D', "pad"},   {'L', "lead"},      {'R', "riser"},
      {'X', "crash"}};
  std::string o = "[";
  bool first = true;
  for (auto& [c, n] : names) {
    if (letters.find(c) == std::string::npos) continue;
    o += (first ? "" : ",") + json_str(n);
    first = false;
  }
  return o + "]";
}

std::string manifest_entry(const TrackSpec& s, const RenderedTrack& r) {
  std::ostringstream o;
  double beat = 60.0 / s.bpm;
  o << "    {\"id\":" << json_str(s.id) << ",\"file\":" << json_str(s.id + ".flac")
    << ",\"title\":" << json_str(s.title) << ",\"artist\":" << json_str(s.artist)
    << ",\"genre\":" << json_str(s.genre) << ",\n     \"bpm\":" << num(s.bpm, 1)
    << ",\"key\":" << json_str(demo::key_name(s.key)) << ",\"camelot\":" << json_str(demo::camelot(s.key))
    << ",\"first_beat_s\":" << num(s.first_beat_s, 3) << ",\"beats_per_bar\":4"
    << ",\"phrase_bars\":" << s.phrase_bars << ",\"bars\":" << r.total_bars
    << ",\n     \"duration_s\":" << num(r.duration_s, 3) << ",\"frames\":" << r.frames
    << ",\"sample_rate\":48000,\"channels\":2"
    << ",\"last_beat_s\":" << num(s.first_beat_s + (r.total_bars * 4 - 1) * beat, 9) << ",\"kick_pattern_beats\":[";
  for (size_t i = 0; i < r.kick_beats.size(); ++i) o << (i ? "," : "") << num(r.kick_beats[i], 2);
  o << "],\n     \"sections\":[";
  for (size_t i = 0; i < r.sections.size(); ++i) {
    const auto& sec = r.sections[i];
    o << (i ? ",\n       " : "\n       ") << "{\"name\":" << json_str(sec.name) << ",\"start_s\":" << num(sec.start_s, 9)
      << ",\"end_s\":" << num(sec.end_s, 9) << ",\"start_bar\":" << sec.start_bar << ",\"bars\":" << sec.bars
      << ",\"kick\":" << (sec.layers.find('K') != std::string::npos ? "true" : "false")
      << ",\"layers\":" << layer_names(sec.layers) << "}";
  }
  o << "]}";
  return o.str();
}

int usage() {
  std::fprintf(stderr, "usage: dju-demo-generator --output DIR [--only ID,ID...] [--jobs N] [--expect ID...]\n"
                       "       dju-demo-generator --list\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_dir;
  std::set<std::string> only;
  std::vector<std::string> expect;
  bool have_expect = false;
  int jobs = 2;
  const auto& cat = demo::catalogue();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list") {
      for (const auto& t : cat) std::printf("%s.flac\n", t.id.c_str());
      return 0;
    } else if (a == "--output" && i + 1 < argc) {
      out_dir = argv[++i];
    } else if (a == "--jobs" && i + 1 < argc) {
      jobs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      std::stringstream ss(argv[++i]);
      std::string id;
      while (std::getline(ss, id, ',')) only.insert(id);
    } else if (a == "--expect") {
      have_expect = true;
      for (++i; i < argc; ++i) expect.push_back(argv[i]);
    } else {
      return usage();
    }
  }
  if (out_dir.empty()) return usage();
  if (have_expect) {
    std::vector<std::string> ids;
    for (const auto& t : cat) ids.push_back(t.id);
    if (ids != expect) {
      std::fprintf(stderr, "demo/meson.build lists tracks that differ from the generator's catalogue:\n");
      for (const auto& id : ids) std::fprintf(stderr, "  catalogue: %s\n", id.c_str());
      return 1;
    }
  }
  for (const auto& id : only) {
    bool found = false;
    for (const auto& t : cat) found = found || t.id == id;
    if (!found) {
      std::fprintf(stderr, "unknown track id: %s\n", id.c_str());
      return 2;
    }
  }

  gst_init(&argc, &argv);
  std::vector<const TrackSpec*> todo;
  for (const auto& t : cat)
    if (only.empty() || only.count(t.id)) todo.push_back(&t);

  std::vector<std::string> entries(todo.size()), errors(todo.size());
  std::atomic<size_t> next{0};
  auto t0 = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (size_t k; (k = next++) < todo.size();) {
      const TrackSpec& s = *todo[k];
      auto a = std::chrono::steady_clock::now();
      RenderedTrack r = demo::render_track(s);
      auto b = std::chrono::steady_clock::now();
      std::string path = out_dir + "/" + s.id + ".flac";
      errors[k] = demo::write_flac(path, r.pcm, r.frames, {s.title, s.artist, s.genre, s.bpm});
      auto c = std::chrono::steady_clock::now();
      entries[k] = manifest_entry(s, r);
      std::printf("%-22s %6.1f s  %3d bars  %s %-4s rms %5.1f dBFS  peak %.3f  render %.2f s  encode %.2f s\n",
                  s.id.c_str(), r.duration_s, r.total_bars, demo::key_name(s.key).c_str(),
                  demo::camelot(s.key).c_str(), r.rms_db, r.peak, std::chrono::duration<double>(b - a).count(),
                  std::chrono::duration<double>(c - b).count());
      std::fflush(stdout);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < std::min<int>(jobs, int(todo.size())); ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();

  int rc = 0;
  for (size_t k = 0; k < todo.size(); ++k) {
    if (!errors[k].empty()) {
      std::fprintf(stderr, "%s: %s\n", todo[k]->id.c_str(), errors[k].c_str());
      rc = 1;
    }
  }
  if (rc) return rc;

  std::string manifest_path = out_dir + "/manifest.json";
  std::ofstream m(manifest_path, std::ios::binary | std::ios::trunc);
  m << "{\"generator\":\"dju-demo-generator\",\"sample_rate\":48000,\"tracks\":[\n";
  for (size_t k = 0; k < entries.size(); ++k) m << entries[k] << (k + 1 < entries.size() ? ",\n" : "\n");
  m << "]}\n";
  m.close();
  if (!m) {
    std::fprintf(stderr, "cannot write %s\n", manifest_path.c_str());
    return 1;
  }
  std::printf("%zu tracks in %.1f s -> %s\n", todo.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), out_dir.c_str());
  return 0;
}
