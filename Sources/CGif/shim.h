// giflib 5.2 (Debian: libgif-dev): animated GIFs in and out. Its errors are return codes
// (no setjmp), and reading and writing go through callbacks, so no file is ever needed.
#include <gif_lib.h>
