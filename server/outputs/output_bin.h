// The bin that holds one broadcast output inside the battle's pipeline. It differs from a plain
// GstBin in one way: it sees every message of its children first, on the thread that posts it,
// so the output can swallow its own ERRORs (a dead far end must never reach the battle's bus as
// an error that could end the battle) and learn at once when its last sink has drained at EOS.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define DJU_TYPE_OUTPUT_BIN (dju_output_bin_get_type())
G_DECLARE_FINAL_TYPE(DjuOutputBin, dju_output_bin, DJU, OUTPUT_BIN, GstBin)

// Returns TRUE when the hook consumed the message (it is then not passed up to the pipeline).
typedef gboolean (*DjuOutputBinHook)(GstMessage* message, gpointer user_data);

GstElement* dju_output_bin_new(const gchar* name);
// Called on the posting thread for every message of a child; user_data is freed with notify
// when the bin is finalized or the hook replaced.
void dju_output_bin_set_hook(DjuOutputBin* bin, DjuOutputBinHook hook, gpointer user_data,
                             GDestroyNotify notify);

G_END_DECLS
