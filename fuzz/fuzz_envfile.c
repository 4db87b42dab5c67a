/*
 * fuzz_envfile: the .env / env_file parser.  Invariant: every span lies
 * inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include "stack/envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envfile ef = { 0 };
	struct diag d = DIAG_INIT;
	if (!envfile_parse("fuzz.env", (const char *)data, size, &ef, &d)) {
		for (size_t i = 0; i < ef.nr; i++)
			if (ef.v[i].vstart > ef.v[i].vend || ef.v[i].vend > size)
				abort();
	}
	envfile_release(&ef);
	diag_release(&d);
	return 0;
}
