/*
 * record.c - dl_record_replace(): one tensor swapped, the rest of the
 * record (order, tag, marker, KV, borrowed data) as it was.
 */
#include <string.h>

#include "dlpipe.h"
#include "t.h"

int
main(void)
{
	uint64_t s3[3] = { 2, 3, 1 }, s0[1] = { 0 }, s2[2] = { 4, 4 };
	struct dl_record *src = dl_record_new(DL_TAG_DATA), *dst = dl_record_new(NULL);
	struct dl_tensor *x, *y, *id;
	float buf[16];

	CHECK(src && dst);
	CHECK((id = dl_record_add(src, "id", DL_U8, 1, (uint64_t[]){ 5 })) != NULL);
	CHECK((x = dl_record_add(src, "x", DL_U8, 3, s3)) != NULL);
	CHECK((y = dl_record_add(src, "y", DL_I32, 0, s0)) != NULL);
	CHECK(dl_record_set(src, "k1", "v1") == 0 && dl_record_set(src, "k2", "") == 0);
	src->marker = 7;
	dl_record_set(dst, "stale", "1");	/* dst is cleared first */

	CHECK(dl_record_replace(dst, src, "x", DL_F32, 2, s2, buf) == 0);
	CHECK(!strcmp(dst->tag, "DATA") && dst->marker == 7);
	CHECK(dst->n_tensors == 3);
	CHECK(!strcmp(dst->tensors[0].name, "id") && !strcmp(dst->tensors[1].name, "x") &&
	    !strcmp(dst->tensors[2].name, "y"));
	CHECK(dst->tensors[0].data == id->data && dst->tensors[0].dtype == DL_U8 &&
	    dst->tensors[0].shape[0] == 5 && !dst->tensors[0].owned);
	CHECK(dst->tensors[1].data == buf && dst->tensors[1].dtype == DL_F32 &&
	    dst->tensors[1].ndim == 2 && dst->tensors[1].shape[0] == 4 &&
	    dst->tensors[1].shape[1] == 4 && dst->tensors[1].nbytes == 64 && !dst->tensors[1].owned);
	CHECK(dst->tensors[2].data == y->data && dst->tensors[2].ndim == 0);
	CHECK(dst->n_kv == 2 && !strcmp(dst->kv[0].key, "k1") && !strcmp(dst->kv[1].key, "k2"));
	CHECK(!strcmp(dl_record_get(dst, "k1"), "v1") && !strcmp(dl_record_get(dst, "k2"), ""));
	CHECK(!dl_record_get(dst, "stale"));
	/* src untouched */
	CHECK(src->n_tensors == 3 && src->tensors[1].dtype == DL_U8 && src->tensors[1].data == x->data);

	CHECK(dl_record_replace(dst, src, "z", DL_F32, 2, s2, buf) == -DL_EUSAGE);
	CHECK(strstr(dl_errmsg(), "'z'") != NULL);
	CHECK(dl_record_replace(src, src, "x", DL_F32, 2, s2, buf) == -DL_EUSAGE);
	CHECK(src->n_tensors == 3 && src->tensors[1].data == x->data);
	dl_record_free(dst);
	dl_record_free(src);
	T_DONE();
}
