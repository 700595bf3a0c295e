/*
 * stream.h - DLS v1, the tensor stream, byte by byte (man dl-stream(5) is
 * the user-facing specification).  All integers little-endian.  The public
 * reader/writer API is in formats/dls.h; this header is the layout and the
 * parse functions shared by the pipe reader, the file index and the fuzzer.
 *
 * stream header, 64 bytes:
 *   0  u8[8]  magic  89 44 4C 53 0D 0A 1A 0A  ("\x89DLS\r\n\x1a\n")
 *   8  u16    major  1: any other is refused
 *  10  u16    minor  0: any minor is read
 *  12  u32    flags  must-understand bits: none in 1.0, so 0
 *  16  u8[44] reserved, 0
 *  60  u32    header_crc  CRC-32C of bytes 0..59
 *
 * record header, 64 bytes, then prelude, then payload:
 *   0  u8[4]  tag    "HEAD" "DATA" "MARK" "ENDS" "ABRT"; lower-case first
 *                    letter = ancillary (skipped or forwarded), other upper-
 *                    case tags are critical and refused
 *   4  u32    flags  must be 0 in 1.0
 *   8  u64    seq    0 for HEAD, +1 per record, restarts in each stream
 *  16  u64    record_size   64 + prelude_size + payload size, multiple of 64
 *  24  u32    prelude_size  multiple of 64, <= the reader's limit
 *  28  u32    n_tensors
 *  32  u32    n_kv
 *  36  u32    marker        MARK: code != 0; other tags: 0
 *  40  u32    prelude_crc   CRC-32C of the prelude (padding included)
 *  44  u32    payload_crc   CRC-32C of the payload; 0 when empty
 *  48  u8[12] reserved, 0
 *  60  u32    header_crc    CRC-32C of bytes 0..59
 *
 * prelude: n_tensors descriptors, then n_kv entries, each 8-aligned, then
 * zero padding to a multiple of 64:
 *   descriptor: u8 dtype, u8 ndim (0..8), u16 name_len (1..255), u32 flags
 *               (0), u64 shape[ndim], name, zero padding to 8
 *   kv entry:   u32 key_len (1..255), u32 value_len, key, value (UTF-8),
 *               zero padding to 8
 * payload: tensor i starts at align64(end of tensor i-1), tensor 0 at 0;
 *   the payload is exactly align64(end of the last tensor) bytes; padding 0.
 */
#ifndef DL_STREAM_H
#define DL_STREAM_H

#include <stdint.h>

#include "dls.h"

#define DLS_MAGIC "\x89" "DLS\r\n\x1a\n"
#define DLS_MAJOR 1
#define DLS_MINOR 0
#define DLS_ALIGN 64
#define DLS_MAX_PRELUDE_CEILING (64u << 20)
#define DLS_DEFAULT_MAX_PRELUDE (1u << 20)
#define DLS_DEFAULT_MAX_RECORD (1ull << 30)
#define DLS_GROW_THRESHOLD (16u << 20)	/* payloads above: buffer grows as bytes arrive */
#define DLS_ZSTD_WINDOW_LOG_MAX 27	/* 128 MiB */

/* A record header, decoded. */
struct dls_rhdr {
	char tag[5];
	uint32_t flags;
	uint64_t seq;
	uint64_t record_size;
	uint32_t prelude_size;
	uint32_t n_tensors;
	uint32_t n_kv;
	uint32_t marker;
	uint32_t prelude_crc;
	uint32_t payload_crc;
};

/* Check a 64-byte stream header.  0 or -DL_EFORMAT with a message. */
int dls_stream_header_check(const uint8_t *b, int verify);
/* Decode and check a record header (CRC first, then every field and the
 * limits).  0 or -DL_EFORMAT. */
int dls_record_header_parse(const uint8_t *b, struct dls_rhdr *h, uint64_t max_record,
                            uint32_t max_prelude, int verify);
/* Parse rec->raw[0..prelude_size) into rec's tensors and KV (data pointers
 * set relative to a payload that follows the prelude in rec->raw) and check
 * the payload size the descriptors imply against the header's. */
int dls_prelude_parse(struct dl_record *rec, const struct dls_rhdr *h, int verify);
/* Check the payload in rec->raw: CRC (if verify), zero padding, bools. */
int dls_payload_check(const struct dl_record *rec, const struct dls_rhdr *h, int verify);
/* Name a foreign format from its first bytes ("gzip", "a .npy file"), or NULL. */
const char *dls_sniff_foreign(const uint8_t *b, size_t n);
/* A reader over bytes in memory (tests, fuzzing). */
struct dl_reader *dl_reader_memopen(const void *buf, size_t n, const char *name,
                                    const struct dl_reader_opts *o);
/* The record count and header layout of an encoding (writer side). */
void dls_put_stream_header(uint8_t *b);

static inline uint64_t dls_align64(uint64_t n) { return (n + 63) & ~(uint64_t)63; }

#endif
