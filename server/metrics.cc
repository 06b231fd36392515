#include "metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace dju {

Metrics& Metrics::get() {
  static Metrics m;
  return m;
}

void Metrics::command_latency(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); i++)
    if (seconds <= kBuckets[i]) latency_buckets_[i]++;
  latency_count_++;
  latency_sum_ += seconds;
}

static long proc_status_value(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  size_t klen = std::string(key).size();
  while (std::getline(f, line))
    if (line.compare(0, klen, key) == 0) return std::strtol(line.c_str() + klen, nullptr, 10);
  return 0;
}

std::string Metrics::render() const {
  std::ostringstream o;
  auto gauge = [&](const char* name, const char* help, double v) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " gauge\n" << name << ' ' << v << '\n';
  };
  auto counter = [&](const char* name, const char* help, double v) {
    o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << " counter\n" << name << ' ' << v << '\n';
  };
  gauge("djuniverse_battles", "Battles running (with a pipeline).", battles_gauge ? battles_gauge() : 0);
  gauge("djuniverse_peers", "WebRTC peers connected to a battle.", peers_gauge ? peers_gauge() : 0);
  gauge("djuniverse_clients", "WebSocket clients connected.", clients_gauge ? clients_gauge() : 0);
  counter("djuniverse_battles_created_total", "Battles created since start.", battles_created_);
  counter("djuniverse_peers_joined_total", "WebRTC peers created since start.", peers_joined_);
  counter("djuniverse_commands_total", "Control commands applied.", commands_);
  counter("djuniverse_ws_messages_in_total", "WebSocket messages received.", ws_messages_in_);
  counter("djuniverse_ws_messages_out_total", "WebSocket messages sent.", ws_messages_out_);
  o << "# HELP djuniverse_refusals_total Messages and requests refused, by reason.\n"
       "# TYPE djuniverse_refusals_total counter\n";
  for (const auto& [reason, n] : refusals_) o << "djuniverse_refusals_total{reason=\"" << reason << "\"} " << n << '\n';
  o << "# HELP djuniverse_command_latency_seconds Command received to change seen on the audio thread.\n"
       "# TYPE djuniverse_command_latency_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); i++)
    o << "djuniverse_command_latency_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << latency_buckets_[i] << '\n';
  o << "djuniverse_command_latency_seconds_bucket{le=\"+Inf\"} " << latency_count_ << '\n'
    << "djuniverse_command_latency_seconds_sum " << latency_sum_ << '\n'
    << "djuniverse_command_latency_seconds_count " << latency_count_ << '\n';
  counter("djuniverse_qos_events_total", "Late or dropped buffers reported by QoS messages.", qos_events_);
  counter("djuniverse_late_buffers_total",
          "Master buffers that left a battle's mixer later than its slack for late decks (--mix-latency-ms).",
          late_buffers_.load(std::memory_order_relaxed));
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  counter("djuniverse_cpu_seconds_total", "User and system CPU time of the process.", cpu);
  gauge("djuniverse_resident_memory_bytes", "Resident set size.", proc_status_value("VmRSS:") * 1024.0);
  gauge("djuniverse_threads", "Threads of the process.", proc_status_value("Threads:"));
  return o.str();
}

}  // namespace dju
