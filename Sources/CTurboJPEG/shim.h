// libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev). Unlike the classic libjpeg API it
// reports errors through return codes instead of longjmp, which Swift cannot survive.
#include <stddef.h>
#include <turbojpeg.h>
