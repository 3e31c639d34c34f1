/*
 * roles: one entry point per role of the chatd binary. `all` is the
 * embedded default: API, chat and presence in one process on one port,
 * with SQLite and the in-process bus.
 */
#ifndef CHATD_ROLES_H
#define CHATD_ROLES_H

#include "core/config.h"

/* Runs until SIGINT/SIGTERM; returns the process exit code. */
int role_all_run(const chatd_config *cfg);

#endif
