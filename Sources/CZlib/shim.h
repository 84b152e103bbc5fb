// zlib (Debian: zlib1g-dev): deflate/gzip for HTTP responses and PNG test fixtures.
#include <zlib.h>
