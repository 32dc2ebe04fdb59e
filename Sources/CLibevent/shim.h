#ifndef EXECBRIDGE_CLIBEVENT_H
#define EXECBRIDGE_CLIBEVENT_H
/* System headers first: Debian's event-config.h defines _GNU_SOURCE, and if it is seen
   before these, fd_set is declared twice in different module contexts. */
#include <features.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <signal.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>

/* evsignal_new is a macro; Swift cannot import it. */
static inline struct event *eb_evsignal_new(struct event_base *base, int signum,
                                            event_callback_fn cb, void *arg) {
    return event_new(base, signum, EV_SIGNAL | EV_PERSIST, cb, arg);
}
#endif
