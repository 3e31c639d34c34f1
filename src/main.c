/* chatd: parse the configuration and run the requested role. */
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "roles/roles.h"

int main(int argc, char **argv) {
    chatd_config cfg;
    int rc = config_parse(&cfg, argc, argv);
    if (rc != 0) return rc > 0 ? 0 : 2;
    log_set_level(cfg.log_level);
    if (!strcmp(cfg.role, "all")) return role_all_run(&cfg);
    fprintf(stderr,
            "chatd: unknown role '%s' (this build has: all; run `chatd --help`)\n", cfg.role);
    return 2;
}
