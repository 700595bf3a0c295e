/*
 * formats.h - bytes from elsewhere into tensors and back: IDX, PNG, NPY
 * and archives (formats/idx.c, png.c, npy.c, archive.c).  The tensor
 * stream itself is lib/dlpipe.h + formats/stream.c.
 */
#ifndef DL_FORMATS_H
#define DL_FORMATS_H

#endif
