#!/usr/bin/env bash
# Banned calls (as curl's checksrc does) and formatting. Prints offending lines; exits 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
# Raw allocation outside the wrapper, unbounded string functions, atoi-family parsing.
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok)\s*\('
alloc='(^|[^_a-z])(malloc|calloc|realloc|free|strdup|strndup)\s*\('
files=$(find src include tools -name '*.[ch]' 2>/dev/null)
if grep -nE "$banned" $files; then
  echo "lint: banned call (use snprintf, ig_str_to_i64, ig_buf_*)"; status=1
fi
if grep -nE "$alloc" $files | grep -v '^src/core/alloc.c:' | grep -vE '//|/\*|\* ' ; then
  echo "lint: raw allocation outside src/core/alloc.c (use ig_malloc/ig_free)"; status=1
fi
exit $status
