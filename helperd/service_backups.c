/* SPDX-License-Identifier: Apache-2.0 */
/* POST /v1/backups/restore {"file": NAME}: a user back from a tarball
 * helperd wrote on delete --backup (lifecycle_import.c).  Only files in
 * backup_dir are read: callers may be remote admins, and helperd reads as
 * root. */
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "audit.h"
#include "backup_index.h"
#include "helperd_log.h"
#include "lifecycle.h"
#include "service.h"
#include "service_handlers.h"
#include "username.h"

/* The file as a path in backup_dir: "NAME" or "BACKUP_DIR/NAME", no
 * other directory.  0, or -1 after answering. */
static int backup_path(struct helperd *d, const char *file, char *out, size_t outlen, struct api_response *resp)
{
	const char *base = strrchr(file, '/');
	char dir[PATH_MAX], want[PATH_MAX], rdir[PATH_MAX];
	if (base) {
		snprintf(dir, sizeof dir, "%.*s", (int)(base - file), file);
		base++;
		if (!realpath(dir, rdir) || !realpath(d->cfg.backup_dir, want) || strcmp(rdir, want) != 0) {
			api_error(resp, 400, "invalid_backup",
				  "%s is not in helperd's backup_dir %s: restore reads "
				  "only backups there (copy the file in first)",
				  file, d->cfg.backup_dir);
			return -1;
		}
	} else {
		base = file;
	}
	struct stat st;
	if (!*base || *base == '.' || snprintf(out, outlen, "%s/%s", d->cfg.backup_dir, base) >= (int)outlen ||
	    stat(out, &st) != 0 || !S_ISREG(st.st_mode)) {
		api_error(resp, 404, "not_found",
			  "there is no backup %s in %s; its files are named "
			  "USER-container-TIME.tar.gz",
			  base, d->cfg.backup_dir);
		return -1;
	}
	return 0;
}

void handle_backup_restore(struct helperd *d, const struct api_request *req, struct api_response *resp)
{
	json_object *v;
	if (!req->body || !json_object_object_get_ex(req->body, "file", &v) ||
	    !json_object_is_type(v, json_type_string) || json_object_object_length(req->body) != 1) {
		api_error(resp, 400, "invalid_request",
			  "send {\"file\": \"alice-container-20261205T101500Z.tar.gz\"}: "
			  "a backup in helperd's backup_dir");
		return;
	}
	char path[500], msg[1024];
	if (backup_path(d, json_object_get_string(v), path, sizeof path, resp))
		return;
	struct backup_index bi;
	if (backup_index_read(path, &bi, msg, sizeof msg)) {
		api_error(resp, 400, "invalid_backup", "cannot restore %s: %s", path, msg);
		return;
	}
	if (ctm_username_check(bi.user, strlen(bi.user), msg, sizeof msg) != CTM_NAME_OK) {
		api_error(resp, 400, "invalid_backup", "the backup's user name is not one helperd takes: %s", msg);
		return;
	}
	if (strcmp(bi.state, "provisioning") == 0) {
		api_error(resp, 400, "invalid_backup", "%s holds a container whose create never finished", path);
		return;
	}
	/* A clash loses nothing: it is refused before anything is made. */
	pthread_mutex_lock(&d->lock);
	const struct account *a = registry_find(&d->reg, bi.user);
	pthread_mutex_unlock(&d->lock);
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (a || (getpwnam_r(bi.user, &pw, buf, sizeof buf, &res) == 0 && res)) {
		api_error(resp, 409, a ? "already_exists" : "name_taken",
			  "%s: user %s %s; nothing was changed and the "
			  "backup is left as it is",
			  path, bi.user,
			  a ? "exists already (delete it first to restore "
			      "this backup)"
			    : "is already a user on this host");
		return;
	}
	struct lifecycle_job *job = calloc(1, sizeof *job);
	if (!job) {
		api_error(resp, 500, "internal_error", "out of memory");
		return;
	}
	job->d = d;
	snprintf(job->user, sizeof job->user, "%s", bi.user);
	snprintf(job->backup_file, sizeof job->backup_file, "%.500s", path);
	char user[CTM_NAME_MAX + 1], err[512];
	snprintf(user, sizeof user, "%s", bi.user);
	const char *id = operation_start("restore", user, IMPORT_STEPS, lifecycle_import, job, lifecycle_job_free);
	if (!id) {
		api_error(resp, 409, "busy", "another operation on %s is still running; wait for it and retry", user);
		lifecycle_job_free(job);
		return;
	}
	json_object *ev = json_object_new_object();
	json_object_object_add(ev, "event", json_object_new_string("restore"));
	json_object_object_add(ev, "user", json_object_new_string(user));
	json_object_object_add(ev, "backup", json_object_new_string(path));
	api_caller_to_json(req, ev);
	json_object_object_add(ev, "operation", json_object_new_string(id));
	if (audit_write(d->cfg.audit_log, ev, err, sizeof err))
		log_error("%s", err);
	json_object_put(ev);
	answer_operation(resp, id);
}
