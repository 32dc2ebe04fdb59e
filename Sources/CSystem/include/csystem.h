#ifndef EXECBRIDGE_CSYSTEM_H
#define EXECBRIDGE_CSYSTEM_H
/* Process, pty and pidfd helpers for the local backend. The .c files define _GNU_SOURCE
 * privately; this header must not (Swift imports it next to the system modules). */
#include <stddef.h>
#include <sys/types.h>

/* A pidfd for `pid` (readable once the process has exited), or -1 with errno. */
int eb_pidfd_open(pid_t pid);

/* ---- Pseudo-terminals ---- */

/* Opens a pty master (O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK), grants and unlocks it and
 * writes the slave's path into `slave_name`. Returns the master fd, or -1 with errno. */
int eb_pty_open(char *slave_name, size_t name_len);
/* TIOCSWINSZ / TIOCGWINSZ (ioctl is variadic and does not import). 0, or -1 with errno. */
int eb_pty_set_size(int fd, unsigned short rows, unsigned short cols);
int eb_pty_get_size(int fd, unsigned short *rows, unsigned short *cols);
/* The terminal's end-of-file character (c_cc[VEOF]), or ^D when it cannot be read. */
int eb_pty_eof_char(int fd);

/* ---- Wait statuses (macros do not import) ---- */
int eb_wifexited(int status);
int eb_wexitstatus(int status);
int eb_wifsignaled(int status);
int eb_wtermsig(int status);

/* ---- Spawning ---- */

/* pipe2(fds, O_CLOEXEC): no child spawned by another thread meanwhile inherits either end. */
int eb_pipe_cloexec(int fds[2]);

/* Which step of starting the child failed (for the error message). */
enum {
    EB_SPAWN_STEP_EXEC = 0,       /* execve itself (or posix_spawn as a whole) */
    EB_SPAWN_STEP_FORK = 1,       /* fork / pipe in the parent */
    EB_SPAWN_STEP_STDIO = 2,      /* opening the terminal or /dev/null, dup2 */
    EB_SPAWN_STEP_CREDENTIALS = 3,/* setgroups / setgid / setuid */
    EB_SPAWN_STEP_CHDIR = 4,      /* the working directory */
};

typedef struct eb_spawn_request {
    /* Resolved executable path (no PATH search happens here). */
    const char *path;
    /* NULL-terminated. */
    char *const *argv;
    char *const *envp;
    /* NULL: keep the gateway's directory. */
    const char *working_dir;
    /* Descriptors that become the child's 0, 1, 2; -1 means /dev/null. Ignored with tty_path. */
    int stdio[3];
    /* Non-NULL: the pty slave to open as 0/1/2 and make the controlling terminal of the child's
     * new session. NULL: the child leads a new session without a controlling terminal. */
    const char *tty_path;
    /* Non-zero: become uid/gid with `groups` before exec (the gateway must be root); the child
     * also gets PR_SET_NO_NEW_PRIVS. */
    int switch_user;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    size_t ngroups;
} eb_spawn_request;

/* Starts the child in a new session (its pid is its session id), with PR_SET_PDEATHSIG(SIGKILL).
 * Returns 0 and sets *pid, or returns an errno and sets *failed_step (one of EB_SPAWN_STEP_*);
 * a child that failed to exec has already been reaped. */
int eb_spawn(const eb_spawn_request *request, pid_t *pid, int *failed_step);

/* ---- Reaping what sessions leave behind ---- */

/* prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are re-parented to this process. */
int eb_become_subreaper(void);
/* pidfd_send_signal(fd, sig): 0, or -1 with errno. */
int eb_pidfd_send_signal(int fd, int sig);
/* waitid(P_PID, pid, WEXITED | WNOHANG): 1 when it was reaped, 0 when it has not exited, -1 with
 * errno. */
int eb_reap_nohang(pid_t pid);

typedef struct eb_proc_entry {
    pid_t pid;
    pid_t ppid;
    pid_t pgrp;
    pid_t sid;
    /* 'R', 'S', 'Z', ... from /proc/PID/stat. */
    char state;
} eb_proc_entry;

/* /proc/PID/stat of one process. 0, or -1 (gone, or not parseable). */
int eb_proc_read(pid_t pid, eb_proc_entry *entry);
/* Every process in /proc, up to `capacity` written to `entries`. Returns how many exist (may be
 * more than `capacity`: call again with more room), or -1 with errno. */
long eb_proc_list(eb_proc_entry *entries, size_t capacity);
/* The processes below `root` (not root itself), found through /proc/PID/task/TID/children: the
 * cost follows the gateway's own subtree, not the machine's process count. Returns how many there
 * are (may exceed capacity), or -1 when the children lists cannot be read. */
long eb_proc_list_descendants(pid_t root, eb_proc_entry *entries, size_t capacity);

/* ---- Memory ---- */

/* malloc_trim(0): give every whole free page of every malloc arena back to the system. 1 if any was. */
int eb_malloc_trim(void);

#endif
