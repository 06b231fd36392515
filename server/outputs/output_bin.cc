#include "output_bin.h"

struct _DjuOutputBin {
  GstBin parent;
  DjuOutputBinHook hook;
  gpointer user_data;
  GDestroyNotify notify;
};

G_DEFINE_TYPE(DjuOutputBin, dju_output_bin, GST_TYPE_BIN)

static void dju_output_bin_handle_message(GstBin* bin, GstMessage* message) {
  DjuOutputBin* self = DJU_OUTPUT_BIN(bin);
  // The hook is set before the bin leaves NULL and only cleared in finalize, so no lock is needed.
  if (self->hook && self->hook(message, self->user_data)) {
    gst_message_unref(message);
    return;
  }
  GST_BIN_CLASS(dju_output_bin_parent_class)->handle_message(bin, message);
}

static void dju_output_bin_finalize(GObject* object) {
  DjuOutputBin* self = DJU_OUTPUT_BIN(object);
  if (self->notify) self->notify(self->user_data);
  G_OBJECT_CLASS(dju_output_bin_parent_class)->finalize(object);
}

static void dju_output_bin_class_init(DjuOutputBinClass* klass) {
  G_OBJECT_CLASS(klass)->finalize = dju_output_bin_finalize;
  GST_BIN_CLASS(klass)->handle_message = dju_output_bin_handle_message;
}

static void dju_output_bin_init(DjuOutputBin* self) {
  self->hook = nullptr;
  self->user_data = nullptr;
  self->notify = nullptr;
}

GstElement* dju_output_bin_new(const gchar* name) {
  return GST_ELEMENT(g_object_new(DJU_TYPE_OUTPUT_BIN, "name", name, "async-handling", TRUE, nullptr));
}

void dju_output_bin_set_hook(DjuOutputBin* bin, DjuOutputBinHook hook, gpointer user_data,
                             GDestroyNotify notify) {
  if (bin->notify) bin->notify(bin->user_data);
  bin->hook = hook;
  bin->user_data = user_data;
  bin->notify = notify;
}
