/* chatd: parse the configuration and run the requested role. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/alloc.h"
#include "core/config.h"
#include "core/log.h"
#include "roles/roles.h"

int main(int argc, char **argv) {
    alloc_tune_for_server();
    signal(SIGHUP, SIG_IGN); /* until the loop handles it: a reload during start-up is moot */
    chatd_config cfg;
    int rc = config_parse(&cfg, argc, argv);
    if (rc != 0) {
        config_free(&cfg);
        return rc > 0 ? 0 : 2;
    }
    log_set_level(cfg.log_level);
    log_set_format(cfg.log_format);
    log_set_role(cfg.role);
    /* Every client is a file descriptor: use all the kernel allows us. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        struct rlimit want = {1u << 20, 1u << 20}; /* allowed when privileged */
        if (rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) log_warn("could not raise the open-file limit");
    }
    if (cfg.config_file) log_info("configuration file %s", cfg.config_file);
    if (!strcmp(cfg.role, "all"))
        rc = role_all_run(&cfg);
    else if (!strcmp(cfg.role, "api"))
        rc = role_api_run(&cfg);
    else if (!strcmp(cfg.role, "chat"))
        rc = role_chat_run(&cfg);
    else if (!strcmp(cfg.role, "dispatcher"))
        rc = role_dispatcher_run(&cfg);
    else if (!strcmp(cfg.role, "presence"))
        rc = role_presence_run(&cfg);
    else {
        fprintf(
            stderr,
            "chatd: unknown role '%s' (all, api, chat, presence, dispatcher; see `chatd --help`)\n",
            cfg.role);
        rc = 2;
    }
    config_free(&cfg);
    return rc;
}
