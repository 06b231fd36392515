// The plugin loads from this build and carries the elements the design names.
#include <gst/gst.h>
#include <gtest/gtest.h>

TEST(Plugin, LoadsWithMetadata) {
  GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "djuniverse");
  ASSERT_NE(plugin, nullptr);
  EXPECT_STREQ(gst_plugin_get_license(plugin), "LGPL");
  gst_object_unref(plugin);
}

// Every element of the design is registered by the plugin.
TEST(Plugin, RegistersEveryElement) {
  for (const char* name : {"djdeck", "djeq", "djmixer", "djspectrum", "djjudge"}) {
    GstElementFactory* f = gst_element_factory_find(name);
    ASSERT_NE(f, nullptr) << name;
    EXPECT_STREQ(gst_plugin_feature_get_plugin_name(GST_PLUGIN_FEATURE(f)), "djuniverse") << name;
    gst_object_unref(f);
  }
}
