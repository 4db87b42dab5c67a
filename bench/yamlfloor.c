/*
 * yamlfloor: the floor for `make bench` -- what libyaml alone costs to walk
 * the bytes of a compose stack.
 *
 * usage: yamlfloor FILE...
 *
 * Each file is read whole into memory and run through yaml_parser_parse()
 * until the stream ends, discarding every event.  Nothing is built, merged
 * or interpolated, so any real loader of the same files does at least this
 * much work.  Prints the number of events and bytes seen; exits 1 on a read
 * or parse error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

/* Read all of `path` into a malloc'd buffer the caller frees; NULL on error. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!fp)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *p;
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = n;
	return buf;
}

/* Parse one buffer to the end of the stream; returns events seen or -1. */
static long walk(const char *path, const unsigned char *buf, size_t len)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	long events = 0;
	int done = 0;

	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			fprintf(stderr, "yamlfloor: %s:%zu: %s\n", path,
				parser.problem_mark.line + 1,
				parser.problem ? parser.problem : "parse error");
			yaml_parser_delete(&parser);
			return -1;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		events++;
	}
	yaml_parser_delete(&parser);
	return events;
}

int main(int argc, char **argv)
{
	long events = 0;
	size_t bytes = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: yamlfloor FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		size_t len = 0;
		unsigned char *buf = slurp(argv[i], &len);
		long n;

		if (!buf) {
			fprintf(stderr, "yamlfloor: cannot read '%s'\n", argv[i]);
			return 1;
		}
		n = walk(argv[i], buf, len);
		free(buf);
		if (n < 0)
			return 1;
		events += n;
		bytes += len;
	}
	printf("%ld events, %zu bytes, %d files\n", events, bytes, argc - 1);
	return 0;
}
