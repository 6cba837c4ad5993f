/* Checkpoint files (cscalp_ckpt_write_file, cscalp_ckpt_read_file) in a
 * fresh temporary directory per test:
 * - round trip through a file; a second save replaces the first (a new
 *   inode: renamed, not rewritten in place); relative paths;
 * - a stale temporary (even a symlink planted at its name) is removed and
 *   never written through;
 * - real failures (read-only directory when not root, a parent that is a
 *   regular file, a missing directory, a directory at the path, a name too
 *   long) and injected ones (write failing after N bytes, fsync, close,
 *   rename, the directory's fsync): CSCALP_EIO naming the step, the old file
 *   byte-for-byte intact, no temporary left;
 * - short writes and EINTR are resumed;
 * - reading: missing file, not a regular file, max_len, empty file,
 *   allocation failure. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "persist/checkpoint.h"
#include "test_fs.h"
#include "test_util.h"
#include "util/alloc.h"
#include "util/bytes.h"

#define WHY_CAP 512

static char dir[PATH_MAX];

/* A fresh directory under $TMPDIR (or /tmp) for each test. */
static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/cscalp-ckpt-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) { tu_remove_tree(dir); }

static void in_dir(char *out, const char *name)
{
    const int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
    ck_assert(n > 0 && n < PATH_MAX);
}

/* The directory holds exactly `name` (or nothing when name is NULL): no
 * temporary left behind. */
static void assert_only(const char *name)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        ck_assert_msg(name != NULL && strcmp(e->d_name, name) == 0, "unexpected entry %s",
                      e->d_name);
        count++;
    }
    closedir(d);
    ck_assert_int_eq(count, name != NULL);
}

/* The file's bytes equal data[0, n), read without the code under test. */
static void assert_file_is(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    uint8_t *got = malloc(n + 1);
    ck_assert_ptr_nonnull(got);
    const size_t r = fread(got, 1, n + 1, f);
    fclose(f);
    ck_assert_uint_eq(r, n);
    ck_assert(n == 0 || memcmp(got, data, n) == 0);
    free(got);
}

static void put_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

#define ASSERT_WHY(why, text) \
    ck_assert_msg(strstr((why), (text)) != NULL, "message \"%s\" lacks \"%s\"", (why), (text))

/* A checkpoint of a few sections whose payloads depend on `seed`. */
static void build(cscalp_wbuf *w, const cscalp_allocator *mem, uint32_t seed)
{
    cscalp_wbuf_init(w, mem);
    cscalp_ckpt_writer cw;
    cscalp_ckpt_begin(&cw, w);
    for (uint32_t s = 0; s < 3; s++) {
        cscalp_ckpt_begin_section(&cw, 10 + s);
        for (uint32_t i = 0; i < 500 * s; i++)
            cscalp_put_u32(w, seed * 2654435761u + i);
        cscalp_ckpt_end_section(&cw);
    }
    ck_assert_int_eq(cscalp_ckpt_finish(&cw), CSCALP_OK);
}

static cscalp_allocator plain(void)
{
    cscalp_allocator a;
    cscalp_mem_init(&a, NULL);
    return a;
}

/* ------------------------------------------------------------- round trip */

START_TEST(round_trip_through_a_file)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build(&w, &mem, 1);
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    ck_assert_int_eq(cscalp_ckpt_write_file(path, w.data, w.len, why, sizeof why), CSCALP_OK);
    assert_only("engine.ckpt");

    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(cscalp_ckpt_read_file(&mem, path, w.len, &data, &len, why, sizeof why),
                     CSCALP_OK);
    ck_assert_uint_eq(len, w.len);
    ck_assert(memcmp(data, w.data, len) == 0);
    cscalp_ckpt_reader r;
    ck_assert_int_eq(cscalp_ckpt_parse(data, len, &r, why, sizeof why), CSCALP_OK);
    cscalp_rbuf rb;
    ck_assert_int_eq(cscalp_ckpt_section(&r, 12, &rb, why, sizeof why), CSCALP_OK);
    ck_assert_uint_eq(rb.len, 4000);
    cscalp_mem_free(&mem, data);
    cscalp_wbuf_free(&w);
}
END_TEST

