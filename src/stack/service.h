/*
 * service: typed reads of a service's compose definition for the stages
 * after the loader (detection, the rewrite's mirror check), so that only
 * the stack stage walks YAML nodes.  Every read is of the effective
 * definition (merged, interpolated); a key of another shape than compose
 * gives it reads as absent.  Pointers live as long as the project.
 */
#ifndef DSNFLIP_SERVICE_H
#define DSNFLIP_SERVICE_H

#include "stack/compose.h"
#include "util/buf.h"

/* container_name, hostname, working_dir: the string, or NULL when absent. */
const char *service_container_name(const struct service *s);
const char *service_hostname(const struct service *s);
const char *service_working_dir(const struct service *s);

/*
 * Is host a name the service answers to on the stack's networks: its
 * service name, container_name, hostname or an alias under networks:?
 */
int service_answers_to(const struct service *s, const char *host);

/* healthcheck.test as one string, list items joined by blanks; nothing when absent. */
void service_healthcheck_test(const struct service *s, struct buf *out);

/* One entry of depends_on (short or long syntax) and where it is written. */
struct service_dep {
	const char *name;
	struct ypos pos;
};

/*
 * depends_on's service names in order, into *out (malloc'd; the caller
 * frees it), their number returned; *at is where depends_on itself is
 * written (line 0 when absent).
 */
size_t service_depends_on(const struct service *s, struct service_dep **out, struct ypos *at);

/*
 * A command/entrypoint as argv (the list form, appended to argv) or as
 * the shell string (*shell, the string form).  Returns 1 when c is
 * present, else 0 and touches nothing.
 */
int service_cmd_words(const struct service_cmd *c, struct strvec *argv, const char **shell);

/*
 * Are a and b the same definition but for their environment: the same
 * keys and values throughout, where a value of b may also be a's absolute
 * path below prefix (a copy of the stack loaded from a scratch tree)?
 */
int service_same_definition(const struct service *a, const struct service *b, const char *prefix);

#endif
