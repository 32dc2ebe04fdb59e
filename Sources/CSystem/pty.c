#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include "csystem.h"

int eb_pty_open(char *slave_name, size_t name_len) {
    /* O_CLOEXEC so that no other child (spawned from any thread) inherits the master. */
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return -1;
    int err = 0;
    if (grantpt(fd) != 0 || unlockpt(fd) != 0) {
        err = errno;
    } else {
        err = ptsname_r(fd, slave_name, name_len); /* returns the error number itself */
    }
    if (err == 0) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) err = errno;
    }
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

int eb_pty_set_size(int fd, unsigned short rows, unsigned short cols) {
    struct winsize size = { .ws_row = rows, .ws_col = cols };
    return ioctl(fd, TIOCSWINSZ, &size);
}

int eb_pty_get_size(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *cols = size.ws_col;
    return 0;
}

int eb_pty_eof_char(int fd) {
    /* On the master, tcgetattr reports the slave's settings (what the child's line discipline uses). */
    struct termios settings;
    if (tcgetattr(fd, &settings) == 0 && settings.c_cc[VEOF] != _POSIX_VDISABLE) {
        return settings.c_cc[VEOF];
    }
    return 4; /* ^D */
}
