#ifndef FLASHD_CSYSTEMD_SHIM_H
#define FLASHD_CSYSTEMD_SHIM_H
// sd_notifyf and sd_journal_send are variadic: Swift calls sd_notify and sd_journal_sendv.
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
