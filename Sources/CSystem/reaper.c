#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "csystem.h"

int eb_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int eb_pidfd_send_signal(int fd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

int eb_reap_nohang(pid_t pid) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int result;
    do {
        result = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG);
    } while (result < 0 && errno == EINTR);
    if (result < 0) return -1;
    return info.si_pid == pid ? 1 : 0;
}

int eb_proc_read(pid_t pid, eb_proc_entry *entry) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buffer[1024];
    ssize_t n;
    do {
        n = read(fd, buffer, sizeof buffer - 1);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) return -1;
    buffer[n] = 0;
    /* The command name is in parentheses and may itself hold ')' or spaces: fields follow the last one. */
    char *close_paren = strrchr(buffer, ')');
    if (!close_paren || close_paren[1] != ' ') return -1;
    char state;
    int ppid, pgrp, sid;
    if (sscanf(close_paren + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) != 4) return -1;
    entry->pid = pid;
    entry->ppid = ppid;
    entry->pgrp = pgrp;
    entry->sid = sid;
    entry->state = state;
    return 0;
}

long eb_proc_list(eb_proc_entry *entries, size_t capacity) {
    DIR *dir = opendir("/proc");
    if (!dir) return -1;
    long count = 0;
    struct dirent *d;
    while ((d = readdir(dir)) != NULL) {
        char *end;
        long pid = strtol(d->d_name, &end, 10);
        if (*end != 0 || pid <= 0) continue;
        eb_proc_entry entry;
        if (eb_proc_read((pid_t)pid, &entry) != 0) continue;
        if ((size_t)count < capacity) entries[count] = entry;
        count++;
    }
    closedir(dir);
    return count;
}

/* Appends the children listed in one /proc/PID/task/TID/children file to the queue. */
static int queue_children(const char *path, pid_t **queue, size_t *count, size_t *room) {
    FILE *file = fopen(path, "re");
    if (!file) return errno == ENOENT || errno == ESRCH ? 0 : -1;
    long child;
    while (fscanf(file, "%ld", &child) == 1) {
        if (*count == *room) {
            size_t grown = *room * 2;
            pid_t *larger = realloc(*queue, grown * sizeof **queue);
            if (!larger) {
                fclose(file);
                return -1;
            }
            *queue = larger;
            *room = grown;
        }
        (*queue)[(*count)++] = (pid_t)child;
    }
    fclose(file);
    return 0;
}

long eb_proc_list_descendants(pid_t root, eb_proc_entry *entries, size_t capacity) {
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)root, (int)root);
    if (access(path, R_OK) != 0) return -1; /* a kernel without CONFIG_PROC_CHILDREN */
    size_t room = 256, queued = 0, next = 0;
    pid_t *queue = malloc(room * sizeof *queue);
    if (!queue) return -1;
    queue[queued++] = root;
    long count = 0;
    int failed = 0;
    while (next < queued && !failed) {
        pid_t pid = queue[next++];
        if (pid != root) {
            eb_proc_entry entry;
            if (eb_proc_read(pid, &entry) != 0) continue; /* gone meanwhile */
            if ((size_t)count < capacity) entries[count] = entry;
            count++;
        }
        /* Children belong to the thread that forked them (or adopted them, for a subreaper). */
        snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
        DIR *tasks = opendir(path);
        if (!tasks) {
            if (pid == root) failed = 1;
            continue;
        }
        struct dirent *d;
        while ((d = readdir(tasks)) != NULL && !failed) {
            char *end;
            long tid = strtol(d->d_name, &end, 10);
            if (*end != 0 || tid <= 0) continue;
            snprintf(path, sizeof path, "/proc/%d/task/%ld/children", (int)pid, tid);
            if (queue_children(path, &queue, &queued, &room) != 0) failed = 1;
        }
        closedir(tasks);
    }
    free(queue);
    return failed ? -1 : count;
}
