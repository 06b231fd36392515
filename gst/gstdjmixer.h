// djmixer: the crossfader mixer (a GstAudioAggregator). See the SECTION comment in gstdjmixer.cc.
#pragma once

#include <gst/audio/gstaudioaggregator.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DJ_MIXER (gst_dj_mixer_get_type())
G_DECLARE_FINAL_TYPE(GstDjMixer, gst_dj_mixer, GST, DJ_MIXER, GstAudioAggregator)

#define GST_TYPE_DJ_MIXER_PAD (gst_dj_mixer_pad_get_type())
G_DECLARE_FINAL_TYPE(GstDjMixerPad, gst_dj_mixer_pad, GST, DJ_MIXER_PAD, GstAudioAggregatorConvertPad)

#define GST_TYPE_DJ_MIXER_CROSSFADER_SIDE (gst_dj_mixer_crossfader_side_get_type())
GType gst_dj_mixer_crossfader_side_get_type(void);

#define GST_TYPE_DJ_MIXER_CROSSFADER_CURVE (gst_dj_mixer_crossfader_curve_get_type())
GType gst_dj_mixer_crossfader_curve_get_type(void);

GST_ELEMENT_REGISTER_DECLARE(djmixer);

G_END_DECLS
