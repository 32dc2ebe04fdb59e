#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "csystem.h"

/*
 * Every child is vforked: it must call prctl(PR_SET_PDEATHSIG) and setsid() itself, which
 * posix_spawn cannot do (nor the setgroups/setgid/setuid of another user: POSIX_SPAWN_RESETIDS only
 * drops a set-uid bit).
 *
 * The gateway is multithreaded, so between fork and execve the child may only make
 * async-signal-safe calls: another thread may have held a lock (malloc, stdio, the dynamic loader)
 * at the moment of fork and the child would deadlock on it. The credentials are changed with raw
 * syscalls, not glibc's setuid(), because the glibc wrappers broadcast the change to all threads of
 * the process (a mechanism that is not meant to run in a freshly forked child). Exec failure
 * travels back through an O_CLOEXEC pipe: it closes on a successful exec (EOF in the parent) or
 * carries {step, errno}.
 *
 * Isolation, in the child:
 *  - setsid() always: the child leads a new session, so it has no controlling terminal unless it
 *    is given the session's own pty (TIOCSCTTY); a pipe child cannot open /dev/tty (ENXIO) even when
 *    the gateway runs on a terminal, and cannot TIOCSTI into it. The session id (== the child's pid)
 *    is also how the backend finds everything the session started.
 *  - PR_SET_PDEATHSIG(SIGKILL) after the credentials change (which would clear it), then getppid()
 *    compared with the gateway's pid: if the gateway died before the prctl, the child must not run.
 *    The signal follows the death of the forking *thread*: children are spawned on event loop
 *    threads, which live as long as the gateway.
 *  - PR_SET_NO_NEW_PRIVS for a child that runs as another user: no set-uid binary or file
 *    capability gives it back what the switch took away.
 */

struct spawn_failure {
    int step;
    int error;
};

/* Child side: report and leave without running any atexit handler or stdio flush. */
static void child_fail(int report_fd, int step) {
    struct spawn_failure failure = { step, errno };
    ssize_t n;
    do {
        n = write(report_fd, &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

static void child_close_from(int first, int last, long open_max) {
    if (first > last) return;
    if (syscall(SYS_close_range, (unsigned)first, (unsigned)last, 0u) == 0) return;
    for (long fd = first; fd <= last && fd < open_max; fd++) close((int)fd);
}

static int spawn_with_fork(const eb_spawn_request *r, pid_t *pid, int *failed_step) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        *failed_step = EB_SPAWN_STEP_FORK;
        return errno;
    }
    /* Computed before fork: sysconf is not async-signal-safe. */
    long open_max = sysconf(_SC_OPEN_MAX);
    if (open_max < 0 || open_max > 1 << 20) open_max = 1 << 20;
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigset_t all, none, saved;
    sigfillset(&all);
    sigemptyset(&none);
    /* Block everything across fork: no inherited handler (libevent's signal pipe writer, say)
     * may run in the child before the dispositions are reset. */
    pthread_sigmask(SIG_SETMASK, &all, &saved);

    pid_t parent = getpid();
    /* vfork: the child borrows the parent's memory until execve instead of copying its page
     * tables (and making every page the parent then writes take a copy-on-write fault), which cost
     * a large gateway about twice the CPU per session. That is sound here because the child makes
     * only raw system calls (its own signal dispositions and descriptor table: vfork shares
     * neither), never returns from this function, and every signal is blocked in the parent thread
     * that waits for it. */
    pid_t child = vfork();
    if (child == 0) {
        /* Async-signal-safe calls only from here to execve. */
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &default_action, NULL);
        if (setsid() < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
        if (r->tty_path) {
            int fd = open(r->tty_path, O_RDWR);
            if (fd < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            if (ioctl(fd, TIOCSCTTY, 0) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            for (int i = 0; i < 3; i++) {
                if (fd != i && dup2(fd, i) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            }
            if (fd > 2) close(fd);
        } else {
            for (int i = 0; i < 3; i++) {
                int fd = r->stdio[i];
                if (fd < 0) {
                    fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
                    if (fd < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
                    if (fd != i) {
                        if (dup2(fd, i) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
                        close(fd);
                    }
                } else if (fd == i) {
                    if (fcntl(fd, F_SETFD, 0) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
                } else if (dup2(fd, i) < 0) {
                    child_fail(report[1], EB_SPAWN_STEP_STDIO);
                }
            }
        }
        if (r->switch_user) {
            if (syscall(SYS_setgroups, r->ngroups, r->groups) != 0) child_fail(report[1], EB_SPAWN_STEP_CREDENTIALS);
            if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) != 0) child_fail(report[1], EB_SPAWN_STEP_CREDENTIALS);
            if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) != 0) child_fail(report[1], EB_SPAWN_STEP_CREDENTIALS);
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(report[1], EB_SPAWN_STEP_CREDENTIALS);
        }
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(report[1], EB_SPAWN_STEP_FORK);
        /* The gateway died between fork and prctl: nobody would ever end this child. */
        if (getppid() != parent) _exit(127);
        /* After the user switch, so the directory is entered with the user's permissions. */
        if (r->working_dir && chdir(r->working_dir) != 0) child_fail(report[1], EB_SPAWN_STEP_CHDIR);
        child_close_from(3, report[1] - 1, open_max);
        child_close_from(report[1] + 1, ~0u >> 1, open_max);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execve(r->path, r->argv, r->envp);
        child_fail(report[1], EB_SPAWN_STEP_EXEC);
    }

    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        *failed_step = EB_SPAWN_STEP_FORK;
        return fork_error;
    }
    struct spawn_failure failure;
    ssize_t n;
    do {
        n = read(report[0], &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        /* The child is about to _exit: reap it now, it never ran the command. */
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        *failed_step = failure.step;
        return failure.error != 0 ? failure.error : EIO;
    }
    *pid = child;
    return 0;
}

int eb_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int eb_spawn(const eb_spawn_request *request, pid_t *pid, int *failed_step) {
    *failed_step = EB_SPAWN_STEP_EXEC;
    return spawn_with_fork(request, pid, failed_step);
}
