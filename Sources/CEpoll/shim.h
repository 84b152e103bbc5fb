// Linux's epoll (part of glibc; no library to link). Swift's Glibc module leaves
// <sys/epoll.h> out, so the HTTP server's event loops import it through this module.
#include <sys/epoll.h>
