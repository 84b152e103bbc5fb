// FFmpeg's libraries (Debian: libavformat-dev libavcodec-dev libswscale-dev libswresample-dev),
// for reading and writing clips in-process. We never run the `ffmpeg` program.
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/error.h>

// Error codes are macros built from errno values and FFERRTAG, which Swift does not import:
// one function per code we compare against, each exactly the macro.
static inline int artworker_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int artworker_averror_eof(void) { return AVERROR_EOF; }
static inline int artworker_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int artworker_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int64_t artworker_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int artworker_avseek_size(void) { return AVSEEK_SIZE; }