START_TEST(second_save_replaces_the_first)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf a, b;
    build(&a, &mem, 1);
    build(&b, &mem, 2);
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    ck_assert_int_eq(cscalp_ckpt_write_file(path, a.data, a.len, why, sizeof why), CSCALP_OK);
    struct stat before, after;
    ck_assert_int_eq(stat(path, &before), 0);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, b.data, b.len, why, sizeof why), CSCALP_OK);
    ck_assert_int_eq(stat(path, &after), 0);
    assert_file_is(path, b.data, b.len);
    /* A new inode: the file was renamed into place, not rewritten, so a
     * reader holding the old one open never saw a mix. */
    ck_assert(before.st_ino != after.st_ino);
    assert_only("engine.ckpt");
    cscalp_wbuf_free(&a);
    cscalp_wbuf_free(&b);
}
END_TEST

START_TEST(relative_path)
{
    char cwd[PATH_MAX], why[WHY_CAP];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(dir), 0);
    const int rc = cscalp_ckpt_write_file("plain.ckpt", "abc", 3, why, sizeof why);
    ck_assert_int_eq(chdir(cwd), 0);
    ck_assert_msg(rc == CSCALP_OK, "%s", why);
    char path[PATH_MAX];
    in_dir(path, "plain.ckpt");
    assert_file_is(path, "abc", 3);
    assert_only("plain.ckpt");
}
END_TEST

START_TEST(empty_data_is_an_empty_file)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "empty");
    ck_assert_int_eq(cscalp_ckpt_write_file(path, NULL, 0, why, sizeof why), CSCALP_OK);
    assert_file_is(path, "", 0);
    void *data = NULL;
    size_t len = 1;
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 0, &data, &len, why, sizeof why),
                     CSCALP_OK);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(len, 0);
    free(data);
}
END_TEST

/* A temporary left by a crashed save of an earlier process with our pid is
 * replaced; a symlink planted at that name is removed, not followed. */
START_TEST(stale_temporary_removed)
{
    char path[PATH_MAX], tmp[PATH_MAX + 32], victim[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    put_file(tmp, "half a checkpoint", 17);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "new", 3, why, sizeof why), CSCALP_OK);
    assert_file_is(path, "new", 3);
    assert_only("engine.ckpt");

    in_dir(victim, "victim");
    put_file(victim, "keep me", 7);
    ck_assert_int_eq(symlink(victim, tmp), 0);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "newer", 5, why, sizeof why), CSCALP_OK);
    assert_file_is(path, "newer", 5);
    assert_file_is(victim, "keep me", 7);
    struct stat st;
    ck_assert_int_ne(lstat(tmp, &st), 0);
}
END_TEST

/* ------------------------------------------------------- real failures */

static const char old_bytes[] = "the previous checkpoint, which must survive";

START_TEST(read_only_directory)
{
    if (geteuid() == 0) {
        /* Root writes into a 0500 directory regardless; the failures of
         * parent_is_a_file, missing_directory and the injected ones stand
         * in for this case. */
        printf("read_only_directory: running as root, permissions do not stop writes; "
               "skipped\n");
        return;
    }
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    put_file(path, old_bytes, sizeof old_bytes);
    ck_assert_int_eq(chmod(dir, 0500), 0);
    const int rc = cscalp_ckpt_write_file(path, "new", 3, why, sizeof why);
    ck_assert_int_eq(chmod(dir, 0700), 0);
    ck_assert_int_eq(rc, CSCALP_EIO);
    ASSERT_WHY(why, "create temporary");
    ASSERT_WHY(why, strerror(EACCES));
    assert_file_is(path, old_bytes, sizeof old_bytes);
    assert_only("engine.ckpt");
}
END_TEST

