// libxcrypt (Debian: libcrypt-dev): bcrypt ("$2b$") via crypt_gensalt_rn and crypt_r.
// Glibc's Swift module does not expose <crypt.h>, hence this target.
#include <crypt.h>
