// djeq: the channel strip's 3-band isolator EQ with kills and the one-knob filter. See gstdjeq.cc.
#pragma once

#include <gst/audio/gstaudiofilter.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DJ_EQ (gst_dj_eq_get_type())
G_DECLARE_FINAL_TYPE(GstDjEq, gst_dj_eq, GST, DJ_EQ, GstAudioFilter)

GST_ELEMENT_REGISTER_DECLARE(djeq);

G_END_DECLS
