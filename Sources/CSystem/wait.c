#include <sys/wait.h>
#include "csystem.h"

int eb_wifexited(int status) { return WIFEXITED(status); }
int eb_wexitstatus(int status) { return WEXITSTATUS(status); }
int eb_wifsignaled(int status) { return WIFSIGNALED(status); }
int eb_wtermsig(int status) { return WTERMSIG(status); }
