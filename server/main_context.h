// Hands work to the main context, where libsoup and every battle object live. Streaming-thread
// callbacks (webrtcbin signals, pad probes, worker threads) go through here before they touch a
// connection. The function always runs later from the main loop, never inline.
#pragma once

#include <glib.h>

#include <functional>

namespace dju {

inline void run_on_main(std::function<void()> fn) {
  GSource* source = g_idle_source_new();
  g_source_set_priority(source, G_PRIORITY_DEFAULT);
  g_source_set_callback(
      source,
      [](gpointer p) -> gboolean {
        (*static_cast<std::function<void()>*>(p))();
        return G_SOURCE_REMOVE;
      },
      new std::function<void()>(std::move(fn)), [](gpointer p) { delete static_cast<std::function<void()>*>(p); });
  g_source_attach(source, nullptr);
  g_source_unref(source);
}

}  // namespace dju
