/*
 * cscalp-replay-server — stream recorded Binance captures over TCP on
 * loopback, as the original lines ("<local time ns> <json>\n"), paced by
 * their recorded times at N× real time: a market-data source for the live
 * host (cscalp-live) that behaves like a websocket relay.
 *
 *   cscalp-replay-server [--port P] [--speed X] FILE...
 *
 * --port 0 (the default) takes a free port; the port is printed on stdout
 * as "listening on 127.0.0.1:PORT". --speed 0 sends as fast as the client
 * reads. Each connection gets the FILEs from their first line (one client
 * at a time; another waits in the backlog until the first ends). When the
 * last line is sent the connection is closed. SIGINT or SIGTERM stop the
 * server. Built on libuv; never reads more of the file than the client
 * has taken plus 1 MiB.
 *
 * Exit status: 1 I/O error (a file, the socket), 2 bad arguments, else 0.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>
#include <zlib.h>

#define EXIT_IO 1
#define EXIT_USAGE 2
#define MAX_FILES 64
#define LINE_BYTES (1 << 20)     /* longest line accepted (a REST depth snapshot) */
#define HIGH_WATER (1u << 20)    /* bytes queued to the socket before reading pauses */
#define TICK_MS 1

typedef struct server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_tcp_t client;
    uv_shutdown_t shutdown;
    uv_timer_t pace;
    uv_signal_t sigint, sigterm;
    int busy;             /* a client is being served */
    int waiting;          /* connections in the backlog, accepted when it ends */
    const char *files[MAX_FILES];
    size_t n_files, file;
    gzFile gz;
    char *line;           /* the next line to send, read ahead */
    size_t line_len;
    int64_t line_ns;      /* its recorded time */
    int64_t first_ns;     /* the first line's recorded time */
    uint64_t start_ms;    /* loop time when the first line went out */
    double speed;
    uint64_t lines_sent;
    int status;
} server;

static int bad_arg(const char *what)
{
    fprintf(stderr,
            "cscalp-replay-server: %s\nusage: cscalp-replay-server [--port P] [--speed X] "
            "FILE...\n",
            what);
    return EXIT_USAGE;
}

/* The next line of the files into s->line; 0 at the end of the last file,
 * 1 with a line, -1 on an error (message printed). */
static int read_ahead(server *s)
{
    for (;;) {
        if (s->gz == NULL) {
            if (s->file == s->n_files)
                return 0;
            s->gz = gzopen(s->files[s->file], "rb");
            if (s->gz == NULL) {
                fprintf(stderr, "cscalp-replay-server: %s: cannot open\n", s->files[s->file]);
                return -1;
            }
        }
        if (gzgets(s->gz, s->line, LINE_BYTES) == NULL) {
            int err = 0;
            const char *msg = gzerror(s->gz, &err);
            if (err != Z_OK && err != Z_STREAM_END) {
                fprintf(stderr, "cscalp-replay-server: %s: %s\n", s->files[s->file], msg);
                return -1;
            }
            gzclose(s->gz);
            s->gz = NULL;
            s->file++;
            continue;
        }
        s->line_len = strlen(s->line);
        if (s->line_len == 0)
            continue;
        if (s->line[s->line_len - 1] != '\n') {
            if (s->line_len == LINE_BYTES - 1) {
                fprintf(stderr, "cscalp-replay-server: %s: a line longer than %d bytes\n",
                        s->files[s->file], LINE_BYTES);
                return -1;
            }
            s->line[s->line_len++] = '\n'; /* the file's last line without one */
            s->line[s->line_len] = '\0';
        }
        char *end = NULL;
        const long long t = strtoll(s->line, &end, 10);
        s->line_ns = end != s->line ? (int64_t)t : s->line_ns; /* unstamped: send at once */
        return 1;
    }
}

static void on_written(uv_write_t *req, int status)
{
    free(req->data);
    free(req);
    (void)status; /* a failed write shows as a closed client in the next round */
}

static void on_connection(uv_stream_t *listener, int status);

static void on_client_closed(uv_handle_t *h)
{
    server *s = h->data;
    s->busy = 0;
    if (s->gz != NULL) {
        gzclose(s->gz);
        s->gz = NULL;
    }
    fprintf(stderr, "cscalp-replay-server: connection closed after %llu lines\n",
            (unsigned long long)s->lines_sent);
    if (s->waiting > 0) {
        s->waiting--;
        on_connection((uv_stream_t *)&s->listener, 0);
    }
}

