/*
 * guard.c - outputs that must not swallow data (lib/train.h): whether a
 * file an output operand names already holds a stream, so that a program
 * taking outputs as operands (dl-split OUT_A OUT_B [FILE]) refuses to
 * overwrite it without --force, whatever order the arguments came in.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "dlpipe.h"

int
dl_file_holds_stream(const char *path)
{
	static const unsigned char dls[8] = { 0x89, 'D', 'L', 'S', '\r', '\n', 0x1a, '\n' };
	static const unsigned char zst[4] = { 0x28, 0xb5, 0x2f, 0xfd };
	unsigned char b[8];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return 0;
	n = dl_file_regular(path) > 0 ? read(fd, b, sizeof b) : 0;
	close(fd);
	return (n >= 8 && !memcmp(b, dls, 8)) || (n >= 4 && !memcmp(b, zst, 4));
}
