/*
 * spandsp DTMF witness for ctibox's DTMF tests (driver/tests/dtmf_*.rs).
 *
 *   spandsp_dtmf rx IN.raw
 *       Decode 8 kHz 16-bit little-endian mono samples with spandsp's
 *       dtmf_rx (default settings). Prints one line per digit:
 *           <digit> <start_sample> <end_sample> <level>
 *       Positions are those at which spandsp reported the digit's start and
 *       end (fed 8 samples at a time, so to within 1 ms, plus spandsp's own
 *       detection delay). A digit still on at the end of the file ends there.
 *
 *   spandsp_dtmf tx DIGITS LEVEL_DBM0 TWIST_DB ON_MS OFF_MS OUT.raw
 *       Generate DIGITS with spandsp's dtmf_tx (dtmf_tx_set_level and
 *       dtmf_tx_set_timing as given) into OUT.raw.
 *
 * Exit status 0 on success, 2 on bad usage or I/O errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

#define FEED 8

struct rx_report {
    long pos;         /* samples fed so far */
    int digit;        /* digit now sounding, 0 = none */
    long start;
    int level;
};

static void report(void *user_data, int code, int level, int delay)
{
    struct rx_report *r = (struct rx_report *) user_data;
    (void) delay;
    if (code == r->digit)
        return;
    if (r->digit)
        printf("%c %ld %ld %d\n", r->digit, r->start, r->pos, r->level);
    r->digit = code;
    r->start = r->pos;
    r->level = level;
}

static int do_rx(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 2;
    }
    dtmf_rx_state_t *s = dtmf_rx_init(NULL, NULL, NULL);
    struct rx_report r = {0, 0, 0, 0};
    dtmf_rx_set_realtime_callback(s, report, &r);
    int16_t buf[FEED];
    size_t n;
    while ((n = fread(buf, sizeof(int16_t), FEED, f)) > 0) {
        r.pos += (long) n;
        dtmf_rx(s, buf, (int) n);
    }
    if (r.digit)
        printf("%c %ld %ld %d\n", r.digit, r.start, r.pos, r.level);
    fclose(f);
    dtmf_rx_free(s);
    return 0;
}

static int do_tx(const char *digits, int level, int twist, int on_ms, int off_ms, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 2;
    }
    dtmf_tx_state_t *s = dtmf_tx_init(NULL);
    dtmf_tx_set_level(s, level, twist);
    dtmf_tx_set_timing(s, on_ms, off_ms);
    /* The queue holds MAX_DTMF_DIGITS; feed long strings in pieces. */
    size_t len = strlen(digits), at = 0;
    int16_t buf[160];
    for (;;) {
        if (at < len) {
            size_t piece = len - at > 64 ? 64 : len - at;
            if (dtmf_tx_put(s, digits + at, (int) piece) == 0)
                at += piece;
        }
        int n = dtmf_tx(s, buf, 160);
        if (n <= 0 && at >= len)
            break;
        if (n > 0 && fwrite(buf, sizeof(int16_t), (size_t) n, f) != (size_t) n) {
            perror(path);
            return 2;
        }
    }
    fclose(f);
    dtmf_tx_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "rx") == 0)
        return do_rx(argv[2]);
    if (argc == 8 && strcmp(argv[1], "tx") == 0)
        return do_tx(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), argv[7]);
    fprintf(stderr, "usage: %s rx IN.raw | tx DIGITS LEVEL TWIST ON_MS OFF_MS OUT.raw\n", argv[0]);
    return 2;
}