/* The client went away or an error: close now (queued writes are dropped). */
static void end_client(server *s)
{
    uv_timer_stop(&s->pace);
    if (!uv_is_closing((uv_handle_t *)&s->client))
        uv_close((uv_handle_t *)&s->client, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    end_client(req->data);
}

/* The last line is queued: close once every queued write went out. */
static void finish_client(server *s)
{
    uv_timer_stop(&s->pace);
    s->shutdown.data = s;
    if (uv_shutdown(&s->shutdown, (uv_stream_t *)&s->client, on_shutdown) != 0)
        end_client(s);
}

/* Send every line that is due, as long as the socket keeps up. */
static void on_pace(uv_timer_t *t)
{
    server *s = t->data;
    const uint64_t now = uv_now(s->loop);
    while (s->busy && uv_stream_get_write_queue_size((uv_stream_t *)&s->client) < HIGH_WATER) {
        if (s->speed > 0) {
            const double due_ms = (double)(s->line_ns - s->first_ns) / 1e6 / s->speed;
            if ((double)(now - s->start_ms) < due_ms)
                return;
        }
        char *copy = malloc(s->line_len);
        uv_write_t *req = malloc(sizeof *req);
        if (copy == NULL || req == NULL) {
            free(copy);
            free(req);
            fprintf(stderr, "cscalp-replay-server: out of memory\n");
            s->status = EXIT_IO;
            end_client(s);
            return;
        }
        memcpy(copy, s->line, s->line_len);
        req->data = copy;
        const uv_buf_t buf = uv_buf_init(copy, (unsigned int)s->line_len);
        if (uv_write(req, (uv_stream_t *)&s->client, &buf, 1, on_written) != 0) {
            free(copy);
            free(req);
            end_client(s); /* the client went away */
            return;
        }
        s->lines_sent++;
        const int more = read_ahead(s);
        if (more < 0) {
            s->status = EXIT_IO;
            end_client(s);
            return;
        }
        if (more == 0) {
            finish_client(s);
            return;
        }
    }
}

/* A client that sends anything is ignored; one that closes ends the stream. */
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    static char sink[4096];
    (void)suggested;
    *buf = uv_buf_init(sink, sizeof sink);
}

static void on_client_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    if (nread < 0)
        end_client(stream->data);
}

static void on_connection(uv_stream_t *listener, int status)
{
    server *s = listener->data;
    if (status < 0)
        return;
    if (s->busy) {
        s->waiting++; /* served when the current client ends */
        return;
    }
    uv_tcp_init(s->loop, &s->client);
    s->client.data = s;
    if (uv_accept(listener, (uv_stream_t *)&s->client) != 0) {
        uv_close((uv_handle_t *)&s->client, NULL);
        return;
    }
    s->busy = 1;
    s->file = 0;
    s->lines_sent = 0;
    const int first = read_ahead(s);
    if (first <= 0) {
        if (first < 0)
            s->status = EXIT_IO;
        finish_client(s);
        return;
    }
    s->first_ns = s->line_ns;
    s->start_ms = uv_now(s->loop);
    uv_read_start((uv_stream_t *)&s->client, on_alloc, on_client_read);
    uv_timer_start(&s->pace, on_pace, 0, TICK_MS);
    fprintf(stderr, "cscalp-replay-server: client connected\n");
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)signum;
    uv_stop(h->loop);
}

int main(int argc, char **argv)
{
    /* A client that goes away mid-write must end its connection, not the
     * server: the write fails with EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    static server s;
    long port = 0;
    s.speed = 1.0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--help") == 0) {
            puts("usage: cscalp-replay-server [--port P] [--speed X] FILE...");
            return 0;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535)
                return bad_arg("--port needs an integer in 0..65535");
        } else if (strcmp(argv[i], "--speed") == 0 && i + 1 < argc) {
            s.speed = strtod(argv[++i], &end);
            if (*end != '\0' || !(s.speed >= 0) || s.speed > 1e9)
                return bad_arg("--speed needs a number in [0, 1e9] (0: as fast as possible)");
        } else if (argv[i][0] == '-') {
            return bad_arg("unknown option, or its value is missing");
        } else if (s.n_files < MAX_FILES) {
            s.files[s.n_files++] = argv[i];
        } else {
            return bad_arg("more than 64 files");
        }
    }
    if (s.n_files == 0)
        return bad_arg("no FILE");
    s.line = malloc(LINE_BYTES);
    if (s.line == NULL)
        return EXIT_IO;
    s.loop = uv_default_loop();
    uv_tcp_init(s.loop, &s.listener);
    s.listener.data = &s;
    uv_timer_init(s.loop, &s.pace);
    s.pace.data = &s;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", (int)port, &addr);
    int rc = uv_tcp_bind(&s.listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s.listener, 4, on_connection);
    if (rc != 0) {
        fprintf(stderr, "cscalp-replay-server: 127.0.0.1:%ld: %s\n", port, uv_strerror(rc));
        free(s.line);
        return EXIT_IO;
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&s.listener, (struct sockaddr *)&bound, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(((struct sockaddr_in *)&bound)->sin_port));
    fflush(stdout);
    uv_signal_init(s.loop, &s.sigint);
    uv_signal_init(s.loop, &s.sigterm);
    uv_signal_start(&s.sigint, on_signal, SIGINT);
    uv_signal_start(&s.sigterm, on_signal, SIGTERM);
    uv_run(s.loop, UV_RUN_DEFAULT);
    if (s.gz != NULL)
        gzclose(s.gz);
    free(s.line);
    return s.status;
}
