#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>
#include "csystem.h"

int eb_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
