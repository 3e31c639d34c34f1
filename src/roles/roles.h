/*
 * roles: one entry point per role of the chatd binary. `all` is the
 * embedded default: API, chat and presence in one process on one port,
 * with SQLite and the in-process bus. `api`, `chat`, `presence` and
 * `dispatcher` are the cluster roles (PostgreSQL, Redis, ZooKeeper, Kafka or Redis Streams).
 */
#ifndef CHATD_ROLES_H
#define CHATD_ROLES_H

#include "core/config.h"

/* Each runs until SIGINT/SIGTERM and returns the process exit code. */
int role_all_run(const chatd_config *cfg);
int role_api_run(const chatd_config *cfg);
int role_chat_run(const chatd_config *cfg);
int role_dispatcher_run(const chatd_config *cfg);
int role_presence_run(const chatd_config *cfg);

#endif
