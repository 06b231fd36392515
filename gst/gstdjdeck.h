// djdeck: a DJ deck as a GStreamer audio source (see gstdjdeck.cc for its documentation).
#pragma once

#include <gst/base/gstbasesrc.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DJDECK (gst_djdeck_get_type())
G_DECLARE_FINAL_TYPE(GstDjDeck, gst_djdeck, GST, DJDECK, GstBaseSrc)

GST_ELEMENT_REGISTER_DECLARE(djdeck);

G_END_DECLS

#ifdef __cplusplus
namespace dju {
struct DeckSnapshot;
}
// For a deck that syncs to this one (both in one process): the leader's state, sample-timed.
bool gst_djdeck_get_snapshot(GstDjDeck* deck, dju::DeckSnapshot* out);
#endif
