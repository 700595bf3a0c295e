/*
 * dlpipe.h - the one public header of libdlpipe: it includes the parts,
 * each with a header of its own.  The base layer (errors, memory, dtypes
 * and tensors, random numbers, atomic files) is lib/base/base.h; tensor
 * streams (DLS v1, man dl-stream(5)) are formats/dls.h, with the byte
 * layout in formats/stream.h; the program kit of bin/ (messages, exits,
 * flags; lib/libdlpipe-kit.a) is lib/kit/kit.h.  The network, backend,
 * image and statistics parts follow.
 */
#ifndef DLPIPE_H
#define DLPIPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base.h"
#include "dls.h"
#include "kit.h"

#ifdef __cplusplus
extern "C" {		/* cuda/ is compiled as C++ */
#endif

/* ---- other parts ---------------------------------------------------------- */
#include "formats.h"
#include "net.h"
#include "image.h"
#include "stats.h"
#include "explain.h"
#include "export.h"
#include "import.h"
#include "hold.h"
#include "train.h"
#include "plot.h"
#include "summary.h"
#include "model.h"
#include "onnx.h"
#include "select.h"

#ifdef __cplusplus
}
#endif

#endif
