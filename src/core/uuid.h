/*
 * uuid: random (version 4) UUIDs, used as channel ids.
 *
 * Randomness comes from libsodium's randombytes_buf (the OS CSPRNG);
 * sodium_init() is called on first use.
 */
#ifndef CHATD_UUID_H
#define CHATD_UUID_H

#define UUID_STR_LEN 37 /* 36 characters + NUL */

/* Write a lower-case, NUL-terminated UUID v4 such as
 * "1b4e28ba-2fa1-4d2e-883f-0016d3cca427" into out. Cannot fail. */
void uuid_v4(char out[37]);

#endif
