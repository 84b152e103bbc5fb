// libpq, PostgreSQL's own client library (Debian: libpq-dev). Its calls return status codes and
// result objects instead of jumping: usable from Swift as they are.
#include <postgresql/libpq-fe.h>
