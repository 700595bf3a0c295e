/*
 * record.c - building and inspecting DLS records in memory: tensors and
 * key/values.  Encoding and decoding bytes is formats/stream.c.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dls.h"
#include "formats.h"

struct dl_record *
dl_record_new(const char *tag)
{
	struct dl_record *r = calloc(1, sizeof *r);

	if (!r) {
		dl_seterr(DL_ENOMEM, "out of memory");
		return NULL;
	}
	dl_record_clear(r, tag);
	return r;
}

static void
free_contents(struct dl_record *r)
{
	for (int i = 0; i < r->n_tensors; i++)
		if (r->tensors[i].owned)
			dl_free(r->tensors[i].data);
	for (int i = 0; i < r->n_kv; i++) {
		free(r->kv[i].key);
		free(r->kv[i].val);
	}
	r->n_tensors = r->n_kv = 0;
}

void
dl_record_clear(struct dl_record *r, const char *tag)
{
	free_contents(r);
	snprintf(r->tag, sizeof r->tag, "%s", tag ? tag : DL_TAG_DATA);
	r->marker = 0;
	r->raw_len = 0;
	r->raw_valid = 0;
}

void
dl_record_free(struct dl_record *r)
{
	if (!r)
		return;
	free_contents(r);
	free(r->tensors);
	free(r->kv);
	dl_free(r->raw);
	free(r);
}

int
dl_record_list_add(struct dl_record_list *l, struct dl_record *r)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 1024;
		struct dl_record **p = realloc(l->rec, cap * sizeof *p);
		if (!p)
			return dl_seterr(DL_ENOMEM, "out of memory");
		l->rec = p;
		l->cap = cap;
	}
	l->rec[l->n++] = r;
	return 0;
}

void
dl_record_list_free(struct dl_record_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		dl_record_free(l->rec[i]);
	free(l->rec);
	*l = (struct dl_record_list){ 0 };
}

int
dl_record_is(const struct dl_record *r, const char *tag)
{
	return !strcmp(r->tag, tag);
}

int
dl_record_is_mark(const struct dl_record *r, uint32_t code)
{
	return dl_record_is(r, DL_TAG_MARK) && r->marker == code;
}

/* A new tensor slot, checked; data not set. */
static struct dl_tensor *
slot(struct dl_record *r, const char *name, int dtype, int ndim, const uint64_t *shape)
{
	struct dl_tensor *t;
	uint64_t n = dl_dtype_size(dtype);

	if (!dl_name_valid(name, strlen(name))) {
		dl_seterr(DL_EUSAGE, "invalid tensor name '%.40s'", name);
		return NULL;
	}
	if (!n || ndim < 0 || ndim > DL_MAX_NDIM) {
		dl_seterr(DL_EUSAGE, "tensor %s: bad dtype 0x%x or ndim %d", name, dtype, ndim);
		return NULL;
	}
	for (int i = 0; i < ndim; i++)
		if (__builtin_mul_overflow(n, shape[i], &n) || n > ((uint64_t)1 << 62)) {
			dl_seterr(DL_ENOMEM, "tensor %s: size overflows", name);
			return NULL;
		}
	if (dl_record_find(r, name)) {
		dl_seterr(DL_EUSAGE, "duplicate tensor name '%s'", name);
		return NULL;
	}
	if (r->n_tensors == r->cap_tensors) {
		int cap = r->cap_tensors ? 2 * r->cap_tensors : 4;
		struct dl_tensor *nt = realloc(r->tensors, cap * sizeof *nt);
		if (!nt) {
			dl_seterr(DL_ENOMEM, "out of memory");
			return NULL;
		}
		r->tensors = nt;
		r->cap_tensors = cap;
	}
	t = &r->tensors[r->n_tensors];
	memset(t, 0, sizeof *t);
	strcpy(t->name, name);
	t->dtype = dtype;
	t->ndim = ndim;
	for (int i = 0; i < ndim; i++)
		t->shape[i] = shape[i];
	t->nbytes = n;
	return t;
}

struct dl_tensor *
dl_record_add(struct dl_record *r, const char *name, int dtype, int ndim, const uint64_t *shape)
{
	struct dl_tensor *t = slot(r, name, dtype, ndim, shape);

	if (!t || !(t->data = dl_alloc(t->nbytes)))
		return NULL;
	t->owned = 1;
	r->n_tensors++;
	r->raw_valid = 0;
	return t;
}

struct dl_tensor *
dl_record_add_ref(struct dl_record *r, const char *name, int dtype, int ndim,
                  const uint64_t *shape, void *data)
{
	struct dl_tensor *t = slot(r, name, dtype, ndim, shape);

	if (!t)
		return NULL;
	t->data = data;
	r->n_tensors++;
	r->raw_valid = 0;
	return t;
}

struct dl_tensor *
dl_record_find(const struct dl_record *r, const char *name)
{
	for (int i = 0; i < r->n_tensors; i++)
		if (!strcmp(r->tensors[i].name, name))
			return &r->tensors[i];
	return NULL;
}

