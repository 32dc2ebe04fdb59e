#include <malloc.h>
#include "csystem.h"

/* malloc.h does not reach Swift through Glibc. */
int eb_malloc_trim(void) {
    return malloc_trim(0);
}
