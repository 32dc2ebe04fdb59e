#ifndef EXECBRIDGE_CZLIB_H
#define EXECBRIDGE_CZLIB_H
#include <zlib.h>
/* deflateInit/inflateInit are macros; Swift cannot import them. */
static inline int eb_deflate_init(z_streamp strm, int level) {
    return deflateInit(strm, level);
}
static inline int eb_deflate_init2(z_streamp strm, int level, int method, int windowBits,
                                   int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
static inline int eb_inflate_init(z_streamp strm) {
    return inflateInit(strm);
}
#endif
