/*
 * fuzz_dsn: the DSN parser and rewriter.  Invariants: no crash, and a
 * rewrite with the parsed user and password gives the input back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect/dsn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xstrndup((const char *)data, size);
	struct dsn dsn = DSN_INIT;
	struct diag d = DIAG_INIT;
	if (strlen(s) == size && dsn_is_candidate(s) && !dsn_parse(s, &dsn, &d)) {
		struct buf out = BUF_INIT;
		if (!dsn_rewrite(s, "app_role", "${APP_ROLE_PASSWORD:?APP_ROLE_PASSWORD must be set}", &out, &d)) {
			struct dsn again = DSN_INIT;
			/* A rewritten DSN must parse again, with the new user. */
			if (dsn_parse(out.buf, &again, &d) || !again.user || strcmp(again.user, "app_role"))
				abort();
			dsn_release(&again);
		}
		buf_release(&out);
	}
	dsn_release(&dsn);
	diag_release(&d);
	free(s);
	return 0;
}
