// libpng 1.6 (Debian: libpng-dev). Only the simplified png_image API is used: it reports
// errors in png_image.message instead of longjmp-ing through Swift frames.
#include <png.h>

// The PNG_FORMAT_* and PNG_IMAGE_* macros are expressions Swift cannot import; mirror the
// ones we use as constants.
static const unsigned int artworker_png_format_rgb = PNG_FORMAT_RGB;
static const unsigned int artworker_png_image_version = PNG_IMAGE_VERSION;
static const unsigned int artworker_png_flag_16bit_srgb = PNG_IMAGE_FLAG_16BIT_sRGB;
static const unsigned int artworker_png_format_flag_alpha = PNG_FORMAT_FLAG_ALPHA;
static const unsigned int artworker_png_format_flag_color = PNG_FORMAT_FLAG_COLOR;
static const unsigned int artworker_png_format_flag_linear = PNG_FORMAT_FLAG_LINEAR;
static const unsigned int artworker_png_format_flag_colormap = PNG_FORMAT_FLAG_COLORMAP;
