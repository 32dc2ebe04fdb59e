#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "csystem.h"

/*
 * Two ways to start a child.
 *
 * Normally posix_spawn: glibc runs it with clone(CLONE_VM | CLONE_VFORK), so it is cheap in a
 * large multithreaded process, and it reports exec failures as its return value.
 *
 * To run as another user the child must call setgroups/setgid/setuid, which posix_spawn cannot do
 * (POSIX_SPAWN_RESETIDS only drops a set-uid bit). Then we fork. The gateway is multithreaded, so
 * between fork and execve the child may only make async-signal-safe calls: another thread may have
 * held a lock (malloc, stdio, the dynamic loader) at the moment of fork and the child would
 * deadlock on it. The credentials are changed with raw syscalls, not glibc's setuid(), because the
 * glibc wrappers broadcast the change to all threads of the process (a mechanism that is not meant
 * to run in a freshly forked child). Exec failure travels back through an O_CLOEXEC pipe: it closes
 * on a successful exec (EOF in the parent) or carries {step, errno}.
 */

struct spawn_failure {
    int step;
    int error;
};

static int spawn_without_fork(const eb_spawn_request *r, pid_t *pid, int *failed_step) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    int err = posix_spawnattr_init(&attr);
    if (err != 0) {
        *failed_step = EB_SPAWN_STEP_FORK;
        return err;
    }
    err = posix_spawn_file_actions_init(&actions);
    if (err != 0) {
        posix_spawnattr_destroy(&attr);
        *failed_step = EB_SPAWN_STEP_FORK;
        return err;
    }

    /* Every signal back to its default (the gateway ignores SIGPIPE, which a child would
     * otherwise inherit) and nothing blocked. */
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    /* A tty child leads a new session (so the slave becomes its controlling terminal); a pipe
     * child leads a new process group, so that terminate can signal the whole pipeline. */
    flags |= r->tty_path ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
    if (err == 0) err = posix_spawnattr_setflags(&attr, flags);
    if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
    if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);
    if (err == 0) err = posix_spawnattr_setpgroup(&attr, 0);

    if (err == 0 && r->working_dir) err = posix_spawn_file_actions_addchdir_np(&actions, r->working_dir);
    if (r->tty_path) {
        /* Opened without O_NOCTTY by a session leader with no terminal: Linux makes it the
         * controlling terminal. */
        if (err == 0) err = posix_spawn_file_actions_addopen(&actions, 0, r->tty_path, O_RDWR, 0);
        if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, 0, 1);
        if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, 0, 2);
    } else {
        for (int i = 0; i < 3 && err == 0; i++) {
            if (r->stdio[i] >= 0) {
                err = posix_spawn_file_actions_adddup2(&actions, r->stdio[i], i);
            } else {
                err = posix_spawn_file_actions_addopen(&actions, i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
            }
        }
    }
    /* Whatever another part of the gateway opened without O_CLOEXEC stays out of the child. */
    if (err == 0) err = posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    if (err == 0) {
        err = posix_spawn(pid, r->path, &actions, &attr, r->argv, r->envp);
        if (err != 0) *failed_step = EB_SPAWN_STEP_EXEC;
    } else {
        *failed_step = EB_SPAWN_STEP_FORK;
    }
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return err;
}

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

    pid_t child = fork();
    if (child == 0) {
        /* Async-signal-safe calls only from here to execve. */
        for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &default_action, NULL);
        if (r->tty_path) {
            if (setsid() < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            int fd = open(r->tty_path, O_RDWR);
            if (fd < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            if (ioctl(fd, TIOCSCTTY, 0) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            for (int i = 0; i < 3; i++) {
                if (fd != i && dup2(fd, i) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
            }
            if (fd > 2) close(fd);
        } else {
            if (setpgid(0, 0) < 0) child_fail(report[1], EB_SPAWN_STEP_STDIO);
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
        }
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
    if (request->switch_user) return spawn_with_fork(request, pid, failed_step);
    return spawn_without_fork(request, pid, failed_step);
}
