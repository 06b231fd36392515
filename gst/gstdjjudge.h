// djjudge: listens to what each deck contributes to the master (one sink pad per deck), finds every
// transition between decks and scores it with reasons a DJ can learn from.
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_DJ_JUDGE (gst_dj_judge_get_type())
G_DECLARE_FINAL_TYPE(GstDjJudge, gst_dj_judge, GST, DJ_JUDGE, GstElement)

#define GST_TYPE_DJ_JUDGE_PAD (gst_dj_judge_pad_get_type())
G_DECLARE_FINAL_TYPE(GstDjJudgePad, gst_dj_judge_pad, GST, DJ_JUDGE_PAD, GstPad)

GST_ELEMENT_REGISTER_DECLARE(djjudge);

G_END_DECLS
