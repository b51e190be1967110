#ifndef ICEGATE_VERSION_H
#define ICEGATE_VERSION_H
#define IG_VERSION "0.1.0-dev"
#endif
