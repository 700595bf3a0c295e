/*
 * fuzz-image.c - libFuzzer target for the image decoders dl-import uses
 * (formats/png.c, formats/jpeg.c through dl_image_decode) and --resize
 * (lib/resize.c): the first byte picks the channels asked for and whether
 * to resize; the rest is the file.  Every error must be a return with a
 * message, never a crash, a leak or an exit (libjpeg's error_exit).
 */
#include <stddef.h>
#include <stdint.h>

#include "dlpipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int channels[] = { 0, 1, 3, 0 };
	struct dl_tensor t;
	int sel;

	if (size < 1)
		return 0;
	sel = data[0];
	if (dl_image_decode(data + 1, size - 1, "fuzz", channels[sel & 3], 0, &t) < 0)
		return 0;
	if (t.nbytes)		/* touch the last byte handed out */
		(void)((volatile uint8_t *)t.data)[t.nbytes - 1];
	if (sel & 4)
		dl_image_resize(&t, 1 + (sel >> 3 & 7) * 5, 1 + (sel >> 6) * 9, sel & 8 ? DL_RESIZE_PAD : 0);
	dl_tensor_drop(&t);
	return 0;
}
