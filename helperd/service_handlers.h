/* SPDX-License-Identifier: Apache-2.0 */
/* The API's handlers (one per route in api_routes.c) and the answers they
 * share. */
#ifndef CONTAINARIUM_HELPERD_SERVICE_HANDLERS_H
#define CONTAINARIUM_HELPERD_SERVICE_HANDLERS_H

#include "api.h"
#include "incus_client.h"

void answer_operation(struct api_response *resp, const char *id);
void answer_backend_down(struct helperd *d, struct api_response *resp, const char *err);
void answer_incus_error(struct helperd *d, struct api_response *resp, enum incus_status st, const char *err);
int user_param(const struct api_request *req, struct api_response *resp);

void handle_list(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_get(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_create(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_delete(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_start(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_stop(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_resize(struct helperd *d, const struct api_request *req, struct api_response *resp);

void handle_snapshots_list(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_snapshot_create(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_snapshot_delete(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_snapshot_restore(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_backup_restore(struct helperd *d, const struct api_request *req, struct api_response *resp);

void handle_keys_list(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_keys_add(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_keys_remove(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_keys_replace(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_ssh_config(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_known_hosts(struct helperd *d, const struct api_request *req, struct api_response *resp);

void handle_session(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_audit(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_audit_summary(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_sessions_list(struct helperd *d, const struct api_request *req, struct api_response *resp);
void sessions_stop_idle(struct helperd *d);

void handle_system(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_metrics(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_operations(struct helperd *d, const struct api_request *req, struct api_response *resp);
void handle_operation(struct helperd *d, const struct api_request *req, struct api_response *resp);

#endif