START_TEST(parent_is_a_file)
{
    char file[PATH_MAX], path[PATH_MAX + 16], why[WHY_CAP];
    in_dir(file, "file");
    put_file(file, old_bytes, sizeof old_bytes);
    snprintf(path, sizeof path, "%s/engine.ckpt", file);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "new", 3, why, sizeof why), CSCALP_EIO);
    ASSERT_WHY(why, "create temporary");
    ASSERT_WHY(why, path);
    ASSERT_WHY(why, strerror(ENOTDIR));
    assert_file_is(file, old_bytes, sizeof old_bytes);
    assert_only("file");
}
END_TEST

START_TEST(missing_directory)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "no/such/dir/engine.ckpt");
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "new", 3, why, sizeof why), CSCALP_EIO);
    ASSERT_WHY(why, strerror(ENOENT));
    assert_only(NULL);
}
END_TEST

/* rename cannot put a file over a directory: the late failure, after the
 * temporary was fully written, still cleans it up. */
START_TEST(directory_at_the_path)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    ck_assert_int_eq(mkdir(path, 0700), 0);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "new", 3, why, sizeof why), CSCALP_EIO);
    ASSERT_WHY(why, "rename");
    ASSERT_WHY(why, strerror(EISDIR));
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISDIR(st.st_mode));
    assert_only("engine.ckpt");
}
END_TEST

START_TEST(name_too_long)
{
    char path[PATH_MAX + 64], why[WHY_CAP];
    memset(path, 'a', sizeof path - 1);
    path[0] = '/';
    path[sizeof path - 1] = '\0';
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "x", 1, why, sizeof why), CSCALP_EIO);
    ASSERT_WHY(why, strerror(ENAMETOOLONG));
}
END_TEST

START_TEST(write_argument_errors)
{
    char why[WHY_CAP];
    ck_assert_int_eq(cscalp_ckpt_write_file(NULL, "x", 1, why, sizeof why), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_write_file("", "x", 1, why, sizeof why), CSCALP_EINVAL);
    char path[PATH_MAX];
    in_dir(path, "engine.ckpt");
    ck_assert_int_eq(cscalp_ckpt_write_file(path, NULL, 1, why, sizeof why), CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_write_file(path, "x", 1, NULL, 0), CSCALP_OK);
    assert_only("engine.ckpt");
}
END_TEST

/* --------------------------------------------------- injected failures */

typedef struct fault {
    long budget;      /* bytes write may still pass, then it fails; < 0: no limit */
    int write_errno;  /* errno of the failing write */
    size_t max_chunk; /* largest write passed on (short writes); 0: no limit */
    int eintr_every;  /* every k-th write fails with EINTR first; 0: never */
    int zero_write;   /* write returns 0 */
    int fail_fsync;   /* which fsync call fails (1 the file's, 2 the directory's) */
    int fail_close, fail_rename;
    long writes, fsyncs;
} fault;

static ssize_t fault_write(void *ctx, int fd, const void *buf, size_t n)
{
    fault *f = ctx;
    f->writes++;
    if (f->zero_write)
        return 0;
    if (f->eintr_every > 0 && f->writes % f->eintr_every == 0) {
        errno = EINTR;
        return -1;
    }
    if (f->max_chunk > 0 && n > f->max_chunk)
        n = f->max_chunk;
    if (f->budget >= 0) {
        if (f->budget == 0) {
            errno = f->write_errno;
            return -1;
        }
        if (n > (size_t)f->budget)
            n = (size_t)f->budget;
        f->budget -= (long)n;
    }
    return write(fd, buf, n);
}

