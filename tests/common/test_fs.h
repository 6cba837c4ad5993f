/* File-system helpers of the tests that write into temporary directories
 * (checkpoint files, the supervisor's checkpoint retries). POSIX. */
#ifndef CSCALP_TEST_FS_H
#define CSCALP_TEST_FS_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Remove `path` and, for a directory, everything below it (made writable
 * first: a test may have left it read-only). Missing paths are ignored. */
static inline void tu_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char child[PATH_MAX];
                const int n = snprintf(child, sizeof child, "%s/%s", path, e->d_name);
                if (n > 0 && n < PATH_MAX)
                    tu_remove_tree(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
