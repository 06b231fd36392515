// The GStreamer side of each output kind, as pipeline descriptions an engineer can paste into
// gst-launch-1.0 to reproduce an output by hand (replace the appsrc with `audiotestsrc is-live=true`).
#pragma once

#include <string>

#include "output_spec.h"

namespace dju {

// The raw master every output is fed with (contract of the battle pipeline).
extern const char* const kOutputRawCaps;

// Head: lives in the battle's pipeline right after the master tee. The queue is leaky so a stuck
// output never holds the tee; the appsink hands buffers over to the body's appsrc, so no flow
// error of the body (a dead far end) can travel back up the tee into the battle.
std::string output_head_description();

// Body: appsrc "src" → encoders → muxer → network/file sink "sink". Video bodies also contain the
// textoverlays "title" and "scores" that update_overlay() writes to.
std::string output_body_description(const OutputSpec& spec);

}  // namespace dju
