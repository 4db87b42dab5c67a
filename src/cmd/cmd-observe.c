#include "running/deploy.h"
#include <stdio.h>
int cmd_observe(struct cli *cli)
{
	(void)cli;
	fprintf(stderr, "dsnflip: observe: not yet\n");
	return EXIT_FAILED;
}
