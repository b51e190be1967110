/* The `icegate run` process: listeners of the selected roles, signals, shutdown. */
#ifndef ICEGATE_SERVER_SERVER_H
#define ICEGATE_SERVER_SERVER_H

#include "icegate/config.h"

/* Runs until SIGTERM/SIGINT; returns the process exit status. */
int ig_server_run(const ig_config *cfg, int roles);

#endif