static int fault_fsync(void *ctx, int fd)
{
    fault *f = ctx;
    if (++f->fsyncs == f->fail_fsync) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

static int fault_close(void *ctx, int fd)
{
    fault *f = ctx;
    const int rc = close(fd);
    if (f->fail_close) {
        errno = EDQUOT;
        return -1;
    }
    return rc;
}

static int fault_rename(void *ctx, const char *from, const char *to)
{
    fault *f = ctx;
    if (f->fail_rename) {
        errno = EXDEV;
        return -1;
    }
    return rename(from, to);
}

static int save_with(fault *f, const char *path, const void *data, size_t len, char *why)
{
    const cscalp_ckpt_io io = {fault_write, fault_fsync, fault_close, fault_rename, f};
    why[0] = '\0';
    return cscalp_ckpt_write_file_io(&io, path, data, len, why, WHY_CAP);
}

static fault no_fault(void)
{
    fault f;
    memset(&f, 0, sizeof f);
    f.budget = -1;
    return f;
}

/* Every step that can fail before the rename, failed in turn: the old
 * checkpoint is still there, byte for byte, and the temporary is gone. */
START_TEST(failure_before_rename_keeps_the_old_file)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build(&w, &mem, 3);
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    put_file(path, old_bytes, sizeof old_bytes);

    const long budgets[] = {0, 1, (long)w.len / 2, (long)w.len - 1};
    int cases = 0;
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        fault f = no_fault();
        f.budget = budgets[i];
        f.write_errno = ENOSPC;
        ck_assert_int_eq(save_with(&f, path, w.data, w.len, why), CSCALP_EIO);
        ASSERT_WHY(why, "write");
        ASSERT_WHY(why, strerror(ENOSPC));
        ASSERT_WHY(why, ".tmp.");
        assert_file_is(path, old_bytes, sizeof old_bytes);
        assert_only("engine.ckpt");
        cases++;
    }
    struct {
        const char *step;
        int err;
        fault f;
    } steps[4];
    for (int i = 0; i < 4; i++)
        steps[i].f = no_fault();
    steps[0].step = "write";
    steps[0].err = EIO;
    steps[0].f.zero_write = 1;
    steps[1].step = "fsync";
    steps[1].err = EIO;
    steps[1].f.fail_fsync = 1;
    steps[2].step = "close";
    steps[2].err = EDQUOT;
    steps[2].f.fail_close = 1;
    steps[3].step = "rename";
    steps[3].err = EXDEV;
    steps[3].f.fail_rename = 1;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(save_with(&steps[i].f, path, w.data, w.len, why), CSCALP_EIO);
        ASSERT_WHY(why, steps[i].step);
        ASSERT_WHY(why, strerror(steps[i].err));
        assert_file_is(path, old_bytes, sizeof old_bytes);
        assert_only("engine.ckpt");
        cases++;
    }
    /* And after all that, a save that succeeds. */
    fault ok = no_fault();
    ck_assert_int_eq(save_with(&ok, path, w.data, w.len, why), CSCALP_OK);
    assert_file_is(path, w.data, w.len);
    ck_assert_int_eq(ok.fsyncs, 2);
    printf("injected failures before the rename: %d, old file intact each time\n", cases);
    cscalp_wbuf_free(&w);
}
END_TEST

/* The directory's fsync comes after the rename: the new file is in place,
 * and the caller hears that it may not be durable. */
START_TEST(directory_fsync_failure_reported)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    put_file(path, old_bytes, sizeof old_bytes);
    fault f = no_fault();
    f.fail_fsync = 2;
    ck_assert_int_eq(save_with(&f, path, "new", 3, why), CSCALP_EIO);
    ASSERT_WHY(why, "fsync directory");
    ASSERT_WHY(why, dir);
    assert_file_is(path, "new", 3);
    assert_only("engine.ckpt");
}
END_TEST

START_TEST(short_writes_and_eintr_resumed)
{
    cscalp_allocator mem = plain();
    cscalp_wbuf w;
    build(&w, &mem, 4);
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    fault f = no_fault();
    f.max_chunk = 7;
    f.eintr_every = 3;
    ck_assert_int_eq(save_with(&f, path, w.data, w.len, why), CSCALP_OK);
    ck_assert_int_gt(f.writes, (long)(w.len / 7));
    assert_file_is(path, w.data, w.len);
    assert_only("engine.ckpt");
    cscalp_wbuf_free(&w);
}
END_TEST

/* ---------------------------------------------------------------- reading */

