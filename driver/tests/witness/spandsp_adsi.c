/*
 * Caller-ID witness for ctibox's tests, built on spandsp's ADSI module
 * (adsi_tx / adsi_rx, Debian libspandsp-dev).
 *
 *   spandsp_adsi tx <standard> <out.raw> <msg-type> [<field-type>:<body>]...
 *       Build a message with adsi_add_field (types and bodies in hex, field
 *       type 0 = a field with no type/length octets, as SDMF bodies are),
 *       queue it with
 *       adsi_tx_put_message and write the audio (16-bit LE, 8 kHz) with
 *       200 ms of silence before and after.
 *       For clip-dtmf the message type is the terminator ('#' = 23,
 *       'C' = 43) and field types are the start letters ('A' = 41 ...).
 *
 *   spandsp_adsi rx <standard> <in.raw>
 *       Run adsi_rx over the file in 160-sample blocks and print one line
 *       per message: "MSG" and the octets in hex (FSK: without the checksum,
 *       spandsp delivers only messages whose checksum is right; DTMF: the
 *       digits as ASCII codes).
 *
 *   <standard>: class | clip | clip-dtmf
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spandsp.h>

static int standard_of(const char *s)
{
    if (strcmp(s, "class") == 0)
        return ADSI_STANDARD_CLASS;
    if (strcmp(s, "clip") == 0)
        return ADSI_STANDARD_CLIP;
    if (strcmp(s, "clip-dtmf") == 0)
        return ADSI_STANDARD_CLIP_DTMF;
    fprintf(stderr, "unknown standard %s\n", s);
    exit(2);
}

static void put_msg(void *user_data, const uint8_t *msg, int len)
{
    int i;

    (void) user_data;
    printf("MSG");
    for (i = 0; i < len; i++)
        printf(" %02X", msg[i]);
    printf("\n");
    fflush(stdout);
}

static int do_rx(int standard, const char *path)
{
    FILE *f;
    int16_t buf[160];
    size_t n;
    adsi_rx_state_t *rx;

    if ((f = fopen(path, "rb")) == NULL) {
        perror(path);
        return 1;
    }
    rx = adsi_rx_init(NULL, standard, put_msg, NULL);
    while ((n = fread(buf, sizeof(int16_t), 160, f)) > 0)
        adsi_rx(rx, buf, (int) n);
    /* A little silence so the last bits leave the demodulator. */
    memset(buf, 0, sizeof(buf));
    for (n = 0; n < 10; n++)
        adsi_rx(rx, buf, 160);
    adsi_rx_free(rx);
    fclose(f);
    return 0;
}

static int do_tx(int standard, const char *path, int argc, char **argv)
{
    uint8_t msg[256];
    int len;
    int i;
    int n;
    int total;
    int16_t buf[160];
    FILE *f;
    adsi_tx_state_t *tx;

    tx = adsi_tx_init(NULL, standard);
    len = adsi_add_field(tx, msg, -1, (uint8_t) strtol(argv[0], NULL, 16), NULL, 0);
    for (i = 1; i < argc; i++) {
        char *colon = strchr(argv[i], ':');
        if (colon == NULL) {
            fprintf(stderr, "field %s is not type:body\n", argv[i]);
            return 2;
        }
        uint8_t body[256];
        int body_len = 0;
        const char *h;
        *colon = '\0';
        for (h = colon + 1; h[0] && h[1] && body_len < 256; h += 2) {
            char pair[3] = {h[0], h[1], 0};
            body[body_len++] = (uint8_t) strtol(pair, NULL, 16);
        }
        len = adsi_add_field(tx, msg, len, (uint8_t) strtol(argv[i], NULL, 16), body, body_len);
    }
    if (adsi_tx_put_message(tx, msg, len) <= 0) {
        fprintf(stderr, "adsi_tx_put_message refused the message\n");
        return 1;
    }
    if ((f = fopen(path, "wb")) == NULL) {
        perror(path);
        return 1;
    }
    memset(buf, 0, sizeof(buf));
    for (i = 0; i < 10; i++)
        fwrite(buf, sizeof(int16_t), 160, f);
    /* At most 20 s of signal. */
    for (total = 0; total < 8000 * 20; total += n) {
        n = adsi_tx(tx, buf, 160);
        if (n <= 0)
            break;
        fwrite(buf, sizeof(int16_t), (size_t) n, f);
    }
    memset(buf, 0, sizeof(buf));
    for (i = 0; i < 10; i++)
        fwrite(buf, sizeof(int16_t), 160, f);
    fclose(f);
    adsi_tx_free(tx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "rx") == 0)
        return do_rx(standard_of(argv[2]), argv[3]);
    if (argc >= 5 && strcmp(argv[1], "tx") == 0)
        return do_tx(standard_of(argv[2]), argv[3], argc - 4, argv + 4);
    fprintf(stderr, "usage: %s tx <standard> <out.raw> <type> [<field>:<body>]... | rx <standard> <in.raw>\n", argv[0]);
    return 2;
}
