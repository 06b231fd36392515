// main() for GoogleTest suites that use GStreamer: every test binary gets its own registry file
// and must load the djuniverse plugin from this build, never a stale installed copy.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "test_env.h"

int main(int argc, char** argv) {
  std::string exe = argv[0];
  std::string base = exe.substr(exe.find_last_of('/') + 1);
  std::string registry = dju_test::build_root() + "/tests/registry-" + base + ".bin";
  g_setenv("GST_REGISTRY_1_0", registry.c_str(), TRUE);
  g_setenv("GST_REGISTRY_FORK", "no", TRUE);
  gst_init(&argc, &argv);
  testing::InitGoogleTest(&argc, argv);

  GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "djuniverse");
  if (!plugin) {
    std::fprintf(stderr, "djuniverse plugin not found on GST_PLUGIN_PATH\n");
    return 1;
  }
  std::string file = gst_plugin_get_filename(plugin) ? gst_plugin_get_filename(plugin) : "";
  gst_object_unref(plugin);
  if (file.rfind(dju_test::build_root(), 0) != 0) {
    std::fprintf(stderr, "djuniverse plugin loaded from %s, not from this build (%s)\n", file.c_str(),
                 dju_test::build_root().c_str());
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  gst_deinit();
  return rc;
}
