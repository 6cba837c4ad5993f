/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, as in iSCSI, ext4
 * and SCTP): the checksum of every checkpoint section and header. Castagnoli
 * rather than zlib's CRC-32 because its polynomial detects more error
 * patterns at the lengths we store, and it is the one hardware computes
 * (SSE4.2, ARMv8) should saving ever become hot. Software, table-driven
 * (slicing-by-8), any alignment, the same on every host byte order. */
#ifndef CSCALP_UTIL_CRC32C_H
#define CSCALP_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of the n bytes at p appended to a stream whose CRC-32C so far
 * is crc; pass crc = 0 to start. Incremental: crc32c(crc32c(0, a), b) equals
 * the CRC of a followed by b. p may be NULL when n is 0. Pure; any thread. */
uint32_t cscalp_crc32c(uint32_t crc, const void *p, size_t n);

#endif
