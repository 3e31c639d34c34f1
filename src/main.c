/* chatd: parse the configuration and run the requested role. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "core/config.h"
#include "core/log.h"
#include "roles/roles.h"

int main(int argc, char **argv) {
    chatd_config cfg;
    int rc = config_parse(&cfg, argc, argv);
    if (rc != 0) return rc > 0 ? 0 : 2;
    log_set_level(cfg.log_level);
    /* Every client is a file descriptor: use all the kernel allows us. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        struct rlimit want = {1u << 20, 1u << 20}; /* allowed when privileged */
        if (rl.rlim_max < want.rlim_max && setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) log_warn("could not raise the open-file limit");
    }
    if (!strcmp(cfg.role, "all")) return role_all_run(&cfg);
    if (!strcmp(cfg.role, "api")) return role_api_run(&cfg);
    if (!strcmp(cfg.role, "chat")) return role_chat_run(&cfg);
    if (!strcmp(cfg.role, "dispatcher")) return role_dispatcher_run(&cfg);
    if (!strcmp(cfg.role, "presence")) return role_presence_run(&cfg);
    fprintf(stderr,
            "chatd: unknown role '%s' (all, api, chat, presence, dispatcher; see `chatd --help`)\n",
            cfg.role);
    return 2;
}
