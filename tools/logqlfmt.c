/* logqlfmt: parses a LogQL query and prints its canonical form (Loki's String(), what
 * /loki/api/v1/format_query returns), or the parse error.
 *
 *   logqlfmt '<query>'        the query from argv (several arguments are joined by spaces)
 *   echo '<query>' | logqlfmt  the query from stdin
 *
 * Exit status: 0 on success, 1 on a parse error, 2 on a usage or I/O error. */
#include <stdio.h>
#include <string.h>

#include "icegate/alloc.h"
#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/logql.h"

int main(int argc, char **argv)
{
    ig_buf in;
    ig_buf_init(&in, LOGQL_MAX_QUERY_LEN + 1);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if ((i > 1 && ig_buf_putc(&in, ' ') != 0) || ig_buf_append_cstr(&in, argv[i]) != 0) {
                fprintf(stderr, "logqlfmt: query too long\n");
                ig_buf_free(&in);
                return 2;
            }
        }
    } else {
        char chunk[4096];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
            if (ig_buf_append(&in, chunk, n) != 0) {
                fprintf(stderr, "logqlfmt: query too long\n");
                ig_buf_free(&in);
                return 2;
            }
        }
    }
    ig_arena a;
    ig_arena_init(&a, 64u << 20);
    ig_errbuf eb;
    logql_expr *e = NULL;
    int rc = logql_parse(ig_buf_str(&in), &a, &e, &eb), status = 0;
    if (rc != 0) {
        printf("%s\n", eb.msg);
        status = 1;
    } else {
        ig_buf out;
        ig_buf_init(&out, 16u << 20);
        if (logql_print(e, &out) != 0) {
            fprintf(stderr, "logqlfmt: output too large\n");
            status = 2;
        } else {
            printf("%s\n", out.data ? out.data : "");
        }
        ig_buf_free(&out);
    }
    ig_arena_free(&a);
    ig_buf_free(&in);
    return status;
}
