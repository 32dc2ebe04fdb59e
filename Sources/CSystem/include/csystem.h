#ifndef EXECBRIDGE_CSYSTEM_H
#define EXECBRIDGE_CSYSTEM_H
#include <sys/types.h>
int eb_pidfd_open(pid_t pid);
#endif
