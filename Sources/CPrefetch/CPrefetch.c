// The header's one function is `static inline`: this file only gives SwiftPM a source file to build the target from.
#include "CPrefetch.h"
