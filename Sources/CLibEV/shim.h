#ifndef CLIBEV_SHIM_H
#define CLIBEV_SHIM_H
#include <ev.h>
#endif
