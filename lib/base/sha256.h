/*
 * sha256: SHA-256 (FIPS 180-4), for fingerprints of encodings and data and
 * the checksums of model files that the registry keeps.
 */
#ifndef TP_SHA256_H
#define TP_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint32_t h[8];       /* the chaining state */
	uint64_t len;        /* bytes hashed so far */
	unsigned char buf[64]; /* a partial block */
} tp_sha256;

void tp_sha256_init(tp_sha256 *s);
void tp_sha256_update(tp_sha256 *s, const void *p, size_t len);
void tp_sha256_final(tp_sha256 *s, unsigned char out[32]);
/* The compression runs on the CPU's SHA instructions where it has them;
 * with yes, on the portable code instead (for the tests, which check that
 * both agree). Not thread-safe: call it before hashing starts. */
void tp_sha256_use_portable(int yes);
/* The digest as 64 lower-case hex digits and a NUL. */
void tp_sha256_hex(const unsigned char digest[32], char out[65]);
/* The hex digest of len bytes at p. */
void tp_sha256_hex_of(const void *p, size_t len, char out[65]);

#endif
