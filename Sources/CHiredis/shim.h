#ifndef FLASHD_CHIREDIS_SHIM_H
#define FLASHD_CHIREDIS_SHIM_H
// hiredis 0.14.1 (Debian 12). redisCommand is variadic and cannot be called from Swift;
// Swift uses redisCommandArgv / redisAppendCommandArgv, which are binary-safe too.
#include <hiredis/hiredis.h>
#endif
