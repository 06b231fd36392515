#include "flac_writer.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/tag/tag.h>

#include <cstring>

namespace demo {

std::string write_flac(const std::string& path, const std::vector<int16_t>& pcm, size_t frames,
                       const FlacTags& tags) {
  GError* err = nullptr;
  // The encoder settings are fixed so the bytes only depend on the samples and the tags.
  GstElement* pipe = gst_parse_launch(
      "appsrc name=src format=time block=true max-bytes=2000000 "
      "caps=audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved,channel-mask=(bitmask)0x3 "
      "! flacenc name=enc quality=5 ! filesink name=sink",
      &err);
  if (!pipe) {
    std::string why = err ? err->message : "cannot build the encoding pipeline";
    g_clear_error(&err);
    return why;
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), "src");
  GstElement* enc = gst_bin_get_by_name(GST_BIN(pipe), "enc");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  g_object_set(sink, "location", path.c_str(), NULL);
  gst_tag_setter_add_tags(GST_TAG_SETTER(enc), GST_TAG_MERGE_REPLACE, GST_TAG_TITLE, tags.title.c_str(),
                          GST_TAG_ARTIST, tags.artist.c_str(), GST_TAG_GENRE, tags.genre.c_str(),
                          GST_TAG_BEATS_PER_MINUTE, tags.bpm, GST_TAG_COMMENT,
                          "DJ Universe demo library (generated)", NULL);
  gst_element_set_state(pipe, GST_STATE_PLAYING);

  const size_t chunk = 48000;
  for (size_t f = 0; f < frames; f += chunk) {
    size_t n = std::min(chunk, frames - f);
    GstBuffer* buf = gst_buffer_new_allocate(nullptr, n * 4, nullptr);
    gst_buffer_fill(buf, 0, pcm.data() + 2 * f, n * 4);
    GST_BUFFER_PTS(buf) = gst_util_uint64_scale(f, GST_SECOND, 48000);
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(f + n, GST_SECOND, 48000) - GST_BUFFER_PTS(buf);
    GST_BUFFER_OFFSET(buf) = f;
    GST_BUFFER_OFFSET_END(buf) = f + n;
    if (gst_app_src_push_buffer(GST_APP_SRC(src), buf) != GST_FLOW_OK) break;
  }
  gst_app_src_end_of_stream(GST_APP_SRC(src));

  std::string result;
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                               GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* e = nullptr;
    gst_message_parse_error(msg, &e, nullptr);
    result = e ? e->message : "encoding failed";
    g_clear_error(&e);
  }
  if (msg) gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(src);
  gst_object_unref(enc);
  gst_object_unref(sink);
  gst_object_unref(pipe);
  return result;
}

}  // namespace demo
