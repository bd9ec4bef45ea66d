/* SPDX-License-Identifier: Apache-2.0 */
/* Every endpoint of helperd's API: method, path, who may call it, handler.
 * This table is the place to start reading how a request is served. */
#include "api.h"
#include "service_handlers.h"

const struct api_route api_routes[] = {
	{ "GET", "/v1/system", API_ROLE_USER, handle_system },
	{ "GET", "/v1/metrics", API_ROLE_USER, handle_metrics },
	{ "GET", "/v1/containers", API_ROLE_USER, handle_list },
	{ "POST", "/v1/containers", API_ROLE_ADMIN, handle_create },
	{ "GET", "/v1/containers/{}", API_ROLE_USER, handle_get },
	{ "PATCH", "/v1/containers/{}", API_ROLE_ADMIN, handle_resize },
	{ "DELETE", "/v1/containers/{}", API_ROLE_ADMIN, handle_delete },
	{ "POST", "/v1/containers/{}/start", API_ROLE_ADMIN, handle_start },
	{ "POST", "/v1/containers/{}/stop", API_ROLE_ADMIN, handle_stop },
	{ "GET", "/v1/containers/{}/keys", API_ROLE_USER, handle_keys_list },
	{ "POST", "/v1/containers/{}/keys", API_ROLE_ADMIN, handle_keys_add },
	{ "DELETE", "/v1/containers/{}/keys", API_ROLE_ADMIN, handle_keys_remove },
	{ "PUT", "/v1/containers/{}/keys", API_ROLE_ADMIN, handle_keys_replace },
	{ "GET", "/v1/containers/{}/ssh-config", API_ROLE_USER, handle_ssh_config },
	{ "GET", "/v1/containers/{}/snapshots", API_ROLE_USER, handle_snapshots_list },
	{ "POST", "/v1/containers/{}/snapshots", API_ROLE_ADMIN, handle_snapshot_create },
	{ "DELETE", "/v1/containers/{}/snapshots/{}", API_ROLE_ADMIN, handle_snapshot_delete },
	{ "POST", "/v1/containers/{}/snapshots/{}/restore", API_ROLE_ADMIN, handle_snapshot_restore },
	{ "POST", "/v1/backups/restore", API_ROLE_ADMIN, handle_backup_restore },
	{ "GET", "/v1/containers/{}/known-hosts", API_ROLE_USER, handle_known_hosts },
	{ "POST", "/v1/sessions", API_ROLE_ROOT, handle_session },
	{ "GET", "/v1/sessions", API_ROLE_ADMIN, handle_sessions_list },
	{ "GET", "/v1/audit", API_ROLE_ADMIN, handle_audit },
	{ "GET", "/v1/audit/summary", API_ROLE_ADMIN, handle_audit_summary },
	{ "GET", "/v1/operations", API_ROLE_USER, handle_operations },
	{ "GET", "/v1/operations/{}", API_ROLE_USER, handle_operation },
	{ NULL, NULL, 0, NULL },
};