int
dl_record_remove(struct dl_record *r, const char *name)
{
	struct dl_tensor *t = dl_record_find(r, name);

	if (!t)
		return dl_seterr(DL_EUSAGE, "no tensor '%s'", name);
	if (t->owned)
		dl_free(t->data);
	memmove(t, t + 1, (r->tensors + r->n_tensors - t - 1) * sizeof *t);
	r->n_tensors--;
	r->raw_valid = 0;
	return 0;
}

static struct dl_kv *
kv_find(const struct dl_record *r, const char *key)
{
	for (int i = 0; i < r->n_kv; i++)
		if (!strcmp(r->kv[i].key, key))
			return &r->kv[i];
	return NULL;
}

/* Set key to val[0..len); len bytes, may hold no NUL. */
static int
set_len(struct dl_record *r, const char *key, const char *val, size_t len)
{
	struct dl_kv *kv = kv_find(r, key);
	char *v;

	if (!dl_name_valid(key, strlen(key)))
		return dl_seterr(DL_EUSAGE, "invalid key '%.40s'", key);
	if (!(v = malloc(len + 1)))
		return dl_seterr(DL_ENOMEM, "out of memory");
	memcpy(v, val, len);
	v[len] = 0;
	if (!kv) {
		if (r->n_kv == r->cap_kv) {
			int cap = r->cap_kv ? 2 * r->cap_kv : 4;
			struct dl_kv *nk = realloc(r->kv, cap * sizeof *nk);
			if (!nk) {
				free(v);
				return dl_seterr(DL_ENOMEM, "out of memory");
			}
			r->kv = nk;
			r->cap_kv = cap;
		}
		kv = &r->kv[r->n_kv];
		if (!(kv->key = strdup(key))) {
			free(v);
			return dl_seterr(DL_ENOMEM, "out of memory");
		}
		r->n_kv++;
	} else {
		free(kv->val);
	}
	kv->val = v;
	kv->val_len = len;
	r->raw_valid = 0;
	return 0;
}

int
dl_record_set(struct dl_record *r, const char *key, const char *val)
{
	return set_len(r, key, val, strlen(val));
}

int
dl_record_setf(struct dl_record *r, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, rc;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return dl_seterr(DL_ENOMEM, "out of memory");
	rc = set_len(r, key, s, (size_t)n);
	free(s);
	return rc;
}

const char *
dl_record_get(const struct dl_record *r, const char *key)
{
	struct dl_kv *kv = kv_find(r, key);

	return kv ? kv->val : NULL;
}

int
dl_record_unset(struct dl_record *r, const char *key)
{
	struct dl_kv *kv = kv_find(r, key);

	if (!kv)
		return 0;
	free(kv->key);
	free(kv->val);
	memmove(kv, kv + 1, (r->kv + r->n_kv - kv - 1) * sizeof *kv);
	r->n_kv--;
	r->raw_valid = 0;
	return 0;
}

int
dl_record_copy(struct dl_record *dst, const struct dl_record *src)
{
	if (dst == src)
		return 0;
	dl_record_clear(dst, src->tag);
	dst->marker = src->marker;
	for (int i = 0; i < src->n_tensors; i++) {
		const struct dl_tensor *s = &src->tensors[i];
		struct dl_tensor *t = dl_record_add(dst, s->name, s->dtype, s->ndim, s->shape);
		if (!t)
			return -DL_ENOMEM;
		memcpy(t->data, s->data, s->nbytes);
	}
	for (int i = 0; i < src->n_kv; i++)
		if (set_len(dst, src->kv[i].key, src->kv[i].val, src->kv[i].val_len) < 0)
			return -DL_ENOMEM;
	if (src->raw_valid && src->raw_len) {
		/* keep the bytes too, so a copied record can still go out verbatim */
		void *raw = dl_alloc(src->raw_len);
		if (!raw)
			return -DL_ENOMEM;
		memcpy(raw, src->raw, src->raw_len);
		dl_free(dst->raw);
		dst->raw = raw;
		dst->raw_cap = dst->raw_len = src->raw_len;
		dst->prelude_size = src->prelude_size;
		dst->prelude_crc = src->prelude_crc;
		dst->payload_crc = src->payload_crc;
		dst->raw_valid = 1;
	}
	return 0;
}

int
dl_record_replace(struct dl_record *dst, const struct dl_record *src, const char *name,
                  int dtype, int ndim, const uint64_t *shape, void *data)
{
	const struct dl_tensor *t = dl_record_find(src, name);
	int rc;

	if (!t)
		return dl_seterr(DL_EUSAGE, "no tensor '%s'", name);
	if (dst == src)
		return dl_seterr(DL_EUSAGE, "dl_record_replace: dst is src");
	dl_record_clear(dst, src->tag);
	dst->marker = src->marker;
	for (int i = 0; i < src->n_tensors; i++) {
		const struct dl_tensor *s = &src->tensors[i];

		if (!(s == t ? dl_record_add_ref(dst, s->name, dtype, ndim, shape, data)
		             : dl_record_add_ref(dst, s->name, s->dtype, s->ndim, s->shape, s->data)))
			return -DL_ENOMEM;
	}
	for (int i = 0; i < src->n_kv; i++)
		if ((rc = set_len(dst, src->kv[i].key, src->kv[i].val, src->kv[i].val_len)) < 0)
			return rc;
	return 0;
}