START_TEST(read_missing_file)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "absent.ckpt");
    void *data = (void *)1;
    size_t len = 1;
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 1 << 20, &data, &len, why, sizeof why),
                     CSCALP_EIO);
    ASSERT_WHY(why, path);
    ASSERT_WHY(why, strerror(ENOENT));
    ck_assert_ptr_null(data);
    ck_assert_uint_eq(len, 0);
}
END_TEST

START_TEST(read_not_a_regular_file)
{
    char why[WHY_CAP];
    void *data;
    size_t len;
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, dir, 1 << 20, &data, &len, why, sizeof why),
                     CSCALP_EIO);
    ASSERT_WHY(why, "not a regular file");
    ck_assert_int_eq(
        cscalp_ckpt_read_file(NULL, "/dev/zero", 1 << 20, &data, &len, why, sizeof why),
        CSCALP_EIO);
    ASSERT_WHY(why, "/dev/zero is not a regular file");
}
END_TEST

START_TEST(read_max_len)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    put_file(path, old_bytes, 40);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 39, &data, &len, why, sizeof why),
                     CSCALP_ECORRUPT);
    ASSERT_WHY(why, "has 40 bytes, more than the 39 accepted");
    ASSERT_WHY(why, path);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 40, &data, &len, why, sizeof why),
                     CSCALP_OK);
    ck_assert_uint_eq(len, 40);
    ck_assert(memcmp(data, old_bytes, 40) == 0);
    free(data);
}
END_TEST

START_TEST(read_allocation)
{
    char path[PATH_MAX], why[WHY_CAP];
    in_dir(path, "engine.ckpt");
    put_file(path, old_bytes, sizeof old_bytes);
    tu_alloc st = {0, 0, 1};
    cscalp_allocator mem = tu_allocator(&st);
    void *data = NULL;
    size_t len = 0;
    ck_assert_int_eq(cscalp_ckpt_read_file(&mem, path, 1000, &data, &len, why, sizeof why),
                     CSCALP_ENOMEM);
    ASSERT_WHY(why, path);
    ck_assert_int_eq(st.live, 0);
    ck_assert_int_eq(cscalp_ckpt_read_file(&mem, path, 1000, &data, &len, why, sizeof why),
                     CSCALP_OK);
    ck_assert_int_eq(st.live, 1);
    ck_assert_uint_eq(len, sizeof old_bytes);
    cscalp_mem_free(&mem, data);
    ck_assert_int_eq(st.live, 0);

    cscalp_allocator broken = {NULL, tu_free_fn, &st};
    ck_assert_int_eq(cscalp_ckpt_read_file(&broken, path, 1000, &data, &len, why, sizeof why),
                     CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, NULL, 1000, &data, &len, why, sizeof why),
                     CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 1000, NULL, &len, why, sizeof why),
                     CSCALP_EINVAL);
    ck_assert_int_eq(cscalp_ckpt_read_file(NULL, path, 1000, &data, NULL, why, sizeof why),
                     CSCALP_EINVAL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("checkpoint files");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, round_trip_through_a_file);
    tcase_add_test(tc, second_save_replaces_the_first);
    tcase_add_test(tc, relative_path);
    tcase_add_test(tc, empty_data_is_an_empty_file);
    tcase_add_test(tc, stale_temporary_removed);
    tcase_add_test(tc, read_only_directory);
    tcase_add_test(tc, parent_is_a_file);
    tcase_add_test(tc, missing_directory);
    tcase_add_test(tc, directory_at_the_path);
    tcase_add_test(tc, name_too_long);
    tcase_add_test(tc, write_argument_errors);
    tcase_add_test(tc, failure_before_rename_keeps_the_old_file);
    tcase_add_test(tc, directory_fsync_failure_reported);
    tcase_add_test(tc, short_writes_and_eintr_resumed);
    tcase_add_test(tc, read_missing_file);
    tcase_add_test(tc, read_not_a_regular_file);
    tcase_add_test(tc, read_max_len);
    tcase_add_test(tc, read_allocation);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(suite()); }
