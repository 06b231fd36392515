// djspectrum: pass-through analyser posting `djspectrum` element messages (levels, spectrum, timbre,
// chroma, onset, tempo) for the crowd's visualisations and the judge.
#pragma once

#include <gst/audio/gstaudiofilter.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DJ_SPECTRUM (gst_dj_spectrum_get_type())
G_DECLARE_FINAL_TYPE(GstDjSpectrum, gst_dj_spectrum, GST, DJ_SPECTRUM, GstAudioFilter)

GST_ELEMENT_REGISTER_DECLARE(djspectrum);

G_END_DECLS
