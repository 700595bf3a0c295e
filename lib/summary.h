/*
 * summary.h - what a stream or a model holds (lib/summary.c): counts of
 * records, samples, epochs and markers; per tensor name its dtype,
 * per-sample shape and value range; the label histogram; the first
 * HEAD's metadata; for a model, its layer table.  Fed one record at a
 * time, so a stream of any length takes little memory.  Printed as
 * aligned text or as one JSON object.  Program: bin/dl-info.c.
 */
#ifndef DL_SUMMARY_H
#define DL_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

struct dl_record;
struct dl_summary;

/* A summary of the stream that starts with head (its first HEAD, copied:
 * "kind" batches strips the batch dimension from shapes, model and stats
 * count parameters, not samples or labels), called name in the output
 * (copied; NULL: standard input, printed as "stdin", in JSON "-").  NULL
 * with dl_errmsg(). */
struct dl_summary *dl_summary_new(const char *name, const struct dl_record *head);

/* Count rec, a record that followed head: DATA (its tensors, and its
 * integer "y" as labels), HEAD (a later concatenated stream) or MARK
 * (epochs); other tags are ignored.  0 or -DL_ENOMEM. */
int dl_summary_add(struct dl_summary *s, const struct dl_record *rec);

/* After the last record; bytes: the stream's size (dl_reader_offset()).
 * A model's layers come from the plan of the net its HEAD's "net" and
 * "input" describe (dl_model_plan_head: no weights are allocated), else
 * from the parameter names.  Returns 0;
 * 1 when "net" could not be built, dl_errmsg() saying why (the caller may
 * warn: the layers came from the names); or -DL_ENOMEM.  Call it once,
 * before printing. */
int dl_summary_end(struct dl_summary *s, uint64_t bytes);

/* Write s to f: aligned text for people (names and values with control
 * characters as \xNN), or one line holding one JSON object.  0, or
 * -DL_EIO when f has its error flag set. */
int dl_summary_print_text(const struct dl_summary *s, FILE *f);
int dl_summary_print_json(const struct dl_summary *s, FILE *f);

void dl_summary_free(struct dl_summary *s);	/* NULL is fine */

/* s as a JSON string on f: in double quotes, " and \ escaped with a
 * backslash, control characters and DEL as \u00XX, other bytes as they
 * are (UTF-8 passes through).  dl-info and dl-eval --json use it. */
void dl_json_str(FILE *f, const char *s);

#endif
