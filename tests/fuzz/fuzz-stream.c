/*
 * fuzz-stream.c - libFuzzer target for the DLS reader: every input is read
 * to its end (or first error) through the same code the programs use.
 * Built by `make fuzz` with -DDLS_FUZZING, which skips CRC comparisons so
 * mutations reach the structural checks (dl-stream(5), FORMAT.md 3.14).
 */
#include <stddef.h>
#include <stdint.h>

#include "dlpipe.h"
#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dl_reader_opts o = { .max_record = 64u << 20, .max_prelude = 1u << 20 };
	struct dl_reader *r = dl_reader_memopen(data, size, "fuzz", &o);
	struct dl_record *rec = dl_record_new(NULL);
	int rc;

	if (r && rec && dl_reader_head(r))
		while ((rc = dl_reader_next(r, rec)) > 0)
			for (int i = 0; i < rec->n_tensors; i++)	/* touch every byte handed out */
				if (rec->tensors[i].nbytes)
					(void)((volatile uint8_t *)rec->tensors[i].data)[rec->tensors[i].nbytes - 1];
	dl_record_free(rec);
	dl_reader_close(r);
	return 0;
}
