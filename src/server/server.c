/* Placeholder until the listeners land in this file (same session). */
#include <stdio.h>
#include "server/server.h"

int ig_server_run(const ig_config *cfg, int roles)
{
    (void)cfg;
    (void)roles;
    fprintf(stderr, "icegate run: listeners not built yet\n");
    return 1;
}
