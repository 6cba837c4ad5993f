/* CRC-32C (src/util/crc32c.h):
 * - the published vectors: "123456789" (the catalogue check value) and the
 *   iSCSI ones of RFC 3720 appendix B.4;
 * - every slicing table entry, reached through messages that select it
 *   exactly, against a bit-at-a-time reference written from the polynomial;
 * - random lengths and alignments against the reference;
 * - incremental equals one-shot, for random splits into many pieces. */
#include <string.h>

#include "test_util.h"
#include "util/crc32c.h"

/* The definition, one bit at a time: reflected polynomial 0x82F63B78,
 * register preset to all ones, result inverted. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

START_TEST(check_value)
{
    ck_assert_uint_eq(cscalp_crc32c(0, "123456789", 9), 0xE3069283u);
}
END_TEST

START_TEST(rfc3720_vectors)
{
    uint8_t buf[48];
    memset(buf, 0, 32);
    ck_assert_uint_eq(cscalp_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, 32);
    ck_assert_uint_eq(cscalp_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    ck_assert_uint_eq(cscalp_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    ck_assert_uint_eq(cscalp_crc32c(0, buf, 32), 0x113FDB5Cu);
    /* An iSCSI read command PDU. */
    static const uint8_t pdu[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    ck_assert_uint_eq(cscalp_crc32c(0, pdu, sizeof pdu), 0xD9963A56u);
}
END_TEST

START_TEST(empty_input)
{
    ck_assert_uint_eq(cscalp_crc32c(0, NULL, 0), 0);
    ck_assert_uint_eq(cscalp_crc32c(0xE3069283u, NULL, 0), 0xE3069283u);
}
END_TEST

/* An 8-byte block that is zero but for byte b at position k goes through the
 * 8-byte step once; every other table look-up then indexes a constant, so
 * over all b the look-up at position k visits all 256 entries of its table.
 * Checking the 2048 results against the bitwise CRC checks every entry. The
 * prefix lengths 0..7 move the block across alignments and through the
 * byte-at-a-time tail. */
START_TEST(every_table_entry)
{
    uint8_t buf[8 + 8 + 8];
    for (size_t pre = 0; pre < 8; pre++)
        for (size_t k = 0; k < 8; k++)
            for (int b = 0; b < 256; b++) {
                memset(buf, 0, sizeof buf);
                for (size_t i = 0; i < pre; i++)
                    buf[i] = (uint8_t)(0xA5 + i);
                buf[pre + k] = (uint8_t)b;
                ck_assert_uint_eq(cscalp_crc32c(0, buf, pre + 8), crc_bitwise(buf, pre + 8));
                ck_assert_uint_eq(cscalp_crc32c(0, buf + pre, 8), crc_bitwise(buf + pre, 8));
            }
}
END_TEST

START_TEST(random_against_bitwise)
{
    tu_rng g = {1};
    static uint8_t buf[4096 + 8];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)tu_next(&g);
    for (int t = 0; t < 3000; t++) {
        const size_t off = tu_below(&g, 8);
        const size_t n = t < 100 ? (size_t)t : tu_below(&g, 4097);
        ck_assert_uint_eq(cscalp_crc32c(0, buf + off, n), crc_bitwise(buf + off, n));
    }
}
END_TEST

START_TEST(incremental_equals_one_shot)
{
    tu_rng g = {2};
    static uint8_t buf[2000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)tu_next(&g);
    for (int t = 0; t < 2000; t++) {
        const size_t n = tu_below(&g, sizeof buf + 1);
        const uint32_t whole = cscalp_crc32c(0, buf, n);
        uint32_t crc = 0;
        size_t at = 0;
        while (at < n) {
            /* Pieces of 0..40 bytes, so empty pieces and pieces both
             * shorter and longer than a slicing block all occur. */
            size_t piece = tu_below(&g, 41);
            if (piece > n - at)
                piece = n - at;
            crc = cscalp_crc32c(crc, buf + at, piece);
            at += piece;
        }
        ck_assert_uint_eq(crc, whole);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("crc32c");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, check_value);
    tcase_add_test(tc, rfc3720_vectors);
    tcase_add_test(tc, empty_input);
    tcase_add_test(tc, every_table_entry);
    tcase_add_test(tc, random_against_bitwise);
    tcase_add_test(tc, incremental_equals_one_shot);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
