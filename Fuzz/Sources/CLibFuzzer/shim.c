// SwiftPM wants at least one source file in a C target; the driver itself is compiler-rt's.
#include "CLibFuzzer.h"
