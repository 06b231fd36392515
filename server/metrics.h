// Process-wide counters rendered in Prometheus text format at GET /metrics. Updated only on the
// main context (the bus watches and the WebSocket handlers run there), so no locks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace dju {

class Metrics {
 public:
  static Metrics& get();

  void command() { commands_++; }
  void refusal(const std::string& reason) { refusals_[reason]++; }
  void command_latency(double seconds);  // command received → change seen on the audio thread
  void qos_event() { qos_events_++; }
  // A master buffer left its battle's mixer later than the mixer's slack for late decks: the audio
  // thread fell behind the clock. Counted on streaming threads, hence atomic.
  void late_buffer() { late_buffers_.fetch_add(1, std::memory_order_relaxed); }
  void peer_joined() { peers_joined_++; }
  void message_in() { ws_messages_in_++; }
  void message_out() { ws_messages_out_++; }
  void battle_created() { battles_created_++; }

  // Gauges come from their owners when rendering.
  std::function<int()> battles_gauge;
  std::function<int()> peers_gauge;
  std::function<int()> clients_gauge;

  std::string render() const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.02,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};
  uint64_t commands_ = 0, qos_events_ = 0, peers_joined_ = 0, ws_messages_in_ = 0, ws_messages_out_ = 0,
           battles_created_ = 0;
  std::map<std::string, uint64_t> refusals_;
  std::array<uint64_t, kBuckets.size()> latency_buckets_{};
  uint64_t latency_count_ = 0;
  std::atomic<uint64_t> late_buffers_{0};
  double latency_sum_ = 0.0;
};

}  // namespace dju
