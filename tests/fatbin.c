/*
 * tests/fatbin.c - what lib/libdlpipe-cuda.so carries for the GPU: every
 * CUDA file's fat binary holds machine code for sm_80 and sm_90 and PTX
 * for compute_90, which the driver compiles for any newer GPU (init
 * accepts every compute capability from 8.0; without PTX such a GPU fails
 * at the first own kernel, "no kernel image is available").  Reads the
 * ELF section .nv_fatbin itself (no GPU, no CUDA tools needed), and where
 * cuobjdump is found ($CUDA_HOME/bin or PATH) checks that its --list-ptx
 * names sm_90 PTX too.  Exits 77 when the library was not built.
 */
#include <elf.h>
#include <stdint.h>
#include <string.h>

#include "t.h"

#define FATBIN_MAGIC 0xBA55ED50u
enum { KIND_PTX = 1, KIND_ELF = 2 };

static unsigned char *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d = NULL;
	long len;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (d = malloc(len)) && fread(d, 1, len, f) == (size_t)len)
		*n = len;
	else
		free(d), d = NULL;
	fclose(f);
	return d;
}

static uint32_t
u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int
main(void)
{
	const char *path = getenv("DL_CUDA_LIB");
	char buf[4096];
	size_t n = 0, off = 0, size = 0;
	unsigned char *d;
	int wrappers = 0, ok_files = 0;

	if (!path || !*path) {
		snprintf(buf, sizeof buf, "%s/libdlpipe-cuda.so", DL_CUDA_LIBDIR);
		path = buf;
	}
	if (!(d = slurp(path, &n)))
		T_SKIP("no libdlpipe-cuda.so (built where nvcc is)");
	CHECK(n > sizeof(Elf64_Ehdr) && !memcmp(d, ELFMAG, SELFMAG));
	{
		Elf64_Ehdr eh;
		memcpy(&eh, d, sizeof eh);
		for (int i = 0; i < eh.e_shnum; i++) {
			Elf64_Shdr sh, str;
			memcpy(&sh, d + eh.e_shoff + (size_t)i * eh.e_shentsize, sizeof sh);
			memcpy(&str, d + eh.e_shoff + (size_t)eh.e_shstrndx * eh.e_shentsize, sizeof str);
			if (!strcmp((const char *)d + str.sh_offset + sh.sh_name, ".nv_fatbin"))
				off = sh.sh_offset, size = sh.sh_size;
		}
	}
	if (!size) {
		fprintf(stderr, "FAIL %s: no .nv_fatbin section\n", path);
		return 1;
	}
	/* wrappers (one per .cu file): magic, version, header size, fat size;
	 * then entries: kind (1 PTX, 2 ELF), header size, payload size, and
	 * the architecture (80, 90) at offset 28 */
	for (size_t p = off; p + 16 <= off + size;) {
		if (u32(d + p) != FATBIN_MAGIC) {
			p += 8;
			continue;
		}
		uint16_t hs;
		uint64_t fs;
		int has[3][2] = { { 0 } };	/* [sm80, sm90, other][elf, ptx] */

		memcpy(&hs, d + p + 6, 2);
		memcpy(&fs, d + p + 8, 8);
		for (size_t q = p + hs; q + 32 <= p + hs + fs && q + 32 <= n;) {
			uint16_t kind;
			uint32_t ehs = u32(d + q + 4), arch = u32(d + q + 28);
			uint64_t psz;

			memcpy(&kind, d + q, 2);
			memcpy(&psz, d + q + 8, 8);
			if (getenv("DL_TEST_VERBOSE"))
				fprintf(stderr, "file %d: %s %s_%u\n", wrappers + 1,
				    kind == KIND_PTX ? "ptx" : "elf", kind == KIND_PTX ? "compute" : "sm", arch);
			has[arch == 80 ? 0 : arch == 90 ? 1 : 2][kind == KIND_PTX] = 1;
			q += ehs + psz;
		}
		wrappers++;
		if (has[0][0] && has[1][0] && has[1][1])
			ok_files++;
		else
			fprintf(stderr, "FAIL CUDA file %d: sm_80 code %s, sm_90 code %s, compute_90 PTX %s\n",
			    wrappers, has[0][0] ? "yes" : "NO", has[1][0] ? "yes" : "NO",
			    has[1][1] ? "yes" : "NO"), t_failed++;
		p += hs + fs;
	}
	CHECK(wrappers >= 6);	/* backend conv dnn elem loss prec */
	fprintf(stderr, "%s: %d CUDA files, %d with sm_80 and sm_90 code and compute_90 PTX\n", path,
	    wrappers, ok_files);

	/* the vendor's tool, where there is one */
	{
		const char *ch = getenv("CUDA_HOME");
		char cmd[8400], line[512];
		FILE *f;
		int ptx90 = 0;

		snprintf(cmd, sizeof cmd, "{ %s/bin/cuobjdump --list-ptx '%s' || cuobjdump --list-ptx '%s'; } "
		    "2>/dev/null", ch && *ch ? ch : "/usr/local/cuda", path, path);
		if ((f = popen(cmd, "r"))) {
			int lines = 0;
			while (fgets(line, sizeof line, f)) {
				lines++;
				ptx90 += strstr(line, "sm_90") != NULL;
			}
			if (pclose(f) == 0 || lines) {
				fprintf(stderr, "cuobjdump --list-ptx: %d lines, %d sm_90 PTX\n", lines, ptx90);
				CHECK(ptx90 >= 6);
			} else
				fprintf(stderr, "no cuobjdump: the section read above is the check\n");
		}
	}
	free(d);
	T_DONE();
}
