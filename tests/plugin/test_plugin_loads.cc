// The plugin loads from this build and carries the elements the design names.
#include <gst/gst.h>
#include <gtest/gtest.h>

TEST(Plugin, LoadsWithMetadata) {
  GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "djuniverse");
  ASSERT_NE(plugin, nullptr);
  EXPECT_STREQ(gst_plugin_get_license(plugin), "LGPL");
  gst_object_unref(plugin);
}
