/*
 * fuzz_config: dsnflip.yml loading (YAML + schema checks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "stack/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/dsnflip-fuzz-config-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct config *c = NULL;
	struct diag d = DIAG_INIT;
	if (!config_load(path, "dsnflip.yml", &c, &d))
		config_free(c);
	diag_release(&d);
	unlink(path);
	return 0;
}
