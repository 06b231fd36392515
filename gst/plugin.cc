// The djuniverse plugin: registers every DJ Universe element.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#ifdef HAVE_DJDECK
#include "gstdjdeck.h"
#endif
#ifdef HAVE_DJEQ
#include "gstdjeq.h"
#endif
#ifdef HAVE_DJMIXER
#include "gstdjmixer.h"
#endif
#ifdef HAVE_DJSPECTRUM
#include "gstdjspectrum.h"
#endif
#ifdef HAVE_DJJUDGE
#include "gstdjjudge.h"
#endif

static gboolean plugin_init(GstPlugin* plugin) {
  gboolean ret = FALSE;
#ifdef HAVE_DJDECK
  ret |= GST_ELEMENT_REGISTER(djdeck, plugin);
#endif
#ifdef HAVE_DJEQ
  ret |= GST_ELEMENT_REGISTER(djeq, plugin);
#endif
#ifdef HAVE_DJMIXER
  ret |= GST_ELEMENT_REGISTER(djmixer, plugin);
#endif
#ifdef HAVE_DJSPECTRUM
  ret |= GST_ELEMENT_REGISTER(djspectrum, plugin);
#endif
#ifdef HAVE_DJJUDGE
  ret |= GST_ELEMENT_REGISTER(djjudge, plugin);
#endif
  return ret;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, djuniverse,
                  "DJ Universe: decks, EQ, crossfader mixer, analysis and a transition judge for live DJ battles",
                  plugin_init, VERSION, "LGPL", GST_PACKAGE_NAME, GST_PACKAGE_ORIGIN)
